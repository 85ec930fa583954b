{ microvm.vms.web = { config = { }; flake = /srv/infra; }; }
