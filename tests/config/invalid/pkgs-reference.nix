{ microvm.vms.web.config.microvm.kernel = pkgs.linux; }
