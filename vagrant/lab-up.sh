#!/bin/bash
# lab-up.sh - `vagrant up` of the pyketi Vagrantfile on this machine kind: libvirt
# with QEMU (KVM when the CPU has vmx/svm, else software emulation, TCG), the box
# built locally from the VM lab's image (build-box.sh), and every address inside a
# network namespace the lab creates (no host-side network, nothing routed out).
#
#   netns $PYKETI_VAGRANT_NETNS: a libvirtd of our own (private /etc/libvirt,
#     /run/libvirt, /var/lib/libvirt, /var/cache/libvirt, /var/log/libvirt, all under
#     $PYKETI_VAGRANT_DIR/libvirt), its isolated network $PYKETI_VAGRANT_NETWORK
#     (bridge $PYKETI_VAGRANT_BRIDGE, $PYKETI_VAGRANT_NET.1/24, DHCP: node i =
#     .(10+i) by MAC, no <forward>), the qemu processes, and vagrant itself.
#   root namespace: an "unreachable" route for $PYKETI_VAGRANT_NET.0/24.
#
# Then the nodes' host keys are read over Vagrant's own authenticated ssh, and
# $PYKETI_VAGRANT_DIR gets nodes.json / known_hosts / ssh_config / env in the VM
# lab's format (tests/lab/vmlab.py reads them: VmLab(lab_dir=...)).
# On failure everything is brought down again (PYKETI_VAGRANT_KEEP_ON_FAILURE=1 keeps it).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=vagrant/lab-common.sh
. "$HERE/lab-common.sh"
lab_need_root
N=$PYKETI_VAGRANT_NODES
{ [[ "$N" =~ ^[0-9]+$ ]] && [ "$N" -ge 1 ] && [ "$N" -le 20 ]; } || pv_die "PYKETI_VAGRANT_NODES must be 1..20"
case "$PYKETI_VAGRANT_NET" in 10.88.0|10.89.0) pv_die "$PYKETI_VAGRANT_NET is a VM lab slot's network";; esac
for t in vagrant virsh libvirtd dnsmasq qemu-system-x86_64 qemu-img debugfs iptables nsenter unshare; do
    command -v "$t" >/dev/null || pv_die "$t missing: run vagrant/install-host-deps.sh"
done
vagrant plugin list 2>/dev/null | grep -q vagrant-libvirt || pv_die "vagrant-libvirt missing: run vagrant/install-host-deps.sh"

mkdir -p "$PYKETI_VAGRANT_DIR/run"
exec 9> "$PYKETI_VAGRANT_DIR/run/lock"
flock -n 9 || pv_die "another lab-up/lab-down is running"
pv_libvirtd_pid >/dev/null && pv_die "the Vagrant lab is up (libvirtd $(pv_libvirtd_pid)); run vagrant/lab-down.sh first"
if ip netns list | grep -qw "^$PYKETI_VAGRANT_NETNS"; then
    [ -e "$PYKETI_VAGRANT_DIR/run/netns.created" ] \
        || pv_die "network namespace $PYKETI_VAGRANT_NETNS exists and was not created by the lab"
    [ -z "$(ip netns pids "$PYKETI_VAGRANT_NETNS")" ] \
        || pv_die "processes are left in $PYKETI_VAGRANT_NETNS: run vagrant/lab-down.sh"
    ip netns del "$PYKETI_VAGRANT_NETNS"
fi

STARTED=0
on_exit() {
    local rc=$?
    if [ $rc -ne 0 ] && [ $STARTED = 1 ] && [ "${PYKETI_VAGRANT_KEEP_ON_FAILURE:-0}" != 1 ]; then
        pv_log "lab-up failed (rc=$rc): bringing the lab down"
        exec 9>&-
        "$HERE/lab-down.sh" || true
    fi
}
trap on_exit EXIT
T0=$(date +%s)

# -- image and box (both cached)
bash "$HERE/../tests/lab/vmlab-build.sh"
bash "$HERE/build-box.sh"
T1=$(date +%s)

# -- network namespace
pv_guard_route
STARTED=1
ip netns add "$PYKETI_VAGRANT_NETNS"
touch "$PYKETI_VAGRANT_DIR/run/netns.created"
ip -n "$PYKETI_VAGRANT_NETNS" link set lo up
ip netns exec "$PYKETI_VAGRANT_NETNS" sysctl -qw net.ipv4.ip_forward=0

# -- a private libvirtd in the netns
L="$PV_LIBVIRT"
rm -rf "${L:?}/etc" "${L:?}/run" "${L:?}/lib" "${L:?}/log"
mkdir -p "$L/etc/qemu/networks/autostart" "$L/etc/storage" "$L/run" "$L/lib/images" "$L/cache" "$L/log" \
         "$PYKETI_VAGRANT_DIR/console"
