/*
 * Interface ids and the kernel's names for them. A kernel interface name
 * has at most 15 bytes (IFNAMSIZ - 1): hypervisors attach to a tap by that
 * name (TUNSETIFF). microvm.interfaces.*.id may have up to 127, the
 * kernel's limit for an alternative name (Linux 5.5+): a longer id is
 * given to the interface as an alternative name, and the interface itself
 * gets a short name derived from the id (docs/configuration.md).
 */
#pragma once

#include <stdbool.h>

#define IFNAME_MAX    15  /* IFNAMSIZ - 1 */
#define IFNAME_ID_MAX 127 /* ALTIFNAMSIZ - 1 */

/* Room for a kernel interface name and its NUL. */
typedef char ifname_buf[IFNAME_MAX + 1];

/* 1 to 15 bytes of letters, digits, '-', '_' and '.', not starting with '-' or '.'. */
bool interface_name_valid(const char *name);

/* An interface id: the same characters, 1 to 127 bytes. */
bool interface_id_valid(const char *id);

/* Whether `id` is too long for a kernel name, and so becomes an alternative name. */
bool interface_id_is_altname(const char *id);

/*
 * The kernel name of the interface with id `id`: the id itself when it
 * fits, else its first 8 bytes, '-' and the first 6 hex digits of the
 * SHA-256 of the whole id ("a-very-long-tap-id" -> "a-very-l-" + 6 hex).
 * Returns `id` or `buf`.
 */
const char *interface_kernel_name(const char *id, ifname_buf buf);
