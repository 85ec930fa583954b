# Evaluate microvm.nix's HOST option declarations (nixos-modules/host/options.nix,
# including the submodule options of microvm.vms.<name>) with lib.evalModules and
# mock pkgs, and emit, together with eval.nix's guest options, the compact option
# list that tests/unit/test-upstream-options.c compares with the compiled schema.
#
# Usage (see README.md):
#   nix-instantiate --eval --strict --json host-eval.nix -A compact \
#     --argstr microvmRev "$(git -C MICROVM_NIX rev-parse HEAD)" > options.raw.json
{ microvmRev ? null
, microvmSrc ? ./src-microvm
, nixpkgsLib ? ./src-nixpkgs-lib/lib
}:
let
  guest = import ./eval.nix { inherit microvmRev microvmSrc nixpkgsLib; };
  inherit (guest) lib mockPkgs;

  # The host module reads pkgs.path (the nixpkgs default) only through defaultText.
  stubs = {
    config._module.check = false;
    config._module.args.pkgs = mockPkgs // { path = /nix/store/00000000000000000000000000000000-nixpkgs; };
  };
  eval = lib.evalModules {
    modules = [ (microvmSrc + "/nixos-modules/host/options.nix") stubs ];
  };

  srcPrefix = toString microvmSrc + "/";
  docList = builtins.filter (o: lib.hasPrefix "microvm." o.name && o.visible && !o.internal)
    (lib.optionAttrSetToDocList eval.options);

  # name, type, default as Nix text (null: none), the declaring module
  compactEntry = o: {
    inherit (o) name type;
    default = if o ? default then o.default.text else null;
    module = lib.concatStringsSep " " (map (d: lib.removePrefix srcPrefix (toString d)) o.declarations);
  };
  guestEntries = map (o: {
    inherit (o) name type;
    default = if o.default == null then null else o.default.text;
    module = lib.concatStringsSep " " o.declarations;
  }) guest.report.options;
in
{
  inherit eval;
  compact = {
    inherit microvmRev;
    nixpkgsLibVersion = lib.version;
    options = lib.sort (a: b: a.name < b.name) (guestEntries ++ map compactEntry docList);
  };
}
