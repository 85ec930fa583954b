# Only the helper units' switches mean something to microvm: another unit is refused.
{
  systemd.services."sshd.service".enable = false;
}
