{ microvm.vms.a.config.microvm.interfaces = [ { type = "tap"; id = "vm-a"; mac = "02-00-00-00-00-01"; } ]; }
