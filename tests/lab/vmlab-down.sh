#!/bin/bash
# vmlab-down.sh [--keep-disks] - stop the lab VMs and remove the lab network.
#
# Stops only the qemu processes whose PIDs vmlab-up recorded (their cmdline is
# checked first): clean poweroff over ssh, then HMP "quit", then SIGTERM, then
# SIGKILL.  Removes taps, bridge and the netns (only if vmlab-up created it).
# The "unreachable" route for the lab range stays in the root namespace, so
# the lab addresses can never leave the machine (remove it by hand with
# "ip route del unreachable 10.88.0.0/24" if you must).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/lab/lab-common.sh
. "$HERE/lab-common.sh"
lab_need_root
KEEP=0
[ "${1:-}" = "--keep-disks" ] && KEEP=1
[ -d "$PYKETI_LAB_DIR/run" ] || { lab_log "no lab state in $PYKETI_LAB_DIR"; exit 0; }
exec 9> "$PYKETI_LAB_DIR/run/lock"
flock -w 120 9 || lab_die "another vmlab-up/down is running"
T0=$(date +%s)

nodes=()
for d in "$PYKETI_LAB_DIR"/nodes/node*; do
    [ -d "$d" ] && nodes+=("${d##*node}")
done
alive() { local i; for i in "${nodes[@]}"; do lab_qemu_pid "$i" >/dev/null && echo "$i"; done; return 0; }
wait_gone() {  # wait_gone SECONDS
    local end=$(( $(date +%s) + $1 ))
    while [ -n "$(alive)" ] && [ "$(date +%s)" -lt "$end" ]; do sleep 0.5; done
    [ -z "$(alive)" ]
}

if [ -n "$(alive)" ]; then
    # 1. clean poweroff (parallel, bounded)
    if ip netns list | grep -qw "^$PYKETI_LAB_NETNS"; then
        for i in $(alive); do
            timeout 15 bash -c ". '$HERE/lab-common.sh'; lab_ssh $i systemctl poweroff --no-block" \
                >/dev/null 2>&1 &
        done
        wait
    fi
    if ! wait_gone "$PYKETI_LAB_SHUTDOWN_GRACE"; then
        # 2. HMP quit through the monitor socket
        for i in $(alive); do
            echo quit | timeout 5 socat - "UNIX-CONNECT:$PYKETI_LAB_DIR/nodes/node$i/monitor.sock" \
                >/dev/null 2>&1 || true
        done
        if ! wait_gone 10; then
            # 3./4. signals, to verified PIDs only
            for i in $(alive); do pid=$(lab_qemu_pid "$i") && kill -TERM "$pid" 2>/dev/null || true; done
            if ! wait_gone 10; then
                for i in $(alive); do pid=$(lab_qemu_pid "$i") && kill -KILL "$pid" 2>/dev/null || true; done
                wait_gone 10 || lab_log "WARNING: still alive: node $(alive)"
            fi
        fi
    fi
fi

if ip netns list | grep -qw "^$PYKETI_LAB_NETNS"; then
    left=$(ip netns pids "$PYKETI_LAB_NETNS" 2>/dev/null | tr '\n' ' ')
    [ -z "$left" ] || lab_log "WARNING: processes still in netns $PYKETI_LAB_NETNS (not started by the lab, not touched): $left"
    if [ -e "$PYKETI_LAB_DIR/run/netns.created" ]; then
        for i in "${nodes[@]}"; do ip -n "$PYKETI_LAB_NETNS" link del "$PYKETI_LAB_TAP$i" 2>/dev/null || true; done
        ip -n "$PYKETI_LAB_NETNS" link del "$PYKETI_LAB_BRIDGE" 2>/dev/null || true
        ip netns del "$PYKETI_LAB_NETNS"
        rm -f "$PYKETI_LAB_DIR/run/netns.created"
    fi
fi
lab_guard_route   # keep lab addresses unroutable even with the lab down

rm -f "$PYKETI_LAB_DIR/run/nodes"
if [ $KEEP = 0 ]; then
    rm -rf "$PYKETI_LAB_DIR"/nodes/node*
fi
lab_log "lab down in $(( $(date +%s) - T0 ))s"
