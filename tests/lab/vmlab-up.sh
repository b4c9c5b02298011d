#!/bin/bash
# vmlab-up.sh [N] - boot N (default 3) Debian 12 storage-node VMs under QEMU.
#
# The VMs live on a bridge inside the network namespace $PYKETI_LAB_NETNS
# (10.88.0.1 = bridge, node i = 10.88.0.(10+i)); there is no route out of it,
# and the root namespace gets an "unreachable" route for the lab range.
# Writes to $PYKETI_LAB_DIR: env, nodes.json, known_hosts (host keys generated
# here and injected into each VM), ssh_config.  Waits until sshd answers and
# glusterd is active on every node.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/lab/lab-common.sh
. "$HERE/lab-common.sh"
lab_need_root

N=${1:-3}
[[ "$N" =~ ^[0-9]+$ ]] && [ "$N" -ge 1 ] && [ "$N" -le "$PYKETI_LAB_MAX_NODES" ] \
    || lab_die "node count must be 1..$PYKETI_LAB_MAX_NODES"
if [ "$PYKETI_LAB_ACCEL" = kvm ] && ! grep -qwE 'vmx|svm' /proc/cpuinfo; then
    lab_die "PYKETI_LAB_ACCEL=kvm needs a CPU with vmx/svm (this one has none): use tcg"
fi

