"""Brick create/destroy for ``CmdExecutor`` (heketi ``executors/cmdexec/brick.go``).

Create: all bricks of one call in ONE batch (heketi: one batch per brick, in
parallel); on failure the operation's undo destroys them (one undo layer).

Destroy keeps heketi's order and decisions (umount, or "not mounted" per the
``mount`` table; fstab entry; brick LV; thin pool only when its thin_count is
0; mount point) in ONE batch per node whatever the number of bricks (see
``destroy_bricks``).
"""

from __future__ import annotations

import logging

from pyketi.executors import commands as C
from pyketi.executors.base import BrickRequest, ExecutorError
from pyketi.executors.cmd.runner import HostRunner, first_failure
from pyketi.executors.commands.lvm_output import is_not_found, parse_thin_count
from pyketi.executors.transports.base import Command

log = logging.getLogger("pyketi.executors")


async def create_bricks(runner: HostRunner, host: str, bricks: list[BrickRequest]) -> None:
    cfg = runner.config
    batch: list[Command] = []
    for brick in bricks:  # builds (and validates) everything first
        batch += C.brick_create(cfg, brick)
    # a failure leaves what was made to the operation's undo (bricks_destroy of them all)
    results = await runner.run(host, batch, cfg.brick_create_timeout)
    failed = first_failure(batch, results)
    if failed is not None:
        raise ExecutorError(failed.error_text, host)


async def destroy_bricks(runner: HostRunner, host: str,
                         bricks: list[BrickRequest]) -> list[bool]:
    """Returns per brick whether its thin pool was removed; raises the first error.

    ONE batch for all the bricks of the node, every command unchecked, in
    heketi's order phase by phase: umount, the mount table, fstab lines, brick
    LVs, thin pools that hold no LV any more, what is left of each pool, mount
    points. heketi's decisions are read from the results afterwards; the ones
    it made between commands are made on the node instead:

    * a brick still mounted (umount failed, and the mount table lists it) is an
      error, and nothing of it is removed: LVM refuses to remove an LV in use,
      its pool then still holds that LV, ``rmdir`` of a mount point fails. Only
      its fstab line is gone (heketi keeps it); the retry of the operation
      finishes the brick whether the node rebooted meanwhile or not;
    * a thin pool is removed only when it holds no thin LV (``--select
      thin_count=0``, LVM's own check under its lock).

    Every command is idempotent: a batch cut short (timeout, lost connection)
    is finished by running it again (the retry or the undo of the operation).
    """
    if not bricks:
        return []
    cfg, n = runner.config, len(bricks)
    fstab = [(i, cmd) for i, b in enumerate(bricks) if (cmd := C.brick_fstab_remove(cfg, b))]
    batch = ([C.brick_umount(b) for b in bricks] + [C.mount_table()]
             + [cmd for _, cmd in fstab]
             + [C.brick_lv_remove(cfg, b) for b in bricks]
             + [C.thin_pool_remove_if_empty(cfg, b) for b in bricks]
             + [C.thin_pool_count(cfg, b) for b in bricks]
             + [C.brick_rmdir(b) for b in bricks])
    res = await runner.run(host, batch, cfg.lvm_timeout)
    if len(res) < len(batch):  # no command is checked: every one must have run
        raise ExecutorError(f"brick destroy on {host} ran {len(res)} of {len(batch)} commands",
                            host)
    umounts, table = res[:n], res[n]
    at = n + 1
    fstab_res, at = res[at:at + len(fstab)], at + len(fstab)
    lv_res, at = res[at:at + n], at + n
    pool_res, at = res[at:at + n], at + n
    count_res = res[at:at + n]
    errors: dict[int, str] = {}

    # umount: a failure is fine if the mount point is not in the mount table
    mounts = table.stdout if table.ok else None
    for i, brick in enumerate(bricks):
        mounted = mounts is None or f" on {C.brick_mount(brick)} " in mounts
        if not umounts[i].ok and mounted:
            errors[i] = umounts[i].error_text
    for (i, _), r in zip(fstab, fstab_res):
        if not r.ok:
            errors.setdefault(i, r.error_text)
    for i, removed in enumerate(lv_res):
        if not removed.ok and not is_not_found(removed.error_text):
            errors.setdefault(i, removed.error_text)

    # the pool: gone ("not found") = reclaimed; still there = in use by another LV
    reclaimed = [False] * n
    for i, brick in enumerate(bricks):
        pool, count = f"{brick.vg}/{brick.thin_pool}", count_res[i]
        if count.ok:
            try:
                left = parse_thin_count(count.stdout, pool, host)
            except ExecutorError as exc:
                errors.setdefault(i, str(exc))
                continue
            if left == 0 and i not in errors:
                log.error("host %s: removing thin pool of brick %s: %s", host, brick.id,
                          pool_res[i].error_text if not pool_res[i].ok
                          else "the pool is still there")
        elif is_not_found(count.error_text):
            reclaimed[i] = True
        else:
            errors.setdefault(i, f"Unable to determine number of logical volumes in "
                                 f"thin pool {pool} on host {host}")
    if errors:
        raise ExecutorError(errors[min(errors)], host)
    return reclaimed
