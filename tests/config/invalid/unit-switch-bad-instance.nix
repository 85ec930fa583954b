# A helper unit's instance is %i or a VM name.
{
  systemd.services."microvm-virtiofsd@../etc.service".enable = false;
}
