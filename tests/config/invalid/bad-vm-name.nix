{ microvm.vms."web;reboot" = { }; }
