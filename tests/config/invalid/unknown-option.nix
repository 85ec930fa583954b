{ microvm.vms.web.autostrat = true; }
