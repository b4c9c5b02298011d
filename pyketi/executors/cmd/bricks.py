"""Brick create/destroy for ``CmdExecutor`` (heketi ``executors/cmdexec/brick.go``).

Create: all bricks of one call in ONE batch (heketi: one batch per brick, in
parallel); on failure the operation's undo destroys them (one undo layer).

Destroy keeps heketi's order and decisions (umount, or "not mounted" per the
``mount`` table; fstab entry; brick LV; thin pool only when its thin_count is
0; mount point) but runs each step for all bricks in one batch: four
batches whatever the number of bricks.
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
    """Returns per brick whether its thin pool was removed; raises the first error."""
    if not bricks:
        return []
    cfg, timeout = runner.config, runner.config.lvm_timeout
    errors: dict[int, str] = {}

    def live() -> list[int]:
        return [i for i in range(len(bricks)) if i not in errors]

    # 1. umount; a failure is fine if the mount point is not in the mount table
    res = await runner.run(host, [C.brick_umount(b) for b in bricks] + [C.mount_table()], timeout)
    table = res[-1].stdout if res[-1].ok else None
    for i, brick in enumerate(bricks):
        mounted = table is None or f" on {C.brick_mount(brick)} " in table
        if not res[i].ok and mounted:
            errors[i] = res[i].error_text

    # 2. fstab entry (before any LVM change: the node must stay bootable)
    fstab = [(i, cmd) for i in live() if (cmd := C.brick_fstab_remove(cfg, bricks[i]))]
    res = await runner.run(host, [cmd for _, cmd in fstab], timeout)
    for (i, _), r in zip(fstab, res):
        if not r.ok:
            errors[i] = r.error_text

    # 3. brick LVs, then how many thin LVs each pool still holds
    idx = live()
    res = await runner.run(host, [C.brick_lv_remove(cfg, bricks[i]) for i in idx]
                           + [C.thin_pool_count(cfg, bricks[i]) for i in idx], timeout)
    counts: dict[int, int] = {}
    for k, i in enumerate(idx):
        removed, count = res[k], res[len(idx) + k]
        pool = f"{bricks[i].vg}/{bricks[i].thin_pool}"
        if not removed.ok and not is_not_found(removed.error_text):
            errors[i] = removed.error_text
        elif count.ok:
            try:
                counts[i] = parse_thin_count(count.stdout, pool, host)
            except ExecutorError as exc:
                errors[i] = str(exc)
        elif is_not_found(count.error_text):
            counts[i] = 0  # the pool is gone: it holds nothing
        else:
            errors[i] = (f"Unable to determine number of logical volumes in "
                         f"thin pool {pool} on host {host}")

    # 4. unused thin pools, then the mount points (errors only logged)
    idx = live()
    pools = [i for i in idx if counts[i] == 0]
    res = await runner.run(host, [C.thin_pool_remove(cfg, bricks[i]) for i in pools]
                           + [C.brick_rmdir(bricks[i]) for i in idx], timeout)
    reclaimed = [False] * len(bricks)
    for k, i in enumerate(pools):
        reclaimed[i] = res[k].ok or is_not_found(res[k].error_text)
        if not reclaimed[i]:
            log.error("host %s: removing thin pool of brick %s: %s",
                      host, bricks[i].id, res[k].error_text)
    if errors:
        raise ExecutorError(errors[min(errors)], host)
    return reclaimed