cat > "$L/etc/libvirtd.conf" <<CONF
# pyketi Vagrant lab: root-only unix socket, no TCP, log to a file
unix_sock_group = "root"
unix_sock_ro_perms = "0700"
unix_sock_rw_perms = "0700"
auth_unix_ro = "none"
auth_unix_rw = "none"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
CONF
cat > "$L/etc/qemu.conf" <<CONF
# pyketi Vagrant lab: qemu runs as root in the lab's netns, no cgroups, no
# per-domain /dev namespace, no security driver, console/stdio to files
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
cgroup_controllers = [ ]
namespaces = [ ]
stdio_handler = "file"
CONF
: > "$L/etc/libvirt.conf"
# libvirtd execs in place (ip netns exec, unshare, sh -c exec): $! is its PID
setsid ip netns exec "$PYKETI_VAGRANT_NETNS" unshare --mount --propagation private -- /bin/sh -ec '
    L=$1
    # drop the copies of every /run/netns mount (other labs too) in this mount
    # namespace: they would pin those netns for as long as libvirtd and qemu run
    umount -R -l /run/netns 2>/dev/null || true
    mkdir -p /etc/libvirt /run/libvirt /var/lib/libvirt /var/cache/libvirt /var/log/libvirt
    mount --bind "$L/etc" /etc/libvirt
    mount --bind "$L/run" /run/libvirt
    mount --bind "$L/lib" /var/lib/libvirt
    mount --bind "$L/cache" /var/cache/libvirt
    mount --bind "$L/log" /var/log/libvirt
    exec libvirtd --pid-file "$2" --config /etc/libvirt/libvirtd.conf
' _ "$L" "$PYKETI_VAGRANT_DIR/run/libvirtd.pid" > "$PYKETI_VAGRANT_DIR/libvirtd.out" 2>&1 < /dev/null 9>&- &   # the daemon must not inherit the lab lock
echo $! > "$PYKETI_VAGRANT_DIR/run/libvirtd.started"
for _ in $(seq 1 120); do
    [ -S "$PV_SOCK" ] && pv_virsh version >/dev/null 2>&1 && break
    kill -0 "$(cat "$PYKETI_VAGRANT_DIR/run/libvirtd.started")" 2>/dev/null \
        || { cat "$PYKETI_VAGRANT_DIR/libvirtd.out" >&2; pv_die "libvirtd exited"; }
    sleep 0.5
done
pv_libvirtd_pid >/dev/null || { cat "$PYKETI_VAGRANT_DIR/libvirtd.out" >&2; pv_die "libvirtd did not start"; }
pv_virsh version >/dev/null || pv_die "libvirtd does not answer on $PV_SOCK"
pv_log "libvirtd $(pv_libvirtd_pid) up in netns $PYKETI_VAGRANT_NETNS"

# -- storage pool and the isolated management network (DHCP reservations by MAC)
pv_virsh pool-define-as default dir --target /var/lib/libvirt/images >/dev/null
pv_virsh pool-start default >/dev/null
hosts=""
for i in $(seq 1 "$N"); do
    hosts="$hosts      <host mac='$(pv_mac "$i")' name='node$i' ip='$(pv_ip "$i")'/>
"
done
cat > "$L/network.xml" <<XML
<network>
  <name>$PYKETI_VAGRANT_NETWORK</name>
  <bridge name='$PYKETI_VAGRANT_BRIDGE' stp='off' delay='0'/>
  <ip address='$PYKETI_VAGRANT_NET.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='$PYKETI_VAGRANT_NET.100' end='$PYKETI_VAGRANT_NET.199'/>
$hosts    </dhcp>
  </ip>
</network>
XML
if [ "$PYKETI_VAGRANT_PRIVATE_NETWORK" != 1 ]; then
    pv_virsh net-define "$L/network.xml" >/dev/null
    pv_virsh net-start "$PYKETI_VAGRANT_NETWORK" >/dev/null
    ip -n "$PYKETI_VAGRANT_NETNS" -4 addr show "$PYKETI_VAGRANT_BRIDGE" | grep -q "inet $PYKETI_VAGRANT_NET.1/" \
        || pv_die "bridge $PYKETI_VAGRANT_BRIDGE has no $PYKETI_VAGRANT_NET.1"
fi  # else vagrant-libvirt makes its networks (NAT inside the netns: no way out of it)

