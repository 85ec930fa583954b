{ imports = [ ./does-not-exist.nix ]; }
