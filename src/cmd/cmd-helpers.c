/*
 * tap-up, tap-down, macvtap-up, macvtap-down, pci-setup, pci-release and
 * virtiofsd: one part of a VM's start each, as its systemd helper units
 * run them (systemd/microvm-*@.service.in); usable by hand too.
 */
#include <string.h>

#include "cmd/cli-options.h"
#include "cmd/commands.h"
#include "monitor/vm-helpers.h"
#include "util/error.h"

static int helper_command(const struct cli_context *ctx, int argc, char **argv, int h, bool up,
                          struct mv_error **err)
{
        if (argc != 2)
                return mv_error_usage(err, "%s takes one VM name", argv[0]);
        struct host_settings hs;
        int r = cli_vm_host_settings(ctx, argv[0], argv + 1, &hs, err);
        if (r < 0)
                return r;
        if (h == HELPER_VIRTIOFSD)
                r = vm_helper_virtiofsd(&hs, argv[1], err);
        else if (up)
                r = vm_helper_up(&hs, argv[1], (enum vm_helper)h, err);
        else
                r = vm_helper_down(&hs, argv[1], (enum vm_helper)h, err);
        host_settings_done(&hs);
        return r;
}

int cmd_tap_up(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err)
{
        return helper_command(ctx, argc, argv, HELPER_TAPS, true, err);
}

int cmd_tap_down(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err)
{
        return helper_command(ctx, argc, argv, HELPER_TAPS, false, err);
}

int cmd_macvtap_up(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err)
{
        return helper_command(ctx, argc, argv, HELPER_MACVTAPS, true, err);
}

int cmd_macvtap_down(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err)
{
        return helper_command(ctx, argc, argv, HELPER_MACVTAPS, false, err);
}

int cmd_pci_setup(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err)
{
        return helper_command(ctx, argc, argv, HELPER_PCI, true, err);
}

int cmd_pci_release(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err)
{
        return helper_command(ctx, argc, argv, HELPER_PCI, false, err);
}

int cmd_virtiofsd(const struct cli_context *ctx, int argc, char **argv, struct mv_error **err)
{
        return helper_command(ctx, argc, argv, HELPER_VIRTIOFSD, true, err);
}
