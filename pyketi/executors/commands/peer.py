"""Node / peer commands (heketi ``executors/cmdexec/peer.go``), spec §6.2."""

from __future__ import annotations

from pyketi.executors import validate as V
from pyketi.executors.commands.base import gluster
from pyketi.executors.config import ExecConfig
from pyketi.executors.transports.base import Command


def glusterd_check() -> list[Command]:
    """``systemctl status glusterd`` (GlusterdCheck)."""
    return [Command.of("systemctl", "status", "glusterd")]


def peer_probe(cfg: ExecConfig, new_node_storage: str) -> list[Command]:
    """``G peer probe <new>`` and, with ``snapshot_limit > 0``, the snapshot limit."""
    V.check_host(new_node_storage, "storage hostname")
    cmds = [Command.of(*gluster(cfg), "peer", "probe", new_node_storage)]
    if cfg.snapshot_limit > 0:
        cmds.append(Command.of(*gluster(cfg), "snapshot", "config",
                               "snap-max-hard-limit", str(cfg.snapshot_limit)))
    return cmds


def peer_detach(cfg: ExecConfig, node_storage: str) -> list[Command]:
    """``G peer detach <node>``."""
    V.check_host(node_storage, "storage hostname")
    return [Command.of(*gluster(cfg), "peer", "detach", node_storage)]
