/*
 * The parts of a VM's start that microvm.nix gives units of their own
 * (microvm-tap-interfaces@, -macvtap-interfaces@, -pci-devices@,
 * -virtiofsd@), and the host.nix switches that turn each off, for every VM
 * (`systemd.services."microvm-tap-interfaces@%i.service".enable = false`,
 * the seed's) or for one (`"microvm-virtiofsd@web".enable = false`). A part
 * turned off is nobody's to do: what it makes must be there already.
 */
#pragma once

#include <stdbool.h>

struct value;
struct mv_error;

enum vm_helper {
        HELPER_TAPS,
        HELPER_MACVTAPS,
        HELPER_PCI,
        HELPER_VIRTIOFSD,
        N_HELPERS,
};

#define HELPER_BIT(h)    (1u << (h))
#define HELPERS_ALL      ((1u << N_HELPERS) - 1)
#define HELPER_UNITS_ENV "MICROVM_HELPER_UNITS" /* which parts units do, for run --under-systemd */

/* "microvm-tap-interfaces", ...: the template's name without "@.service". */
extern const char *const helper_unit_prefix[N_HELPERS];

/* The word for a part in HELPER_UNITS_ENV and messages: "taps", "macvtaps", "pci", "virtiofsd". */
extern const char *const helper_word[N_HELPERS];

/* The units host.nix's systemd.services switches off, as written (strv). */
char **helpers_switched_off(const struct value *host);

/* The parts of VM `name` that those switches turn off. */
unsigned helpers_disabled(char *const *switched_off, const char *name);

/* Check the keys of systemd.services: only the four switches, for %i or a VM name. */
int helpers_check_switches(const struct value *host, struct mv_error **err);

/* A mask from a list of words ("taps macvtaps"); unknown words are ignored. */
unsigned helpers_from_words(const char *words);
