# Evaluate microvm.nix's GUEST option declarations (options under `microvm.*`)
# with nixpkgs' lib.evalModules, fully offline, and emit a JSON-able list.
#
# Usage (see README.txt):
#   nix-instantiate --eval --strict --json /tmp/optdocs/eval.nix -A report \
#     --argstr microvmRev "$(git -C /work/.mirror/microvm-nix+microvm.nix/repo rev-parse HEAD)" \
#     > guest-options.raw.json
#   (Nix 2.8 only auto-calls this function when at least one --arg/--argstr is given.)
#
# Inputs are plain directory trees extracted with `git archive` from the bare mirrors.
{ microvmRev ? null # pass `--argstr microvmRev $(git -C <mirror> rev-parse HEAD)`
, microvmSrc ? ./src-microvm
, nixpkgsLib ? ./src-nixpkgs-lib/lib
  # Only for the informational `valueInEmptyConfig` field:
, system ? "x86_64-linux"
, kernelVersion ? "6.12.0"
  # Used by runner-examples.nix only:
, extraModules ? [ ]       # e.g. a sample guest config
, hostName ? null          # if non-null, declare networking.hostName with this value
, inlineText ? false       # mock writeText & co. put the file text into outPath
, pkgVersions ? { }        # name -> version for the package mocks
}:
let
  lib = import nixpkgsLib;

  # Modules of nixos-modules/microvm/ that DECLARE options (all of them are
  # imported by nixos-modules/microvm/default.nix). options.nix is the only one
  # used by upstream's pkgs/doc.nix; the others declare a few more microvm.* options.
  declaringModules = map (f: microvmSrc + "/nixos-modules/microvm/${f}") [
    "options.nix"
    "boot-disk.nix"
    "store-disk.nix"
    "ssh-deploy.nix"
    "vsock-ssh.nix"
  ];

  # ---------------------------------------------------------------- mocks
  # Nix has no "attribute-missing" hook, so a truly open-ended recursive mock is
  # impossible for plain attrsets. Instead every package name that microvm.nix's
  # guest modules/runners reference (grep -o 'pkgs\.[A-Za-z0-9_-]*') is mocked.
  storePath = name: "/nix/store/00000000000000000000000000000000-${name}";
  mkPkg = name: let self = {
    type = "derivation";
    inherit name;
    pname = name;
    version = pkgVersions.${name} or "0-mock";
    outPath = storePath name;
    drvPath = storePath "${name}.drv";
    out = self;
    dev = mkPkg "${name}-dev";
    meta = { mainProgram = name; };
    passthru = { };
    # nixpkgs' qemu has "--enable-seccomp" on Linux (seccompSupport ? stdenv.hostPlatform.isLinux)
    configureFlags = lib.optional (lib.hasPrefix "qemu" name && lib.hasSuffix "-linux" system) "--enable-seccomp";
    overrideAttrs = _: self;
    override = _: self;
    fd = mkPkg "${name}-fd";
  }; in self;
  # A text file: with inlineText its "store path" carries the content, so the
  # content of generated config files/scripts is visible in command strings.
  mkText = name: text: mkPkg name // lib.optionalAttrs inlineText {
    outPath = "<<FILE ${storePath name}\n${text}\nEOF>>";
  };
  pkgNames = [
    "alioth" "bubblewrap" "cloud-hypervisor" "cloud-hypervisor-graphics"
    "coreutils" "coreutils-full" "crosvm" "curl" "erofs-utils" "expect"
    "firecracker" "iproute2" "jq" "kmod" "kvmtool" "libguestfs"
    "libguestfs-appliance" "netcat" "OVMF" "parted" "qemu" "qemu_kvm"
    "socat" "squashfs-tools-ng" "stratovirt" "time" "util-linux" "vfkit"
    "virtiofsd" "linux" "python3" "systemd" "gnused" "gawk" "libusb1"
    "e2fsprogs" "xfsprogs" "btrfs-progs" "dosfstools"
  ];
  platform = {
    inherit system;
    isLinux = lib.hasSuffix "-linux" system;
    isDarwin = lib.hasSuffix "-darwin" system;
    isAarch64 = lib.hasPrefix "aarch64-" system;
    isx86_64 = lib.hasPrefix "x86_64-" system;
    linux-kernel.target = if lib.hasPrefix "aarch64-" system then "Image" else "bzImage";
  };
  mockPkgs = lib.genAttrs pkgNames mkPkg // {
    inherit lib system;
    _type = "pkgs"; # accepted by types.pkgs
    overlays = [ ];
    stdenv = { hostPlatform = platform; targetPlatform = platform; buildPlatform = platform; };
    buildPackages = mockPkgs;
    python3Packages.supervisor = mkPkg "supervisor";
    writers = { writePython3 = n: _: src: mkText n (toString src); writeJSON = n: v: mkText n (builtins.toJSON v); };
    formats.json = _: { type = lib.types.anything; generate = n: _: mkPkg n; };
    writeText = n: t: mkText n t;
    writeShellScript = n: t: mkText n t;
    writeShellScriptBin = n: _: mkPkg n;
    runCommandLocal = n: _: _: mkPkg n;
    # runCommand keeps its build script (used to show what lib/runner.nix writes)
    runCommand = n: attrs: script: mkPkg n // (attrs.passthru or { }) // {
      passthru = attrs.passthru or { }; meta = attrs.meta or { }; buildScript = script; inherit attrs; };
    replaceVars = p: vars: "${toString p} with @vars@ = ${builtins.toJSON vars}";
    closureInfo = _: mkPkg "closure-info";
    writeClosure = _: mkPkg "closure";
    writeReferencesToFile = _: mkPkg "closure";
  };

  # Stub NixOS options that microvm.* defaults / mkDefault definitions read.
  # Only used for `valueInEmptyConfig`; the documented defaults come from the
  # option declarations (default / defaultText) themselves.
  # NOTE: networking.hostName is deliberately NOT declared, so
  # `config.networking.hostName or "$HOSTNAME"` (options.nix:8) yields the
  # literal "$HOSTNAME", exactly as in upstream's doc build (pkgs/doc.nix).
  stubs = { lib, ... }: {
    options = {
      boot.kernelPackages = lib.mkOption { type = lib.types.raw; default = { kernel = mkPkg "linux" // { version = kernelVersion; }; }; };
      system.build = lib.mkOption { type = lib.types.raw; default = { initialRamdisk = mkPkg "initrd"; toplevel = mkPkg "nixos-system"; }; };
      system.boot.loader = lib.mkOption { type = lib.types.raw; default = { initrdFile = "initrd"; kernelFile = "bzImage"; }; };
      security.virtualisation.flushL1DataCache = lib.mkOption { type = lib.types.raw; default = null; };
      nix.enable = lib.mkOption { type = lib.types.bool; default = true; };
    };
    config._module.check = false;
    config._module.args.pkgs = mockPkgs;
  };
  hostNameStub = { lib, ... }: lib.optionalAttrs (hostName != null) {
    options.networking.hostName = lib.mkOption { type = lib.types.str; default = hostName; };
  };

  eval = lib.evalModules { modules = declaringModules ++ [ stubs hostNameStub ] ++ extraModules; };

  # ---------------------------------------------------------------- computed defaults
  # Hand-written from reading the sources (line numbers refer to the microvm.nix
  # commit in README.txt). `hostName` in options.nix is
  #   hostName = config.networking.hostName or "$HOSTNAME";   (options.nix:8)
  computed = { }; # notes on computed defaults are kept outside the project

  # ---------------------------------------------------------------- rendering
  srcPrefix = toString microvmSrc + "/";
  relDecl = d: lib.removePrefix srcPrefix (toString d);

  try = x: let r = builtins.tryEval (builtins.deepSeq x x); in
    if r.success then r.value else "<not renderable>";

  renderVal = v: {
    kind = v._type or "literalExpression";
    text = v.text;
  };

  # Like nixosOptionsDoc: drop internal / invisible options (this removes the
  # `_module.*` pseudo-options of every submodule).
  allDocs = lib.optionAttrSetToDocList eval.options;
  docList = builtins.filter (o: lib.hasPrefix "microvm." o.name && o.visible && !o.internal) allDocs;
  hiddenNames = map (o: o.name)
    (builtins.filter (o: lib.hasPrefix "microvm." o.name && !(o.visible && !o.internal)) allDocs);

  # Walk the option tree manually to get the raw option record (for
  # `defaultText` presence and the current value).
  dropWild = l: if l != [ ] && (builtins.head l == "*" || builtins.head l == "<name>")
    then dropWild (builtins.tail l) else l;
  # Descends into submodule types via type.getSubOptions.
  getOpt = loc:
    let
      go = set: rest:
        if rest == [ ] then set
        else if lib.isOption set then
          go (set.type.getSubOptions [ ]) (dropWild rest)
        else if set ? ${builtins.head rest} then go set.${builtins.head rest} (builtins.tail rest)
        else null;
    in go eval.options loc;

  isWildcard = loc: builtins.any (p: p == "*" || p == "<name>") loc;

  # Options whose values are packages/derivations of the generated system:
  # never force those.
  skipValue = o: isWildcard o.loc
    || lib.hasInfix "package" o.type
    || builtins.elem o.name [ "microvm.runner" "microvm.declaredRunner" "microvm.bootDisk"
                               "microvm.storeDisk" "microvm.vmHostPackages" "microvm.kernel"
                               "microvm.initrdPath" "microvm.kernelParams" ];

  entry = o:
    let
      raw = getOpt o.loc;
      hasDefaultText = raw != null && raw ? defaultText;
      valueResult =
        if skipValue o || raw == null then null
        else let r = builtins.tryEval (builtins.deepSeq raw.value raw.value); in
          if r.success
          then (let t = builtins.tryEval (lib.generators.toPretty { multiline = false; } r.value); in
                if t.success then t.value else "<not renderable>")
          else "<not renderable>";
    in {
      inherit (o) name loc readOnly internal visible;
      type = try o.type;
      description = try o.description;
      declarations = map relDecl o.declarations;
      default = if o ? default then try (renderVal o.default) else null;
      # "default"     : rendered from the declared `default` value
      # "defaultText" : rendered from the declared `defaultText` (literalExpression)
      # "emptyValue"  : NO declared default; lib.optionAttrSetToDocList renders the
      #                 type's emptyValue (null / [ ] / { }), which is also what this
      #                 nixpkgs lib (modules.nix, commit "lib.modules: default to
      #                 `emptyValue`") returns when the option has no definition.
      # "none"        : no default at all; must be defined (or is defined by another module)
      defaultFrom = if !(o ? default) then "none"
        else if hasDefaultText then "defaultText"
        else if raw != null && raw ? default then "default"
        else "emptyValue";
      computedDefault = computed.${o.name} or null;
      example = if o ? example then try (renderVal o.example) else null;
    } // lib.optionalAttrs (!skipValue o) {
      valueInEmptyConfig = valueResult;
    };

in
{
  # for runner-examples.nix
  inherit lib eval mockPkgs mkPkg microvmSrc;

  # the JSON report: nix-instantiate --eval --strict --json eval.nix -A report ...
  report = {
    inherit microvmRev;
    nixpkgsLibVersion = lib.version;
    hiddenOptions = hiddenNames;
    options = lib.sort (a: b: a.name < b.name) (map entry docList);
  };
}
