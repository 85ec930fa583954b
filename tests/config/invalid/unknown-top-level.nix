{ networking.firewall.enable = false; }
