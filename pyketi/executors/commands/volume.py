"""Gluster volume commands (heketi ``executors/cmdexec/volume.go``,
``snapshot.go``), spec §6.6.

heketi formats ``"replica 3 "``-style fragments into one shell string; here
each word is its own argv token, so ``shlex.join`` of a command equals
heketi's line (minus heketi's trailing blank after the brick list).
"""

from __future__ import annotations

from pyketi.executors import validate as V
from pyketi.executors.base import ExecutorError, VolumeRequest
from pyketi.executors.commands.base import gluster
from pyketi.executors.config import ExecConfig
from pyketi.executors.transports.base import Command

# bricks per add-brick command = bricks_per_set * k (createAddBrickCommands)
SETS_PER_ADD_BRICK = {"none": 15, "replicate": 5, "disperse": 1}
HEKETI_ID_OPTION = "user.heketi.id"


def check_volume_request(vol: VolumeRequest, need_bricks: bool = True) -> VolumeRequest:
    V.check_volume_name(vol.name)
    V.check_id(vol.id, "volume id")
    if vol.durability not in SETS_PER_ADD_BRICK:
        raise ExecutorError(f"invalid durability: {vol.durability!r}")
    if vol.durability == "replicate":
        V.check_int(vol.replica, "replica", minimum=1)
        if vol.arbiter and vol.replica != 3:
            raise ExecutorError("invalid volume: arbiter needs replica 3")
    elif vol.arbiter:
        raise ExecutorError("invalid volume: arbiter needs a replicate volume")
    if vol.durability == "disperse":
        V.check_int(vol.disperse_data, "disperse data", minimum=1)
        V.check_int(vol.disperse_redundancy, "disperse redundancy", minimum=1)
    if need_bricks:
        brick_specs(vol.bricks, vol.bricks_per_set)
    return vol


def brick_specs(bricks: list[tuple[str, str]], per_set: int) -> list[str]:
    """``host:path`` words; the list must hold whole brick sets."""
    if not bricks or len(bricks) % per_set:
        raise ExecutorError(f"invalid brick list: {len(bricks)} bricks for sets of {per_set}")
    return [V.check_brick(host, path) for host, path in bricks]


def _add_bricks(cfg: ExecConfig, name: str, specs: list[str], chunk: int) -> list[Command]:
    return [Command.of(*gluster(cfg), "volume", "add-brick", name, *specs[i:i + chunk])
            for i in range(0, len(specs), chunk)]


def _durability_words(vol: VolumeRequest) -> list[str]:
    if vol.durability == "replicate":
        return ["replica", str(vol.replica)] + (["arbiter", "1"] if vol.arbiter else [])
    if vol.durability == "disperse":
        return ["disperse-data", str(vol.disperse_data),
                "redundancy", str(vol.disperse_redundancy)]
    return []


def volume_options(cfg: ExecConfig, vol: VolumeRequest) -> list[Command]:
    """One ``volume set`` per non-blank option, then ``user.heketi.id <id>``."""
    check_volume_request(vol, need_bricks=False)
    cmds = []
    for option in vol.options:
        parsed = V.parse_volume_option(option)
        if parsed:
            cmds.append(Command.of(*gluster(cfg), "volume", "set", vol.name, *parsed))
    cmds.append(Command.of(*gluster(cfg), "volume", "set", vol.name, HEKETI_ID_OPTION, vol.id))
    return cmds


def volume_create(cfg: ExecConfig, vol: VolumeRequest) -> list[Command]:
    """create (first brick set) + add-brick chunks + options + start (VolumeCreate)."""
    check_volume_request(vol)
    per_set = vol.bricks_per_set
    specs = brick_specs(vol.bricks, per_set)
    create = Command.of(*gluster(cfg), "volume", "create", vol.name,
                        *_durability_words(vol), *specs[:per_set])
    adds = _add_bricks(cfg, vol.name, specs[per_set:],
                       per_set * SETS_PER_ADD_BRICK[vol.durability])
    start = Command.of(*gluster(cfg), "volume", "start", vol.name)
    return [create, *adds, *volume_options(cfg, vol), start]


def volume_expand(cfg: ExecConfig, vol: VolumeRequest, new_bricks: list[tuple[str, str]],
                  rebalance: bool = True) -> list[Command]:
    """add-brick chunks of the new bricks, then ``rebalance start`` (not checked)."""
    check_volume_request(vol, need_bricks=False)
    per_set = vol.bricks_per_set
    cmds = _add_bricks(cfg, vol.name, brick_specs(new_bricks, per_set),
                       per_set * SETS_PER_ADD_BRICK[vol.durability])
    if rebalance:
        cmds.append(Command.of(*gluster(cfg), "volume", "rebalance", vol.name, "start",
                               check=False))
    return cmds


def volume_destroy(cfg: ExecConfig, name: str) -> list[Command]:
    """``volume stop <v> force`` (failure ignored), ``volume delete <v>``."""
    V.check_volume_name(name)
    return [Command.of(*gluster(cfg), "volume", "stop", name, "force", check=False),
            Command.of(*gluster(cfg), "volume", "delete", name)]


def volume_info(cfg: ExecConfig, name: str) -> Command:
    return Command.of(*gluster(cfg), "volume", "info", V.check_volume_name(name), "--xml")


def volume_heal_info(cfg: ExecConfig, name: str) -> Command:
    return Command.of(*gluster(cfg), "volume", "heal", V.check_volume_name(name), "info", "--xml")


def volume_replace_brick(cfg: ExecConfig, name: str, old: tuple[str, str],
                         new: tuple[str, str]) -> Command:
    return Command.of(*gluster(cfg), "volume", "replace-brick", V.check_volume_name(name),
                      V.check_brick(*old), V.check_brick(*new), "commit", "force")


# -- clone (snapshot.go) ----------------------------------------------------

def _gx(cfg: ExecConfig, *words: str) -> Command:
    """``G --xml <words>``."""
    return Command.of(*gluster(cfg), "--xml", *words)


def snapshot_create(cfg: ExecConfig, snap: str, volume: str) -> Command:
    return _gx(cfg, "snapshot", "create", V.check_volume_name(snap),
               V.check_volume_name(volume), "no-timestamp")


def snapshot_activate(cfg: ExecConfig, snap: str) -> Command:
    return _gx(cfg, "snapshot", "activate", V.check_volume_name(snap))


def snapshot_clone(cfg: ExecConfig, clone: str, snap: str) -> Command:
    return _gx(cfg, "snapshot", "clone", V.check_volume_name(clone), V.check_volume_name(snap))


def volume_start_xml(cfg: ExecConfig, name: str) -> Command:
    return _gx(cfg, "volume", "start", V.check_volume_name(name))


def snapshot_deactivate(cfg: ExecConfig, snap: str) -> Command:
    return _gx(cfg, "snapshot", "deactivate", V.check_volume_name(snap))


def snapshot_delete(cfg: ExecConfig, snap: str) -> Command:
    return _gx(cfg, "snapshot", "delete", V.check_volume_name(snap))


def volume_clone(cfg: ExecConfig, name: str, clone: str, snap: str) -> list[Command]:
    """The clone sequence in order (the executor runs it step by step)."""
    return [snapshot_create(cfg, snap, name), snapshot_activate(cfg, snap),
            snapshot_clone(cfg, clone, snap), volume_start_xml(cfg, clone),
            snapshot_deactivate(cfg, snap), volume_info(cfg, clone),
            snapshot_delete(cfg, snap)]
