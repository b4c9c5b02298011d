"""What a node has that pyketi/heketi may leave behind (for "nothing left" checks)."""

from __future__ import annotations

import time

# One ssh call per node; sections separated by markers.
_PROBE = r"""
echo '##lvs'; lvs --noheadings -o vg_name,lv_name 2>/dev/null
echo '##vgs'; vgs --noheadings -o vg_name 2>/dev/null
echo '##pvs'; pvs --noheadings -o pv_name 2>/dev/null
echo '##mounts'; grep -E ' (/var/lib/heketi|/mnt/pyketi)' /proc/mounts
echo '##fstab'; grep -E 'heketi|brick_' /etc/fstab
echo '##dirs'; ls -A /var/lib/heketi/mounts 2>/dev/null
echo '##volumes'; gluster --mode=script volume list 2>&1 | grep -v '^No volumes present'
echo '##peers'; gluster --mode=script pool list 2>/dev/null | awk 'NR>1 && $2 != "localhost" {print $2}'
echo '##end'
"""


def leftovers(lab, node, peers: bool = True) -> dict[str, list[str]]:
    """Non-empty entries mean something is left on ``node``.  A probe whose output does
    not reach its end marker (ssh failed: a node slow to answer on a loaded machine) is
    tried again, 3 times at most, never read as "nothing left"."""
    for attempt in range(3):
        p = lab.ssh(node, _PROBE, check=False, timeout=300)
        out = p.stdout
        if "##end" in out:
            break
        time.sleep(5)
    else:
        raise AssertionError(f"{node}: the leftovers probe did not complete: {p.stderr[-500:]}")
    found: dict[str, list[str]] = {}
    section = None
    for line in out.splitlines():
        if line.startswith("##"):
            section = line[2:]
            continue
        if section and section != "end" and line.strip():
            found.setdefault(section, []).append(line.strip())
    if not peers:
        found.pop("peers", None)
    return found


# Everything pyketi/heketi may have made on a node, removed (a clean slate for a
# module that builds its own topology after an earlier test failed half-way).
_WIPE = r"""
for v in $(gluster --mode=script volume list 2>/dev/null | grep -v '^No volumes'); do
  gluster --mode=script volume stop "$v" force >/dev/null 2>&1
  gluster --mode=script volume delete "$v" >/dev/null 2>&1
done
for m in $(awk '$2 ~ "^/(var/lib/heketi/mounts|mnt)/" {print $2}' /proc/mounts); do umount -l "$m"; done
sed -i '\#/var/lib/heketi/mounts/#d' /etc/fstab
for vg in $(vgs --noheadings -o vg_name 2>/dev/null | grep '^ *vg_'); do vgremove -ff -y "$vg" >/dev/null; done
for pv in $(pvs --noheadings -o pv_name 2>/dev/null | grep -E '^ */dev/vd[b-z]$'); do pvremove -ff -y "$pv" >/dev/null; done
rm -rf /var/lib/heketi/mounts/*
for p in $(gluster --mode=script pool list 2>/dev/null | awk 'NR>1 && $2 != "localhost" {print $2}'); do
  gluster --mode=script peer detach "$p" force >/dev/null 2>&1
done
true
"""


def wipe(lab, nodes) -> None:
    """Remove volumes, brick mounts, fstab lines, VGs/PVs, peers from ``nodes``."""
    for node in nodes:
        lab.ssh(node, _WIPE, timeout=600)
