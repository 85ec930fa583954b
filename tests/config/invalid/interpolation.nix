{ microvm.host.tapScript = "ip link set ${id} up"; }
