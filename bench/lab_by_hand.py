"""The node commands of a volume create / expand / delete "by hand": the same
commands pyketi sends (built by ``pyketi.executors.commands``), one ``exec`` per
command over ONE SSH connection per node (opened before the clock starts), the
nodes' brick commands at the same time (one operator per node), the gluster
commands on the first node.  No database, no API, no decision between
commands: on the VM lab this is the time the nodes themselves need, the floor
under any program that drives them.

Used by ``bench/lab_bench.py`` (``--by-hand-rounds``); the bricks go on the
devices pyketi set up (their VGs), under ids of their own.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import defaultdict
from dataclasses import dataclass, field

from pyketi.executors import commands as C
from pyketi.executors.base import BrickRequest, ExecutorError, VolumeRequest
from pyketi.executors.config import ExecConfig
from pyketi.executors.transports.base import Command
from pyketi.placement.sizes import space_needed
from pyketi.units import GIB_KIB

EXTENT_KIB = 4096


@dataclass
class ByHand:
    """``transport``: an ``SshTransport`` of its own; ``nodes``: manage/storage
    address -> VG device id to put that node's bricks on."""

    transport: object
    nodes: dict[str, str]
    config: ExecConfig = field(default_factory=ExecConfig)
    timeout: float = 900.0
    # command kind ("lvcreate", "volume create", ...) -> seconds of each run
    per_command: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    async def connect(self) -> None:
        """Open the connections before anything is timed."""
        await asyncio.gather(*(self.transport.run_batch(h, [Command.of("true")], 60)
                               for h in self.nodes))

    async def _run(self, host: str, cmd: Command) -> None:
        t0 = time.monotonic()
        [res] = await self.transport.run_batch(host, [cmd], self.timeout)
        self.per_command[kind(cmd)].append(time.monotonic() - t0)
        if not res.ok and cmd.check:
            raise ExecutorError(f"{host}: {' '.join(cmd.argv)}: {res.error_text}", host)

    async def _sequence(self, host: str, cmds: list[Command]) -> None:
        for cmd in cmds:
            await self._run(host, cmd)

    def _bricks(self, size_gib: int) -> dict[str, BrickRequest]:
        size = size_gib * GIB_KIB
        need = space_needed(size, 1.0, EXTENT_KIB)
        return {host: BrickRequest(id=secrets.token_hex(16), device_id=dev, node_storage=host,
                                   size_kib=size, tp_size_kib=need.tp_size_kib,
                                   pool_metadata_kib=need.pool_metadata_kib)
                for host, dev in self.nodes.items()}

    async def _make_bricks(self, bricks: dict[str, BrickRequest]) -> None:
        await asyncio.gather(*(self._sequence(h, C.brick_create(self.config, b))
                               for h, b in bricks.items()))

    async def create(self, size_gib: int) -> "HandVolume":
        """Bricks on every node at once, then create + user.heketi.id + start."""
        bricks = self._bricks(size_gib)
        vol_id = secrets.token_hex(16)
        vol = HandVolume(VolumeRequest(
            name=f"byhand_{vol_id[:8]}", id=vol_id, durability="replicate", replica=3,
            bricks=[(b.node_storage, b.brick_path) for b in bricks.values()]),
            list(bricks.items()))
        await self._make_bricks(bricks)
        await self._sequence(self.first, C.volume_create(self.config, vol.request))
        return vol

    async def expand(self, vol: "HandVolume", size_gib: int) -> None:
        """A new brick set (one brick per node), add-brick, rebalance start."""
        bricks = self._bricks(size_gib)
        new = [(b.node_storage, b.brick_path) for b in bricks.values()]
        await self._make_bricks(bricks)
        await self._sequence(self.first, C.volume_expand(self.config, vol.request, new))
        vol.request.bricks += new
        vol.bricks += list(bricks.items())

    async def delete(self, vol: "HandVolume") -> None:
        """stop + delete on the first node, then every node's bricks at once."""
        await self._sequence(self.first, C.volume_destroy(self.config, vol.request.name))
        per_host: dict[str, list[Command]] = defaultdict(list)
        for host, brick in vol.bricks:
            per_host[host] += C.brick_destroy(self.config, brick)
        await asyncio.gather(*(self._sequence(h, cmds) for h, cmds in per_host.items()))

    @property
    def first(self) -> str:
        return next(iter(self.nodes))


@dataclass
class HandVolume:
    request: VolumeRequest
    bricks: list[tuple[str, BrickRequest]]


def kind(cmd: Command) -> str:
    """A command's kind for the per-command table: tool and sub-command."""
    argv = [a for a in cmd.argv if not a.startswith("-")]
    if argv[0] == "gluster":
        return " ".join(argv[1:3])
    if argv[0].endswith("/lvm"):
        return "lvremove (pool if empty)" if "--select" in cmd.argv else (
            "lvremove" if argv[1] == "lvremove" else argv[1])
    return argv[0]
