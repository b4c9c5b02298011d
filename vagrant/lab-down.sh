#!/bin/bash
# lab-down.sh - tear the Vagrant lab down: `vagrant destroy -f`, then whatever is
# left of the domains, the network and the pool through libvirt, then the lab's
# libvirtd (by its recorded PID, command line checked), then the netns.  Only
# PIDs the lab started (libvirtd) or libvirt recorded for it (qemu, dnsmasq pid
# files under $PYKETI_VAGRANT_DIR/libvirt/run) are signalled, after checking
# their command line.  The "unreachable" route for the lab range stays.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=vagrant/lab-common.sh
. "$HERE/lab-common.sh"
lab_need_root
[ -d "$PYKETI_VAGRANT_DIR/run" ] || { pv_log "no lab state in $PYKETI_VAGRANT_DIR"; exit 0; }
exec 9> "$PYKETI_VAGRANT_DIR/run/lock"
flock -w 300 9 || pv_die "another lab-up/lab-down is running"
T0=$(date +%s)
L="$PV_LIBVIRT"
# the node count lab-up used (vagrant destroy must see the same machines)
if [ -s "$PYKETI_VAGRANT_DIR/run/nodes" ]; then PYKETI_VAGRANT_NODES=$(tr -dc 0-9 < "$PYKETI_VAGRANT_DIR/run/nodes"); fi
export PYKETI_VAGRANT_NODES

# PIDs libvirt recorded for the lab (qemu: run/qemu/<domain>.pid; dnsmasq:
# run/network/<net>.pid), only while their cmdline is still the recorded one.
recorded() {
    local f
    for f in "$L"/run/qemu/*.pid; do
        [ -e "$f" ] && lab_verified_pid "$f" "guest=$(basename "$f" .pid),"
    done
    for f in "$L"/run/network/*.pid; do
        [ -e "$f" ] && lab_verified_pid "$f" "dnsmasq"
    done
    return 0
}

if pv_libvirtd_pid >/dev/null; then
    if [ -d "$PYKETI_VAGRANT_DIR/dotvagrant" ] && ip netns list | grep -qw "^$PYKETI_VAGRANT_NETNS"; then
        timeout 900 bash -c ". '$HERE/lab-common.sh'; pv_vagrant destroy -f" \
            > "$PYKETI_VAGRANT_DIR/vagrant-destroy.log" 2>&1 \
            || pv_log "WARNING: vagrant destroy failed (see $PYKETI_VAGRANT_DIR/vagrant-destroy.log); destroying through libvirt"
    fi
    for dom in $(pv_virsh list --all --name 2>/dev/null); do
        pv_virsh destroy "$dom" >/dev/null 2>&1 || true
        pv_virsh undefine "$dom" --remove-all-storage >/dev/null 2>&1 || pv_virsh undefine "$dom" >/dev/null 2>&1 || true
    done
    for net in $(pv_virsh net-list --all --name 2>/dev/null); do   # all of them: this libvirtd is the lab's
        pv_virsh net-destroy "$net" >/dev/null 2>&1 || true
        pv_virsh net-undefine "$net" >/dev/null 2>&1 || true
    done
    pv_virsh pool-destroy default >/dev/null 2>&1 || true
    pv_virsh pool-undefine default >/dev/null 2>&1 || true
    pid=$(pv_libvirtd_pid) && kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do pv_libvirtd_pid >/dev/null || break; sleep 0.5; done
    if pid=$(pv_libvirtd_pid); then
        pv_log "libvirtd $pid ignored SIGTERM for 30 s: SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
fi
# processes libvirt left (it had no time to stop them): TERM, then KILL, verified
left=$(recorded)
if [ -n "$left" ]; then
    pv_log "stopping what libvirt left:$(echo "$left" | tr '\n' ' ')"
    for sig in TERM KILL; do
        for pid in $(recorded); do kill -"$sig" "$pid" 2>/dev/null || true; done
        for _ in $(seq 1 20); do [ -z "$(recorded)" ] && break; sleep 0.5; done
        [ -z "$(recorded)" ] && break
    done
fi

if ip netns list | grep -qw "^$PYKETI_VAGRANT_NETNS"; then
    others=$(ip netns pids "$PYKETI_VAGRANT_NETNS" 2>/dev/null | tr '\n' ' ')
    [ -z "$others" ] || pv_log "WARNING: processes still in netns $PYKETI_VAGRANT_NETNS (not started by the lab, not touched): $others"
    if [ -e "$PYKETI_VAGRANT_DIR/run/netns.created" ] && [ -z "$others" ]; then
        ip -n "$PYKETI_VAGRANT_NETNS" link del "$PYKETI_VAGRANT_BRIDGE" 2>/dev/null || true
        ip netns del "$PYKETI_VAGRANT_NETNS"
        rm -f "$PYKETI_VAGRANT_DIR/run/netns.created"
    fi
fi
pv_guard_route   # lab addresses stay unroutable with the lab down

# node disks and libvirt's state go; the box, VAGRANT_HOME and libvirt's cache stay
rm -rf "${L:?}/etc" "${L:?}/run" "${L:?}/lib" "${L:?}/log" "$PYKETI_VAGRANT_DIR/dotvagrant" \
       "$PYKETI_VAGRANT_DIR/nodes.json" "$PYKETI_VAGRANT_DIR/known_hosts" "$PYKETI_VAGRANT_DIR/ssh_config" \
       "$PYKETI_VAGRANT_DIR/run/nodes" "$PYKETI_VAGRANT_DIR/run/libvirtd.pid" "$PYKETI_VAGRANT_DIR/run/libvirtd.started"
pv_log "lab down in $(( $(date +%s) - T0 ))s"
