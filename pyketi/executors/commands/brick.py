"""Brick commands (heketi ``executors/cmdexec/brick.go``), spec §6.4 / §6.5."""

from __future__ import annotations

import posixpath

from pyketi.executors import validate as V
from pyketi.executors.base import BrickRequest, ExecutorError
from pyketi.executors.commands.base import GLUSTERD_MANAGED_PREFIXES, lvm
from pyketi.executors.config import ExecConfig
from pyketi.executors.transports.base import Command

ARBITER_CHUNKSIZE = "256K"
MAX_GID = 2**31 - 2  # api: gid >= 2147483647 is refused


def check_brick_request(b: BrickRequest) -> BrickRequest:
    """Refuse a brick whose names, paths or sizes could not come from heketi."""
    V.check_id(b.id, "brick id")
    V.check_id(b.device_id, "device id")
    V.check_lv_name(b.thin_pool)
    V.check_lv_name(b.lv)
    V.check_path(b.brick_path, "brick path")
    V.check_int(b.gid, "gid", minimum=0, maximum=MAX_GID)
    for name in ("size_kib", "tp_size_kib", "pool_metadata_kib"):
        V.check_int(getattr(b, name), name, minimum=1)
    if b.tp_size_kib < b.size_kib:
        raise ExecutorError(f"invalid brick {b.id}: thin pool size {b.tp_size_kib}K "
                            f"smaller than brick size {b.size_kib}K")
    return b


def brick_mount(b: BrickRequest) -> str:
    """Mount point M: the brick path's parent (paths.BrickMountFromPath)."""
    return posixpath.dirname(b.brick_path) if b.path else b.mount_point


def device_node(b: BrickRequest) -> str:
    """``/dev/mapper/<vg>-<lv>`` (device-mapper doubles '-' inside names)."""
    return f"/dev/mapper/{b.vg.replace('-', '--')}-{b.lv.replace('-', '--')}"


def _mkfs(cfg: ExecConfig, b: BrickRequest) -> Command:
    inode = "maxpct=100" if b.arbiter else "size=512"
    stripe = ["-d", f"su={cfg.xfs_su},sw={cfg.xfs_sw}"] if cfg.xfs_su and cfg.xfs_sw else []
    return Command.of("mkfs.xfs", "-i", inode, *stripe, "-n", "size=8192", "--", device_node(b))


def brick_create(cfg: ExecConfig, b: BrickRequest) -> list[Command]:
    """The brick-create batch, in heketi's order (spec §6.4).

    The fstab line is appended by ``awk`` exactly as heketi does, so the line
    in fstab is byte-identical; its program is one argv token.
    """
    check_brick_request(b)
    mount, dev = brick_mount(b), device_node(b)
    chunk = ARBITER_CHUNKSIZE if b.arbiter else cfg.lv_chunksize
    fstab_line = f"{dev} {mount} xfs {cfg.mountopts} 1 2"
    cmds = [
        Command.of("mkdir", "-p", "--", mount),
        Command.of(*lvm(cfg), "lvcreate", "-qq", f"--autobackup={cfg.autobackup}",
                   "--poolmetadatasize", f"{b.pool_metadata_kib}K",
                   "--chunksize", chunk, "--size", f"{b.tp_size_kib}K", "--thin",
                   "--virtualsize", f"{b.size_kib}K", "--name", b.lv,
                   "--", f"{b.vg}/{b.thin_pool}"),
        _mkfs(cfg, b),
        Command.of("awk", "--", f'BEGIN {{print "{fstab_line}" >> "{cfg.fstab}"}}'),
        Command.of("mount", "-o", cfg.mountopts, "--", dev, mount),
        Command.of("mkdir", "--", b.brick_path),
    ]
    if b.gid != 0:
        cmds.append(Command.of("chown", "--", f":{b.gid}", b.brick_path))
        cmds.append(Command.of("chmod", "--", "2775", b.brick_path))
    return cmds


# -- destroy: the pieces of one batch (``executors.cmd.bricks`` orders them) ---

def brick_umount(b: BrickRequest) -> Command:
    return Command.of("umount", "--", brick_mount(check_brick_request(b)), check=False)


def mount_table() -> Command:
    """``mount``: tells whether a failed umount means "not mounted"."""
    return Command.of("mount", check=False)


def brick_fstab_remove(cfg: ExecConfig, b: BrickRequest) -> Command | None:
    """``sed -i.save "/brick_<id>/d" <fstab>``; None for glusterd-managed paths."""
    check_brick_request(b)
    if b.brick_path.startswith(GLUSTERD_MANAGED_PREFIXES):
        return None
    return Command.of("sed", "-i.save", "--", f"/brick_{b.id}/d", cfg.fstab, check=False)


def brick_lv_remove(cfg: ExecConfig, b: BrickRequest) -> Command:
    check_brick_request(b)
    return Command.of(*lvm(cfg), "lvremove", f"--autobackup={cfg.autobackup}", "-f", "--",
                      f"{b.vg}/{b.lv}", check=False)


def thin_pool_count(cfg: ExecConfig, b: BrickRequest) -> Command:
    check_brick_request(b)
    return Command.of(*lvm(cfg), "lvs", "--noheadings", "--options=thin_count", "--",
                      f"{b.vg}/{b.thin_pool}", check=False)


def thin_pool_remove_if_empty(cfg: ExecConfig, b: BrickRequest) -> Command:
    """Remove the brick's thin pool only if it holds no thin LV (``--select
    thin_count=0``: LVM checks and removes under its VG lock, in one command).

    heketi counts the pool's thin LVs (``thin_pool_count``) and removes it when
    the count is 0, two commands and a decision in between; the selection makes
    the same decision on the node, so a whole brick destroy is one batch. A pool
    that still holds an LV (a clone's) is not selected: nothing is removed and
    the status is 0."""
    check_brick_request(b)
    return Command.of(*lvm(cfg), "lvremove", f"--autobackup={cfg.autobackup}", "-f",
                      "--select", "thin_count=0", "--", f"{b.vg}/{b.thin_pool}", check=False)


def brick_rmdir(b: BrickRequest) -> Command:
    return Command.of("rmdir", "--", brick_mount(check_brick_request(b)), check=False)


def brick_destroy(cfg: ExecConfig, b: BrickRequest) -> list[Command]:
    """All of §6.5 in order, as one batch: umount, fstab line, brick LV, the thin
    pool if it is empty (``thin_pool_remove_if_empty``), what is left of the
    pool (``thin_pool_count``: "not found" = reclaimed), the mount point."""
    fstab = brick_fstab_remove(cfg, b)
    return [brick_umount(b), *([fstab] if fstab else []), brick_lv_remove(cfg, b),
            thin_pool_remove_if_empty(cfg, b), thin_pool_count(cfg, b), brick_rmdir(b)]
