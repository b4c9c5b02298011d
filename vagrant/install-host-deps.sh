#!/bin/bash
# Host packages for the Vagrant lab (vagrant/lab-up.sh, tests/integration/test_vagrant.py)
# on Debian 12, root.  Idempotent; never starts a host service (libvirtd is started
# by lab-up.sh inside the lab's netns, with private state).
#   vagrant vagrant-libvirt           Vagrant and its libvirt provider (Debian's own)
#   libvirt-daemon-system, -driver-qemu, libvirt-clients, dnsmasq-base, iptables
#                                     libvirtd, virsh, the network driver's DHCP and firewall
#   qemu-system-x86 qemu-utils        the VMs (KVM or software emulation), qemu-img
#   e2fsprogs                         debugfs (build-box.sh edits the image without mounting it)
#   debootstrap                       the VM lab image the box is made from (tests/lab/vmlab-build.sh)
#   glusterfs-client openssh-client socat   FUSE mount, ssh to the nodes (ssh_config's ProxyCommand)
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
PKGS=(vagrant vagrant-libvirt libvirt-daemon-system libvirt-daemon-driver-qemu libvirt-clients
      dnsmasq-base iptables qemu-system-x86 qemu-utils e2fsprogs debootstrap
      glusterfs-client openssh-client socat iproute2 util-linux)
missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "vagrant install-host-deps: all present"
    exit 0
fi
echo "vagrant install-host-deps: installing ${missing[*]}"
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "vagrant install-host-deps: done"
