{ microvm.autostart = builtins.attrNames { }; }
