# Thin wrapper over meson for the common tasks. Every target installs what
# it needs first (scripts/install-deps.sh does nothing when all is present).

PREFIX ?= /usr/local
DESTDIR ?=
RELEASE := build/release
ASAN := build/asan
FUZZ := build/fuzz
FUZZ_SECONDS ?= 300
MESON_SETUP = meson setup --prefix=$(PREFIX)

.PHONY: all deps build build-asan build-fuzz check check-unit demo fuzz install format clean help

all: build

help:
	@echo "make demo      install dependencies, build, run examples/host.nix: apply, console, stop"
	@echo "make check     install dependencies, build (plain and sanitized), run every test"
	@echo "make build     build into $(RELEASE)"
	@echo "make install   install under PREFIX (default /usr/local; DESTDIR honoured)"
	@echo "make fuzz      run each fuzz harness for FUZZ_SECONDS (default 300)"
	@echo "make format    apply clang-format to src/ and tests/"
	@echo "make clean     remove build/ except the cached test guest and nspawn rootfs"

deps:
	@scripts/install-deps.sh

$(RELEASE)/build.ninja:
	$(MESON_SETUP) $(RELEASE)

$(ASAN)/build.ninja:
	$(MESON_SETUP) -Db_sanitize=address,undefined -Db_lundef=false $(ASAN)

$(FUZZ)/build.ninja:
	CC=clang $(MESON_SETUP) -Dfuzzing=true -Dtests=false -Db_sanitize=address,undefined \
		-Db_lundef=false $(FUZZ)

build: deps $(RELEASE)/build.ninja
	ninja -C $(RELEASE)

build-asan: deps $(ASAN)/build.ninja
	ninja -C $(ASAN)

build-fuzz: deps $(FUZZ)/build.ninja
	ninja -C $(FUZZ)

# Unit and lint tests of both builds, a short fuzzing run, and the
# end-to-end tests against the sanitized binary, so memory errors anywhere
# in a real run fail the suite.
check: build build-asan build-fuzz
	tests/run-tests.py --build $(RELEASE) --build $(ASAN) --fuzz $(FUZZ) --fuzz-seconds 20 \
		--e2e-binary $(ASAN)/src/microvm

fuzz: build-fuzz
	tests/fuzz/run-fuzz.sh $(FUZZ) $(FUZZ_SECONDS)

check-unit: build build-asan
	tests/run-tests.py --build $(RELEASE) --build $(ASAN)

demo: build
	scripts/demo.sh

install: build
	meson configure $(RELEASE) --prefix=$(PREFIX)
	DESTDIR=$(DESTDIR) meson install -C $(RELEASE)

format:
	clang-format -i $$(find src tests -name '*.[ch]' -not -path 'tests/lint/fixtures/*')

clean:
	rm -rf $(RELEASE) $(ASAN) $(FUZZ) build/dev build/e2e-junit.xml build/e2e-microvm-junit.xml build/fuzz-* build/demo-state
