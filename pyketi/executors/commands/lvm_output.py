"""Parsers of LVM / udev output used by device and brick handling.

heketi: ``executors/cmdexec/device.go`` (``getVgSizeFromNode``, PV identity,
udev symlinks) and ``brick.go`` (``countThinLVsInPool``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pyketi.executors.base import ExecutorError

# vgdisplay -c fields (0-based), see vgdisplay(8)
VG_EXTENT_SIZE, VG_TOTAL_EXTENTS, VG_ALLOCATED_EXTENTS, VG_FREE_EXTENTS = 12, 13, 14, 15
PV_UUID_LINK_PREFIX = "/dev/disk/by-id/lvm-pv-uuid-"


@dataclass
class VgSizes:
    total: int
    free: int
    used: int
    extent_size: int


def parse_vgdisplay(output: str) -> VgSizes:
    """``vgdisplay -c``: sizes in KiB = extents * extent size."""
    line = next((ln.strip() for ln in output.splitlines() if ln.strip()), "")
    fields = line.split(":")
    if len(fields) < 17:
        raise ExecutorError("vgdisplay returned an invalid string")
    try:
        extent = int(fields[VG_EXTENT_SIZE])
        total, used, free = (int(fields[i]) for i in
                             (VG_TOTAL_EXTENTS, VG_ALLOCATED_EXTENTS, VG_FREE_EXTENTS))
    except ValueError:
        raise ExecutorError("vgdisplay returned an invalid string") from None
    return VgSizes(total=total * extent, free=free * extent, used=used * extent,
                   extent_size=extent)


def parse_pv_report(output: str, vg: str = "") -> tuple[str, str]:
    """(pv_name, pv_uuid) from ``pvs``/``vgs -o pv_name,pv_uuid,vg_name --reportformat=json``.

    With ``vg`` given, the row of that VG is taken; otherwise the first row.
    """
    try:
        report = json.loads(output)["report"]
        rows = [row for entry in report for key in ("pv", "vg") for row in entry.get(key, [])]
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ExecutorError(f"Unable to parse LVM report: {output.strip()[:200]!r}") from None
    for row in rows:
        if not vg or row.get("vg_name") == vg:
            return str(row.get("pv_name", "")), str(row.get("pv_uuid", ""))
    raise ExecutorError(f"No physical volume found{' for ' + vg if vg else ''}")


def parse_symlinks(output: str, device: str) -> list[str]:
    """udev symlinks as ``/dev/...`` paths, the PV-uuid link dropped, ``device`` last."""
    paths = []
    for word in output.split():
        path = word if word.startswith("/") else f"/dev/{word}"
        if not path.startswith(PV_UUID_LINK_PREFIX) and path not in paths:
            paths.append(path)
    if device not in paths:
        paths.append(device)
    return paths


def parse_thin_count(output: str, pool: str, host: str) -> int:
    """``lvs --noheadings --options=thin_count``."""
    try:
        return int(output.strip())
    except ValueError as exc:
        raise ExecutorError(f"Failed to convert number of logical volumes in thin pool "
                            f"{pool} on host {host}: {exc}") from None


def is_not_found(text: str) -> bool:
    """heketi ``errIsLvNotFound``: "not found" / "failed to find" (case-insensitive)."""
    t = text.lower()
    return "not found" in t or "failed to find" in t
