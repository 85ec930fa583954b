#include "config/ifname.h"

#include <ctype.h>
#include <string.h>

#include "util/sha256.h"

#define IFNAME_PREFIX 8 /* bytes of the id kept: 8 + '-' + 6 hex digits = 15 */
#define IFNAME_HASH   6

static bool name_chars_valid(const char *name, size_t max)
{
        size_t n = strlen(name);
        if (n == 0 || n > max || name[0] == '-' || name[0] == '.')
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char)name[i]) && !strchr("-_.", name[i]))
                        return false;
        return true;
}

bool interface_name_valid(const char *name)
{
        return name_chars_valid(name, IFNAME_MAX);
}

bool interface_id_valid(const char *id)
{
        return name_chars_valid(id, IFNAME_ID_MAX);
}

bool interface_id_is_altname(const char *id)
{
        return strlen(id) > IFNAME_MAX;
}

const char *interface_kernel_name(const char *id, ifname_buf buf)
{
        if (!interface_id_is_altname(id))
                return id;
        char hex[65];
        sha256_hex(id, strlen(id), hex);
        memcpy(buf, id, IFNAME_PREFIX);
        buf[IFNAME_PREFIX] = '-';
        memcpy(buf + IFNAME_PREFIX + 1, hex, IFNAME_HASH);
        buf[IFNAME_MAX] = '\0';
        return buf;
}
