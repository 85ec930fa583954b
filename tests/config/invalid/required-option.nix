{ microvm.vms.a.config.microvm.shares = [ { tag = "t"; source = "/srv"; } ]; }
