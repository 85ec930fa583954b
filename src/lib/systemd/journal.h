/*
 * The journal of a VM's systemd unit, read with sd-journal: what `microvm
 * logs` prints for a VM run as microvm@NAME.service. libsystemd is loaded
 * when a journal is first opened (dlopen), not linked: linked, it would map
 * seven more shared libraries (libgcrypt, liblzma, libzstd, ...) into every
 * monitor, and only this command reads a journal.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct mv_error;
struct unit_journal;

/*
 * Open the local journal with only the entries of `unit` (its
 * _SYSTEMD_UNIT: whatever its processes logged, the VM's console
 * included). -EOPNOTSUPP, with an error that says why, where libsystemd
 * cannot be used: built without it, or no libsystemd.so.0 here
 * (MICROVM_TEST_NO_LIBSYSTEMD=1 pretends the latter, for tests). With
 * `follow` the change notification is set up at once, so that nothing
 * written after the open is missed.
 */
int unit_journal_open(const char *unit, bool follow, struct unit_journal **out,
                      struct mv_error **err);

/*
 * Position the journal so that printing starts with the unit's first
 * entry (`lines` < 0), or with its last `lines` entries (0: only what
 * comes later). 1 when the journal has entries of the unit, 0 when it has
 * none.
 */
int unit_journal_seek(struct unit_journal *j, long lines, struct mv_error **err);

/* Write the MESSAGE of each entry from the position on to `fd`, one line each; how many. */
int unit_journal_print(struct unit_journal *j, int fd, struct mv_error **err);

/* Wait until the journal has changed (0) or `stop_fd` is readable (1). */
int unit_journal_wait(struct unit_journal *j, int stop_fd, struct mv_error **err);

/* Whether any journal file could be opened at all: none means no journal, or no permission. */
bool unit_journal_has_files(struct unit_journal *j);

void unit_journal_close(struct unit_journal *j);

/* The value of field `name` in journal data "NAME=VALUE" of `len` bytes, or NULL. */
const char *journal_field_value(const void *data, size_t len, const char *name, size_t *value_len);
