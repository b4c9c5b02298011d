# shellcheck shell=bash
# Settings and helpers of the pyketi VM lab (sourced by the vmlab-* scripts).
# Every setting can be overridden with the environment variable of the same name.

: "${PYKETI_LAB_CACHE:=/var/cache/pyketi-lab}"   # image build cache (kept between runs)
: "${PYKETI_LAB_DIR:=/var/lib/pyketi-lab}"       # a running lab: node disks, pids, keys
: "${PYKETI_LAB_NETNS:=pyketilab}"               # the lab's network namespace
: "${PYKETI_LAB_NET:=10.88.0}"                   # /24; bridge .1, node i = .(10+i)
: "${PYKETI_LAB_BRIDGE:=plbr0}"
: "${PYKETI_LAB_TAP:=pltap}"
: "${PYKETI_LAB_MEM:=1024}"                      # MiB per VM
: "${PYKETI_LAB_CPUS:=1}"
: "${PYKETI_LAB_DISKS:=2}"                       # brick disks per VM: vdb, vdc, ...
: "${PYKETI_LAB_DISK_SIZE:=10G}"
: "${PYKETI_LAB_DISK_SIZES:=}"                   # per-disk overrides: "3:2=1G 1:1=20G" (node:disk=size)
: "${PYKETI_LAB_ACCEL:=tcg}"                     # tcg | kvm (kvm only with real vmx/svm)
: "${PYKETI_LAB_CPU_MODEL:=qemu64}"              # ~20% faster than -cpu max under TCG
: "${PYKETI_LAB_TB_SIZE:=256}"                   # MiB TCG translation cache
: "${PYKETI_LAB_BOOT_TIMEOUT:=600}"              # s, until ssh + glusterd answer on all nodes
: "${PYKETI_LAB_SHUTDOWN_GRACE:=60}"             # s, clean poweroff before harder stops
: "${PYKETI_LAB_MIRROR:=http://deb.debian.org/debian}"
: "${PYKETI_LAB_SUITE:=bookworm}"
: "${PYKETI_LAB_MAX_NODES:=6}"

# shellcheck disable=SC2034  # used by the scripts that source this file
LAB_BASE="$PYKETI_LAB_CACHE/base"
LAB_KEY="$PYKETI_LAB_CACHE/ssh/id_ed25519"       # client key (root and heketi users)
LAB_NET_CIDR="$PYKETI_LAB_NET.0/24"
LAB_QEMU_NAME_PREFIX="pyketilab-node"

lab_log() { printf '%s vmlab: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
lab_die() { lab_log "ERROR: $*"; exit 1; }
lab_need_root() { [ "$(id -u)" = 0 ] || lab_die "must run as root"; }
lab_ip() { echo "$PYKETI_LAB_NET.$((10 + $1))"; }
lab_nsexec() { ip netns exec "$PYKETI_LAB_NETNS" "$@"; }

# The PID in FILE, only if that process is still the one we started: its
# cmdline must contain PATTERN (a reused or zombie PID has another/empty one).
lab_verified_pid() {
    local file=$1 pattern=$2 pid
    [ -s "$file" ] || return 1
    pid=$(tr -dc 0-9 < "$file")
    [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
    tr '\0' ' ' < "/proc/$pid/cmdline" | grep -qF -- "$pattern" || return 1
    echo "$pid"
}
lab_qemu_pid() { lab_verified_pid "$PYKETI_LAB_DIR/nodes/node$1/qemu.pid" "-name $LAB_QEMU_NAME_PREFIX$1 "; }

lab_ssh_opts() {
    echo -i "$LAB_KEY" -o UserKnownHostsFile="$PYKETI_LAB_DIR/known_hosts" \
        -o StrictHostKeyChecking=yes -o GlobalKnownHostsFile=/dev/null \
        -o BatchMode=yes -o ConnectTimeout=5 -o LogLevel=ERROR
}
# lab_ssh I CMD...  (runs inside the netns; host keys verified)
lab_ssh() {
    local i=$1; shift
    # shellcheck disable=SC2046
    lab_nsexec ssh $(lab_ssh_opts) "root@$(lab_ip "$i")" "$@"
}
lab_nodes_running() { [ -s "$PYKETI_LAB_DIR/run/nodes" ] && cat "$PYKETI_LAB_DIR/run/nodes"; }

# Lab addresses must never leave the machine: in the root namespace the lab
# range is unreachable (the lab network exists only inside its netns).
lab_guard_route() {
    ip route replace unreachable "$LAB_NET_CIDR" metric 1 2>/dev/null \
        || lab_die "cannot install the unreachable route for $LAB_NET_CIDR"
}
