"""Checks of ``VolumeCapability`` messages (contract §4.1, §8).

Gluster volumes are shared file systems: every access mode from 1 to 5 with
the ``mount`` access type; ``block`` and the alpha single-node modes 6/7
(not advertised) are refused.
"""

from __future__ import annotations

from pyketi.csi.errors import invalid
from pyketi.csi.proto import csi_pb2 as pb

Mode = pb.VolumeCapability.AccessMode
SUPPORTED_MODES = frozenset({
    Mode.SINGLE_NODE_WRITER, Mode.SINGLE_NODE_READER_ONLY, Mode.MULTI_NODE_READER_ONLY,
    Mode.MULTI_NODE_SINGLE_WRITER, Mode.MULTI_NODE_MULTI_WRITER,
})
READ_ONLY_MODES = frozenset({Mode.SINGLE_NODE_READER_ONLY, Mode.MULTI_NODE_READER_ONLY})
MULTI_NODE_MODES = frozenset({Mode.MULTI_NODE_READER_ONLY, Mode.MULTI_NODE_SINGLE_WRITER,
                              Mode.MULTI_NODE_MULTI_WRITER})
FS_TYPES = frozenset({"", "glusterfs"})


def unsupported(cap: pb.VolumeCapability) -> str:
    """Why this well-formed capability cannot be served ('' = it can)."""
    if cap.WhichOneof("access_type") == "block":
        return "block access is not supported: Gluster volumes are file systems"
    if cap.mount.fs_type not in FS_TYPES:
        return f"fs_type {cap.mount.fs_type!r} is not supported (only glusterfs)"
    if cap.access_mode.mode not in SUPPORTED_MODES:
        return f"access mode {Mode.Mode.Name(cap.access_mode.mode)} is not supported"
    return ""


def check_well_formed(cap: pb.VolumeCapability, field: str) -> None:
    """INVALID_ARGUMENT for a capability the spec calls invalid."""
    if cap.WhichOneof("access_type") is None:
        raise invalid(f"{field}: access_type (mount or block) is required")
    if not cap.HasField("access_mode") or cap.access_mode.mode == Mode.UNKNOWN:
        raise invalid(f"{field}: access_mode is required")


def check_all(caps, field: str = "volume_capabilities") -> None:
    """Every capability well formed and supported (CreateVolume)."""
    if not caps:
        raise invalid(f"{field} is required")
    for cap in caps:
        check_well_formed(cap, field)
        reason = unsupported(cap)
        if reason:
            raise invalid(f"{field}: {reason}")
