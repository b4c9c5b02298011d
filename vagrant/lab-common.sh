# shellcheck shell=bash
# Settings and helpers of the Vagrant lab (vagrant/lab-*.sh, build-box.sh).
# Every setting can be overridden with the environment variable of the same name.
# The box is made from the VM lab's image (tests/lab/vmlab-build.sh, same
# PYKETI_LAB_CACHE), so tests/lab/lab-common.sh is sourced first.
VAGRANT_HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/lab/lab-common.sh
. "$VAGRANT_HERE/../tests/lab/lab-common.sh"

: "${PYKETI_VAGRANT_DIR:=/var/lib/pyketi-vagrant}"   # libvirt state, VAGRANT_HOME, keys, box
: "${PYKETI_VAGRANT_NETNS:=pyketivagrant}"          # libvirtd, qemu, vagrant and pyketi run here
: "${PYKETI_VAGRANT_NET:=10.90.0}"                  # /24: bridge .1, node i = .(10+i) (DHCP by MAC)
: "${PYKETI_VAGRANT_BRIDGE:=pvbr0}"
: "${PYKETI_VAGRANT_NETWORK:=pyketi-vagrant}"       # libvirt network name (the management network)
: "${PYKETI_VAGRANT_NODES:=3}"
: "${PYKETI_VAGRANT_BOX:=pyketi-lab}"               # box name (built by build-box.sh)
: "${PYKETI_VAGRANT_DRIVER:=}"                      # kvm | qemu (default: kvm with vmx/svm, else qemu)
: "${PYKETI_VAGRANT_BOOT_TIMEOUT:=1800}"            # s, vagrant's boot_timeout (TCG is slow)
: "${PYKETI_VAGRANT_PRIVATE_NETWORK:=0}"             # 1: the Vagrantfile's default networking (what a
                                                   # KVM user gets: vagrant-libvirt's NAT management
                                                   # network + a private_network), still in the netns

# shellcheck disable=SC2034  # used by the scripts that source this file
PV_BOX_DIR="$PYKETI_VAGRANT_DIR/box"
PV_LIBVIRT="$PYKETI_VAGRANT_DIR/libvirt"             # bind-mounted over /etc/libvirt, /run/libvirt, ...
PV_SOCK="$PV_LIBVIRT/run/libvirt-sock"
PV_URI="qemu:///system?socket=$PV_SOCK"
PV_KEY="$PYKETI_VAGRANT_DIR/ssh/id_ed25519"          # pyketi's sshexec key (root + heketi on the nodes)
PV_NET_CIDR="$PYKETI_VAGRANT_NET.0/24"

pv_log() { printf '%s vagrant-lab: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
pv_die() { pv_log "ERROR: $*"; exit 1; }
pv_ip() { echo "$PYKETI_VAGRANT_NET.$((10 + $1))"; }
# The management MAC of node I: 52:54:00 + the three last octets of its address
# (the Vagrantfile computes the same; libvirt's DHCP hands out the address by MAC).
pv_mac() {
    local a b c d
    IFS=. read -r a b c d <<< "$(pv_ip "$1")"
    : "$a"
    printf '52:54:00:%02x:%02x:%02x\n' "$b" "$c" "$d"
}
pv_libvirtd_pid() { lab_verified_pid "$PYKETI_VAGRANT_DIR/run/libvirtd.pid" "libvirtd"; }
pv_virsh() { virsh -q -c "$PV_URI" "$@"; }

pv_mgmt_network() { [ "$PYKETI_VAGRANT_PRIVATE_NETWORK" = 1 ] || echo "$PYKETI_VAGRANT_NETWORK"; }
# vagrant with the lab's settings, inside the netns (it sshes to the nodes).
pv_vagrant() {
    ip netns exec "$PYKETI_VAGRANT_NETNS" env \
        VAGRANT_HOME="$PYKETI_VAGRANT_DIR/vagrant.d" \
        VAGRANT_DOTFILE_PATH="$PYKETI_VAGRANT_DIR/dotvagrant" \
        VAGRANT_DEFAULT_PROVIDER=libvirt \
        VAGRANT_CHECKPOINT_DISABLE=1 \
        LIBVIRT_DEFAULT_URI="$PV_URI" \
        PYKETI_NODES="$PYKETI_VAGRANT_NODES" PYKETI_NET="$PYKETI_VAGRANT_NET" \
        PYKETI_MGMT_NETWORK="$(pv_mgmt_network)" PYKETI_BOX="$PYKETI_VAGRANT_BOX" \
        PYKETI_LIBVIRT_DRIVER="$PYKETI_VAGRANT_DRIVER" PYKETI_KEY="$PV_KEY" \
        PYKETI_BOOT_TIMEOUT="$PYKETI_VAGRANT_BOOT_TIMEOUT" \
        PYKETI_CONSOLE_DIR="$PYKETI_VAGRANT_DIR/console" \
        bash -c 'cd "$1" && shift && exec vagrant "$@"' _ "$VAGRANT_HERE" "$@"
}

pv_guard_route() {
    ip route replace unreachable "$PV_NET_CIDR" metric 1 2>/dev/null \
        || pv_die "cannot install the unreachable route for $PV_NET_CIDR"
}
