{ microvm.autostart = [ "a" ] ++ [ "b" ]; }