mkdir -p "$PYKETI_LAB_DIR/run" "$PYKETI_LAB_DIR/nodes"
exec 9> "$PYKETI_LAB_DIR/run/lock"
flock -n 9 || lab_die "another vmlab-up/down is running"
for d in "$PYKETI_LAB_DIR"/nodes/node*; do
    [ -d "$d" ] || continue
    i=${d##*node}
    if lab_qemu_pid "$i" >/dev/null; then
        lab_die "the lab is already running (node$i); run vmlab-down.sh first"
    fi
done
if ip netns list | grep -qw "^$PYKETI_LAB_NETNS"; then
    [ -e "$PYKETI_LAB_DIR/run/netns.created" ] \
        || lab_die "network namespace $PYKETI_LAB_NETNS exists and was not created by the lab"
    ip netns del "$PYKETI_LAB_NETNS"
fi

# On failure after the network/VMs were set up, undo it all (PYKETI_LAB_KEEP_ON_FAILURE=1
# keeps the VMs for a post-mortem; vmlab-down.sh cleans up later).
STARTED=0
on_exit() {
    local rc=$?
    if [ $rc -ne 0 ] && [ $STARTED = 1 ] && [ "${PYKETI_LAB_KEEP_ON_FAILURE:-0}" != 1 ]; then
        lab_log "vmlab-up failed (rc=$rc): bringing the lab down"
        exec 9>&-
        "$HERE/vmlab-down.sh" --keep-disks || true
    fi
}
trap on_exit EXIT

T0=$(date +%s.%N)
"$HERE/vmlab-build.sh"
for t in qemu-system-x86_64 qemu-img socat ssh; do
    command -v "$t" >/dev/null || lab_die "$t missing: run tests/lab/install-host-deps.sh"
done

# -- network: everything inside the netns; nothing routed out
lab_guard_route
STARTED=1
ip netns add "$PYKETI_LAB_NETNS"
touch "$PYKETI_LAB_DIR/run/netns.created"
ip -n "$PYKETI_LAB_NETNS" link set lo up
ip -n "$PYKETI_LAB_NETNS" link add "$PYKETI_LAB_BRIDGE" type bridge stp_state 0 forward_delay 0
ip -n "$PYKETI_LAB_NETNS" addr add "$PYKETI_LAB_NET.1/24" dev "$PYKETI_LAB_BRIDGE"
ip -n "$PYKETI_LAB_NETNS" link set "$PYKETI_LAB_BRIDGE" up
lab_nsexec sysctl -qw net.ipv4.ip_forward=0

# -- per-node identity
hosts=""
for i in $(seq 1 "$N"); do hosts="$hosts$(lab_ip "$i") node$i;"; done
: > "$PYKETI_LAB_DIR/known_hosts.tmp"
rm -rf "$PYKETI_LAB_DIR"/nodes/node*
disk_size() {  # disk_size NODE DISK
    local spec
    for spec in $PYKETI_LAB_DISK_SIZES; do
        if [ "${spec%%=*}" = "$1:$2" ]; then echo "${spec#*=}"; return; fi
    done
    echo "$PYKETI_LAB_DISK_SIZE"
}
for i in $(seq 1 "$N"); do
    d="$PYKETI_LAB_DIR/nodes/node$i"
    mkdir -p "$d"
    ip=$(lab_ip "$i")
    ssh-keygen -q -t ed25519 -N '' -C "node$i" -f "$d/ssh_host_ed25519_key"
    echo "$ip,node$i $(cut -d' ' -f1,2 "$d/ssh_host_ed25519_key.pub")" >> "$PYKETI_LAB_DIR/known_hosts.tmp"
    printf 'LAB_HOSTNAME=node%s\nLAB_IP=%s\nLAB_PREFIX=24\nLAB_HOSTS="%s"\n' \
        "$i" "$ip" "$hosts" > "$d/fwcfg-config"
    cp "$LAB_KEY.pub" "$d/fwcfg-authkeys"
    qemu-img create -q -f qcow2 -F qcow2 -b "$LAB_BASE/base.qcow2" "$d/root.qcow2"
    for k in $(seq 1 "$PYKETI_LAB_DISKS"); do
        qemu-img create -q -f qcow2 "$d/disk$k.qcow2" "$(disk_size "$i" "$k")"
    done
done
mv "$PYKETI_LAB_DIR/known_hosts.tmp" "$PYKETI_LAB_DIR/known_hosts"
echo "$N" > "$PYKETI_LAB_DIR/run/nodes"

# -- boot
accel="tcg,thread=multi,tb-size=$PYKETI_LAB_TB_SIZE"
cpu="$PYKETI_LAB_CPU_MODEL"
if [ "$PYKETI_LAB_ACCEL" = kvm ]; then accel=kvm; cpu=host; fi
for i in $(seq 1 "$N"); do
    d="$PYKETI_LAB_DIR/nodes/node$i"
    tap="$PYKETI_LAB_TAP$i"
    ip -n "$PYKETI_LAB_NETNS" tuntap add dev "$tap" mode tap
    ip -n "$PYKETI_LAB_NETNS" link set "$tap" master "$PYKETI_LAB_BRIDGE" up
    disks=()
    for k in $(seq 1 "$PYKETI_LAB_DISKS"); do
        disks+=(-drive "file=$d/disk$k.qcow2,if=none,id=disk$k,format=qcow2,cache=writeback,discard=unmap"
                -device "virtio-blk-pci,drive=disk$k,serial=pyketilab-n$i-d$k")
    done
    mid=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
    : > "$d/console.log"
    lab_nsexec qemu-system-x86_64 -name "$LAB_QEMU_NAME_PREFIX$i" \
        -machine pc -accel "$accel" -cpu "$cpu" -smp "$PYKETI_LAB_CPUS" -m "$PYKETI_LAB_MEM" \
        -nodefaults -display none -no-reboot \
        -serial "file:$d/console.log" \
        -monitor "unix:$d/monitor.sock,server,nowait" \
        -kernel "$LAB_BASE/vmlinuz" -initrd "$LAB_BASE/initrd.img" \
        -append "root=/dev/vda rw console=ttyS0 quiet loglevel=3 mitigations=off net.ifnames=0 systemd.hostname=node$i systemd.machine_id=$mid systemd.show_status=error" \
        -drive "file=$d/root.qcow2,if=none,id=root,format=qcow2,cache=unsafe" \
        -device virtio-blk-pci,drive=root \
        "${disks[@]}" \
        -netdev "tap,id=net0,ifname=$tap,script=no,downscript=no" \
        -device "virtio-net-pci,netdev=net0,mac=52:54:00:88:00:$(printf %02x $((10 + i)))" \
        -device virtio-rng-pci \
        -fw_cfg "name=opt/pyketi/config,file=$d/fwcfg-config" \
        -fw_cfg "name=opt/pyketi/hostkey,file=$d/ssh_host_ed25519_key" \
        -fw_cfg "name=opt/pyketi/authkeys,file=$d/fwcfg-authkeys" \
        -pidfile "$d/qemu.pid" -daemonize 9>&-   # the daemon must not inherit the lab lock
    lab_qemu_pid "$i" >/dev/null || lab_die "qemu for node$i did not start"
done
T1=$(date +%s.%N)

# -- helper files for people and tests
cat > "$PYKETI_LAB_DIR/ssh_config" <<CFG
Host node*
    User root
    IdentityFile $LAB_KEY
    UserKnownHostsFile $PYKETI_LAB_DIR/known_hosts
    GlobalKnownHostsFile /dev/null
    StrictHostKeyChecking yes
    BatchMode yes
    ConnectTimeout 5
    ProxyCommand ip netns exec $PYKETI_LAB_NETNS socat STDIO TCP:%h:%p
CFG
for i in $(seq 1 "$N"); do
    printf 'Host node%s\n    HostName %s\n' "$i" "$(lab_ip "$i")" >> "$PYKETI_LAB_DIR/ssh_config"
done
nodes_json=""
addrs=""
for i in $(seq 1 "$N"); do
    devs=""
    for k in $(seq 1 "$PYKETI_LAB_DISKS"); do
        devs="$devs${devs:+, }\"/dev/vd$(printf "\\x$(printf %x $((97 + k)))")\""
    done
    nodes_json="$nodes_json${nodes_json:+,
    }{\"name\": \"node$i\", \"ip\": \"$(lab_ip "$i")\", \"devices\": [$devs]}"
    addrs="$addrs${addrs:+ }$(lab_ip "$i")"
done
cat > "$PYKETI_LAB_DIR/nodes.json" <<JSON
{
  "netns": "$PYKETI_LAB_NETNS",
  "network": "$LAB_NET_CIDR",
  "host_address": "$PYKETI_LAB_NET.1",
  "ssh_key": "$LAB_KEY",
  "ssh_user": "root",
  "sudo_user": "heketi",
  "known_hosts": "$PYKETI_LAB_DIR/known_hosts",
  "ssh_config": "$PYKETI_LAB_DIR/ssh_config",
  "nodes": [
    $nodes_json
  ]
}
JSON
cat > "$PYKETI_LAB_DIR/env" <<ENV
PYKETI_LAB_NETNS=$PYKETI_LAB_NETNS
PYKETI_LAB_NODES="$addrs"
PYKETI_LAB_KEY=$LAB_KEY
PYKETI_LAB_KNOWN_HOSTS=$PYKETI_LAB_DIR/known_hosts
PYKETI_LAB_SSH_CONFIG=$PYKETI_LAB_DIR/ssh_config
ENV

elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
# -- wait: sshd, then glusterd, on every node (bounded)
deadline=$(( $(date +%s) + PYKETI_LAB_BOOT_TIMEOUT ))
declare -A ssh_ok=() gd_ok=() gd_retry=()
t_ssh=""
while :; do
    all=1
    for i in $(seq 1 "$N"); do
        [ -n "${gd_ok[$i]:-}" ] && continue
        all=0
        lab_qemu_pid "$i" >/dev/null || { tail -20 "$PYKETI_LAB_DIR/nodes/node$i/console.log" >&2; lab_die "node$i: qemu exited"; }
        if st=$(lab_ssh "$i" systemctl is-active glusterd 2>/dev/null); then
            [ -n "${ssh_ok[$i]:-}" ] || { ssh_ok[$i]=1; lab_log "node$i: ssh up after $(elapsed "$T0" "$(date +%s.%N)")s"; }
            [ "$st" = active ] && gd_ok[$i]=1
            # a start that failed anyway (timeout under a heavy load): start it again, bounded
            if [ "$st" = failed ] && [ "${gd_retry[$i]:-0}" -lt 3 ]; then
                gd_retry[$i]=$(( ${gd_retry[$i]:-0} + 1 ))
                lab_log "node$i: glusterd failed to start, starting it again (${gd_retry[$i]}/3)"
                lab_ssh "$i" 'systemctl reset-failed glusterd; systemctl start --no-block glusterd' || true
            fi
        fi
    done
    [ -z "$t_ssh" ] && [ ${#ssh_ok[@]} -eq "$N" ] && t_ssh=$(date +%s.%N)
    [ $all = 1 ] && break
    [ "$(date +%s)" -lt "$deadline" ] || lab_die "nodes not ready after ${PYKETI_LAB_BOOT_TIMEOUT}s (see $PYKETI_LAB_DIR/nodes/node*/console.log)"
    sleep 2
done
T2=$(date +%s.%N)
lab_log "$N node(s) up: qemu started $(elapsed "$T0" "$T1")s, ssh $(elapsed "$T0" "${t_ssh:-$T2}")s, glusterd $(elapsed "$T0" "$T2")s"
for i in $(seq 1 "$N"); do lab_log "  node$i $(lab_ip "$i")"; done
lab_log "nodes.json: $PYKETI_LAB_DIR/nodes.json   ssh: ssh -F $PYKETI_LAB_DIR/ssh_config node1"
