#!/bin/bash
# Install everything the pyketi real-node lab needs on a fresh Debian 12 host
# (root).  Idempotent: packages already present are skipped quickly.
#   ssh transport tests:  openssh-server openssh-client
#   VM lab:               qemu-system-x86 qemu-utils debootstrap socat iproute2 e2fsprogs
#   vagrant/ lint:        ruby (ruby -c)
#   shell lint:           shellcheck
#   pyketi-csi lab test:  glusterfs-client (mount.glusterfs on the host)
#   --vagrant (Vagrant lab, vagrant/lab-up.sh): also vagrant vagrant-libvirt, libvirtd
#                         (libvirt-daemon-system, -driver-qemu), virsh (libvirt-clients),
#                         dnsmasq-base + iptables (libvirt's network), util-linux (nsenter)
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

PKGS=(openssh-server openssh-client qemu-system-x86 qemu-utils debootstrap
      socat iproute2 e2fsprogs procps ruby shellcheck glusterfs-client)
case "${1:-}" in
    --ssh-only) PKGS=(openssh-server openssh-client) ;;
    --vagrant) PKGS+=(vagrant vagrant-libvirt libvirt-daemon-system libvirt-daemon-driver-qemu
                      libvirt-clients dnsmasq-base iptables util-linux) ;;
esac

missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-host-deps: all present"
    exit 0
fi
echo "install-host-deps: installing ${missing[*]}"
# Never start services on the host while installing (sshd, ...): the lab starts
# its own daemons and stops them by PID.
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-host-deps: done"
