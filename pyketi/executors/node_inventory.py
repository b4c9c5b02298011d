"""What a node holds under pyketi's names (for drift examine/repair), and the
two node commands a repair needs besides the usual brick ones.

* ``inventory(executor, host)``: LVs and thin pools of ``vg_*`` VGs, brick
  mounts (``/proc/mounts``), brick fstab lines and brick directories under
  ``/var/lib/heketi/mounts``, in one batch;
* ``volume_names(executor, host)``: ``gluster volume list``;
* ``reset_brick(executor, host, volume, brick)``: ``gluster volume reset-brick
  <vol> <brick> <brick> commit force`` (a brick recreated at the same path).

``CmdExecutor`` runs real commands (argv lists, fixed words only: no user
value reaches these commands except the volume and brick, which are checked
like every gluster argument); ``MockExecutor`` answers from its fake node state.
"""

from __future__ import annotations

from pyketi.db.repair import MOUNT_RE, LvInfo, NodeInventory
from pyketi.executors import validate as V
from pyketi.executors.base import Executor, ExecutorError
from pyketi.executors.cmd.executor import CmdExecutor
from pyketi.executors.cmd.runner import first_failure
from pyketi.executors.commands.base import MOUNT_ROOT, gluster, lvm
from pyketi.executors.doubles.mock import MockExecutor
from pyketi.executors.transports.base import Command

LVS_FIELDS = "vg_name,lv_name,pool_lv,lv_size,lv_metadata_size"


def inventory_commands(cfg) -> list[Command]:
    return [
        Command.of(*lvm(cfg), "lvs", "--noheadings", "--units", "k", "--nosuffix",
                   "--separator", "|", "-o", LVS_FIELDS, check=False),
        Command.of("cat", "--", "/proc/mounts"),
        Command.of("cat", "--", cfg.fstab, check=False),
        Command.of("find", MOUNT_ROOT, "-mindepth", "2", "-maxdepth", "2", "-type", "d",
                   "-name", "brick_*", check=False),
    ]


def _kib(text: str) -> int:
    try:
        return int(float(text.strip() or 0))
    except ValueError:
        return 0


def parse_lvs(out: str) -> dict[tuple[str, str], LvInfo]:
    lvs = {}
    for line in out.splitlines():
        cols = [c.strip() for c in line.split("|")]
        if len(cols) < 5 or not cols[0].startswith("vg_"):
            continue
        lvs[(cols[0], cols[1])] = LvInfo(cols[2], _kib(cols[3]), _kib(cols[4]))
    return lvs


def _mount_points(out: str, column: int) -> set[str]:
    points = set()
    for line in out.splitlines():
        cols = line.split()
        if len(cols) > column and MOUNT_RE.match(cols[column]):
            points.add(cols[column])
    return points


def parse_inventory(host: str, outputs: list[str]) -> NodeInventory:
    lvs_out, mounts_out, fstab_out, find_out = (outputs + ["", "", "", ""])[:4]
    return NodeInventory(
        host=host, lvs=parse_lvs(lvs_out), mounts=_mount_points(mounts_out, 1),
        fstab=_mount_points("\n".join(line for line in fstab_out.splitlines()
                                      if not line.lstrip().startswith("#")), 1),
        dirs={p.strip() for p in find_out.splitlines() if MOUNT_RE.match(p.strip())})


def _mock_inventory(ex: MockExecutor, host: str) -> NodeInventory:
    if host in ex.unreachable_hosts:
        raise ExecutorError(f"Unable to connect to {host}: connection refused", host)
    rec = ex.state()["hosts"].get(host, {})
    inv = NodeInventory(host=host)
    for key, pool in rec.get("pools", {}).items():
        vg, name = key.split("/", 1)
        inv.lvs[(vg, name)] = LvInfo("", pool["size_kib"], pool["metadata_kib"])
    for brick in rec.get("bricks", {}).values():
        inv.lvs[(brick["vg"], brick["lv"])] = LvInfo(brick["tp"], brick["size_kib"], 0)
        inv.mounts.add(brick["mount"])
        inv.fstab.add(brick["mount"])
        inv.dirs.add(brick["mount"])
    return inv


async def inventory(ex: Executor, host: str) -> NodeInventory:
    if isinstance(ex, MockExecutor):
        return _mock_inventory(ex, host)
    if not isinstance(ex, CmdExecutor):
        raise ExecutorError(f"{type(ex).__name__} cannot list LVM and mounts", host)
    cmds = inventory_commands(ex.config)
    results = await ex.runner.run(host, cmds, ex.config.lvm_timeout)
    failed = first_failure(cmds, results)
    if failed is not None:
        raise ExecutorError(failed.error_text, host)
    if not results[0].ok:
        raise ExecutorError(f"lvs failed: {results[0].error_text}", host)
    return parse_inventory(host, [r.stdout for r in results])


async def volume_names(ex: Executor, host: str) -> list[str]:
    if isinstance(ex, MockExecutor):
        if host in ex.unreachable_hosts:
            raise ExecutorError(f"Unable to connect to {host}: connection refused", host)
        return sorted(ex.volumes(host))
    if not isinstance(ex, CmdExecutor):
        raise ExecutorError(f"{type(ex).__name__} cannot list gluster volumes", host)
    cmd = Command.of(*gluster(ex.config), "volume", "list")
    results = await ex.runner.run_checked(host, [cmd], ex.config.gluster_batch_timeout)
    out = results[0].stdout
    if "No volumes present" in out:
        return []
    return sorted(line.strip() for line in out.splitlines() if line.strip())


def reset_brick_commands(cfg, volume: str, storage: str, path: str) -> list[Command]:
    """``reset-brick <vol> <brick> start`` (stops the brick process; may fail when it
    is down already), then ``reset-brick <vol> <brick> <brick> commit force``."""
    brick = V.check_brick(storage, path)
    name = V.check_volume_name(volume)
    return [Command.of(*gluster(cfg), "volume", "reset-brick", name, brick, "start",
                       check=False),
            Command.of(*gluster(cfg), "volume", "reset-brick", name, brick, brick,
                       "commit", "force")]


async def reset_brick(ex: Executor, host: str, volume: str, storage: str, path: str) -> None:
    if isinstance(ex, MockExecutor):
        reset_brick_commands(ex._cfg, volume, storage, path)  # validation as on a node
        if host in ex.unreachable_hosts:
            raise ExecutorError(f"Unable to connect to {host}: connection refused", host)
        return
    if not isinstance(ex, CmdExecutor):
        raise ExecutorError(f"{type(ex).__name__} cannot reset a brick", host)
    await ex.runner.run_checked(host, reset_brick_commands(ex.config, volume, storage, path),
                                ex.config.gluster_batch_timeout)