# -- the box and pyketi's key
if [ ! -s "$PV_KEY" ]; then
    mkdir -p "$(dirname "$PV_KEY")"; chmod 700 "$(dirname "$PV_KEY")"
    ssh-keygen -q -t ed25519 -N '' -C pyketi-vagrant-lab -f "$PV_KEY"
fi
mkdir -p "$PYKETI_VAGRANT_DIR/vagrant.d"
if [ "$(cat "$PYKETI_VAGRANT_DIR/vagrant.d/pyketi-box.recipe" 2>/dev/null)" != "$(cat "$PV_BOX_DIR/recipe")" ]; then
    pv_vagrant box add --force --name "$PYKETI_VAGRANT_BOX" "$PV_BOX_DIR/pyketi-lab.box" >/dev/null
    cp "$PV_BOX_DIR/recipe" "$PYKETI_VAGRANT_DIR/vagrant.d/pyketi-box.recipe"
fi
T2=$(date +%s)

# -- vagrant up
pv_log "vagrant up: $N node(s), driver ${PYKETI_VAGRANT_DRIVER:-auto} (log: $PYKETI_VAGRANT_DIR/vagrant-up.log)"
echo "$N" > "$PYKETI_VAGRANT_DIR/run/nodes"   # lab-down.sh destroys these
# (the box upload's progress meter is dropped from the log)
if ! pv_vagrant up --provider=libvirt 2>&1 | tr '\r' '\n' | grep --line-buffered -v 'Progress: ' \
        > "$PYKETI_VAGRANT_DIR/vagrant-up.log"; then
    tail -40 "$PYKETI_VAGRANT_DIR/vagrant-up.log" >&2
    pv_die "vagrant up failed"
fi
T3=$(date +%s)

# -- host keys over Vagrant's authenticated channel; files in the VM lab's format
: > "$PYKETI_VAGRANT_DIR/known_hosts.tmp"
for i in $(seq 1 "$N"); do
    k=$(pv_vagrant ssh "node$i" -c 'cat /etc/ssh/ssh_host_ed25519_key.pub' 2>/dev/null | tr -d '\r' | cut -d' ' -f1,2)
    [[ "$k" == ssh-ed25519\ * ]] || pv_die "node$i: no ed25519 host key"
    echo "$(pv_ip "$i"),node$i $k" >> "$PYKETI_VAGRANT_DIR/known_hosts.tmp"
done
mv "$PYKETI_VAGRANT_DIR/known_hosts.tmp" "$PYKETI_VAGRANT_DIR/known_hosts"
nodes_json=""
for i in $(seq 1 "$N"); do
    nodes_json="$nodes_json${nodes_json:+,
    }{\"name\": \"node$i\", \"ip\": \"$(pv_ip "$i")\", \"devices\": [\"/dev/vdb\", \"/dev/vdc\"]}"
done
cat > "$PYKETI_VAGRANT_DIR/nodes.json" <<JSON
{
  "netns": "$PYKETI_VAGRANT_NETNS",
  "network": "$PV_NET_CIDR",
  "host_address": "$PYKETI_VAGRANT_NET.1",
  "ssh_key": "$PV_KEY",
  "ssh_user": "root",
  "sudo_user": "heketi",
  "known_hosts": "$PYKETI_VAGRANT_DIR/known_hosts",
  "ssh_config": "$PYKETI_VAGRANT_DIR/ssh_config",
  "libvirt_uri": "$PV_URI",
  "nodes": [
    $nodes_json
  ]
}
JSON
cat > "$PYKETI_VAGRANT_DIR/ssh_config" <<CFG
Host node*
    User root
    IdentityFile $PV_KEY
    UserKnownHostsFile $PYKETI_VAGRANT_DIR/known_hosts
    GlobalKnownHostsFile /dev/null
    StrictHostKeyChecking yes
    BatchMode yes
    ConnectTimeout 5
    ProxyCommand ip netns exec $PYKETI_VAGRANT_NETNS socat STDIO TCP:%h:%p
CFG
for i in $(seq 1 "$N"); do
    printf 'Host node%s\n    HostName %s\n' "$i" "$(pv_ip "$i")" >> "$PYKETI_VAGRANT_DIR/ssh_config"
done
pv_log "up: image+box $((T1 - T0))s, libvirtd+network+box add $((T2 - T1))s, vagrant up $((T3 - T2))s, total $(( $(date +%s) - T0 ))s"
for i in $(seq 1 "$N"); do pv_log "  node$i $(pv_ip "$i")"; done
pv_log "ssh -F $PYKETI_VAGRANT_DIR/ssh_config node1   |   vagrant/lab-vagrant.sh status"
