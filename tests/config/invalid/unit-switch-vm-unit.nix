# The VM's own unit has no switch: autostart says whether it starts at boot.
{
  systemd.services."microvm@web.service".enable = false;
}
