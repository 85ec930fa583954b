{ microvm.host.tapScript = "ip link set \"$id\" mtu 9000"; }
