#include "cmd/commands.h"

#include <string.h>

const struct command commands[] = {
        { "apply", "[--no-start] [--jobs N] [--dry-run] [--prune-volumes]",
          "Install the declarative VMs, restart changed ones, remove those gone from host.nix, "
          "start the autostart set",
          cmd_apply },
        { "gc", "", "Remove runners that no VM uses", cmd_gc },
        { "create", "NAME [--flake FLAKE]",
          "Build a VM from a flake with Nix and install it (microvm -c)", cmd_create },
        { "update", "[--restart] NAME...",
          "Rebuild VMs from their recorded flake; --restart those that changed (microvm -u)",
          cmd_update },
        { "install", "NAME RUNNER [--flake FLAKE]",
          "Install a runner directory or Nix store path as a VM's current runner", cmd_install },
        { "start", "NAME...", "Start VMs in the background, each under its own monitor",
          cmd_start },
        { "autostart", "[--jobs N]", "Start the VMs of microvm.autostart that are not running",
          cmd_autostart },
        { "stop", "NAME... | --all", "Shut VMs down gracefully and wait", cmd_stop },
        { "restart", "NAME...", "Stop, then start VMs", cmd_restart },
        { "console", "NAME", "Attach to a background VM's serial console (Ctrl-] detaches)",
          cmd_console },
        { "logs", "[-f] [-n LINES] NAME",
          "Print a VM's console log, or its systemd unit's journal; -f follows, -n the last LINES",
          cmd_logs },
        { "status", "[--json] NAME", "Show a VM's state", cmd_status },
        { "ssh", "NAME [-- SSH_OPTIONS... | COMMAND...]",
          "A shell in a running VM over vsock, as root (microvm -s)", cmd_ssh },
        { "balloon", "NAME SIZE",
          "Set a running VM's memory balloon (microvm-balloon), SIZE in MiB", cmd_balloon },
        { "list", "[--json | --outdated]",
          "List the VMs and their state; --outdated also evaluates flake VMs", cmd_list },
        { "run", "[--stop-timeout S] NAME", "Run a VM in the foreground, console on the terminal",
          cmd_run },
        { "plan", "[--json] [NAME]",
          "Show what starting a VM would do, or without NAME what apply would do, without "
          "doing it",
          cmd_plan },
        { "check", "", "Validate the host configuration", cmd_check },
        { "generate-units", "DIR",
          "Write the systemd units of the host configuration into DIR, as microvm-generator does",
          cmd_generate_units },
        { "install-declared", "NAME",
          "Install one VM as host.nix declares it, nothing else (install-microvm-NAME)",
          cmd_install_declared },
        { "tap-up", "NAME", "Create a VM's taps, then tapScript (microvm-tap-interfaces@)",
          cmd_tap_up },
        { "tap-down", "NAME", "Remove the taps tap-up made", cmd_tap_down },
        { "macvtap-up", "NAME", "Create a VM's macvtaps (microvm-macvtap-interfaces@)",
          cmd_macvtap_up },
        { "macvtap-down", "NAME", "Remove the macvtaps macvtap-up made", cmd_macvtap_down },
        { "pci-setup", "NAME", "Bind a VM's PCI devices to vfio-pci (microvm-pci-devices@)",
          cmd_pci_setup },
        { "pci-release", "NAME", "Give back the PCI devices pci-setup bound", cmd_pci_release },
        { "virtiofsd", "NAME",
          "Run a VM's virtiofsd, one per share, until stopped "
          "(microvm-virtiofsd@)",
          cmd_virtiofsd },
        { "doctor", "[--json]", "Check that this host can run VMs, and say how to fix it",
          cmd_doctor },
        { "eval", "[--json] [OPTION]", "Print the evaluated configuration, defaults applied",
          cmd_eval },
        { "options", "[--json] [OPTION]", "Document the options of host.nix and whose they are",
          cmd_options },
        { "help", "[COMMAND]", "Show this help, or the help of one command", cmd_help },
        { "version", "", "Print the version", cmd_version },
        { NULL, NULL, NULL, NULL },
};

const struct command internal_commands[] = {
        { "monitor", "NAME --lock-fd=N --sync-fd=N --settings-fd=N",
          "A VM's monitor, as start runs it", cmd_monitor },
        { "vsock-proxy", "NAME PORT", "ssh's ProxyCommand for 'microvm ssh'", cmd_vsock_proxy },
        { NULL, NULL, NULL, NULL },
};

const struct command *command_find(const char *name)
{
        for (const struct command *c = commands; c->name; c++)
                if (strcmp(c->name, name) == 0)
                        return c;
        for (const struct command *c = internal_commands; c->name; c++)
                if (strcmp(c->name, name) == 0)
                        return c;
        return NULL;
}

/* What a summary line cannot say. */
static const struct {
        const char *name, *text;
} details[] = {
        { "balloon",
          "SIZE means what microvm.nix's bin/microvm-balloon SIZE_MB sends the hypervisor:\n"
          "  qemu              the memory the guest keeps (QMP balloon); prints what it has now\n"
          "  cloud-hypervisor  the balloon's size, the memory taken from the guest (vm.resize)\n"
          "  crosvm            the balloon's size; prints the balloon's actual size\n"
          "  kvmtool           how much to inflate the balloon by (lkvm balloon -i)\n"
          "Other hypervisors have no balloon control in microvm.nix. The VM needs\n"
          "microvm.balloon = true; a runner built by microvm.nix runs its own\n"
          "bin/microvm-balloon. The request is made as the VM's user, within 12 s." },
};

const char *command_details(const char *name)
{
        for (size_t i = 0; i < sizeof(details) / sizeof(details[0]); i++)
                if (strcmp(details[i].name, name) == 0)
                        return details[i].text;
        return NULL;
}
