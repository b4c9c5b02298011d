"""Command prefixes and node paths shared by the command builders.

heketi: ``executors/cmdexec/cmdexec.go`` (``glusterCommand``, ``lvmCommand``,
``udevadmCommand``) and ``pkg/paths/paths.go``.
"""

from __future__ import annotations

from pyketi.executors.config import ExecConfig
from pyketi.node_paths import MOUNT_ROOT, device_mount_parent  # noqa: F401 - re-exported

LVM = "/usr/sbin/lvm"
UDEVADM = "/usr/bin/udevadm"
# paths managed by glusterd (clone bricks): no fstab entry (brick.go removeBrickFromFstab)
GLUSTERD_MANAGED_PREFIXES = ("/run/gluster/", "/var/run/gluster/")


def gluster(cfg: ExecConfig) -> tuple[str, ...]:
    """``G`` = ``gluster --mode=script --timeout=<gluster_cli_timeout>``."""
    return ("gluster", "--mode=script", f"--timeout={cfg.gluster_cli_timeout}")


def lvm(cfg: ExecConfig) -> tuple[str, ...]:
    """``L`` = ``[<lvm_wrapper>] /usr/sbin/lvm``."""
    return (*cfg.lvm_wrapper_argv, LVM)


def udevadm(cfg: ExecConfig) -> tuple[str, ...]:
    """``U`` = ``[<lvm_wrapper>] /usr/bin/udevadm``."""
    return (*cfg.lvm_wrapper_argv, UDEVADM)


def vg_name(device_id: str) -> str:
    return f"vg_{device_id}"


def pv_uuid_path(pv_uuid: str) -> str:
    """Stable udev path of a PV: ``/dev/disk/by-id/lvm-pv-uuid-<UUID>``."""
    return f"/dev/disk/by-id/lvm-pv-uuid-{pv_uuid}"
