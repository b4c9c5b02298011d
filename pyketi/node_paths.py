"""Where heketi keeps bricks on a storage node (heketi ``pkg/paths/paths.go``): the one
definition used by placement (brick rows), the command builders and the import."""

MOUNT_ROOT = "/var/lib/heketi/mounts"


def device_mount_parent(device_id: str) -> str:
    """``/var/lib/heketi/mounts/vg_<device id>`` (paths.BrickMountPointParent)."""
    return f"{MOUNT_ROOT}/vg_{device_id}"


def brick_mount_point(device_id: str, brick_id: str) -> str:
    return f"{device_mount_parent(device_id)}/brick_{brick_id}"


def brick_path(device_id: str, brick_id: str) -> str:
    """The brick directory gluster serves: ``<mount point>/brick``."""
    return f"{brick_mount_point(device_id, brick_id)}/brick"
