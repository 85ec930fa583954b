{ lib, ... }: { options.foo = 1; }
