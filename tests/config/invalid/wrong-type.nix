{ microvm.vms.web.autostart = "yes"; }
