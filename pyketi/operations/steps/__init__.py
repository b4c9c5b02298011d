"""Every node-touching step, registered in ONE explicit list (as glusterd2's
``registerVolCreateStepFuncs``).

The names are stored in ``Operation.spec``: a step may be renamed only with an
entry in ``ALIASES`` (old name -> new), so that operations recorded before an
upgrade can still be undone (or finished) by the cleaner.

Adding a step: write it in the module of its kind of object (``bricks``,
``volumes``, ``devices``, ``peers``), with its argument dataclass, then list it
here with its undo (and a ``resume`` when it cannot be undone once it took
effect). Every do and undo must be idempotent. ``tests/recovery/test_kill_every_step.py``
kills the server at every step of every kind and fails for a step it never reaches.
"""

from __future__ import annotations

from pyketi.operations.steps import bricks, devices, peers, volumes
from pyketi.operations.steps.base import Step, StepArgs, StepContext, StepDef

__all__ = ["ALIASES", "STEPS", "Step", "StepArgs", "StepContext", "StepDef", "definition",
           "load"]

STEPS: dict[str, StepDef] = {
    # bricks
    "bricks_create": StepDef(bricks.BrickHosts, bricks.create, undo=bricks.destroy,
                             touches=lambda a: list(a.hosts)),
    "bricks_destroy": StepDef(bricks.BrickHosts, bricks.destroy),
    "bricks_destroy_quietly": StepDef(bricks.BrickHosts, bricks.destroy_quietly),
    "bricks_destroy_when_back": StepDef(bricks.BrickHosts, bricks.destroy_when_back,
                                        touches=lambda a: list(a.hosts)),
    "brick_replace": StepDef(bricks.BrickReplace, bricks.replace, undo=bricks.replace_back,
                             resume=bricks.replace_resume),
    "brick_heal_check": StepDef(bricks.HealCheck, bricks.heal_check),
    # gluster volumes
    "volume_create": StepDef(volumes.VolumeCreate, volumes.create, undo=volumes.destroy,
                             touches=lambda a: a.hosts[:1]),
    "volume_destroy": StepDef(volumes.VolumeDestroy, volumes.destroy),
    "volume_expand": StepDef(volumes.VolumeExpand, volumes.expand,
                             touches=lambda a: [a.host], resume=volumes.expand_resume),
    "volume_clone": StepDef(volumes.VolumeClone, volumes.clone, undo=volumes.destroy),
    # devices
    "device_setup": StepDef(devices.DeviceSetup, devices.setup, undo=devices.teardown_forced,
                            touches=lambda a: [a.host]),
    "device_teardown": StepDef(devices.DeviceTeardown, devices.teardown),
    "device_info": StepDef(devices.DeviceInfoArgs, devices.info),
    # trusted storage pool
    "peer_probe": StepDef(peers.Peer, peers.probe, undo=peers.detach,
                          touches=lambda a: [a.host]),
    "peer_detach": StepDef(peers.Peer, peers.detach_quietly),
}

# stored name -> current name, for steps renamed after operations were recorded
ALIASES: dict[str, str] = {}


def definition(name: str) -> StepDef:
    return STEPS[ALIASES.get(name, name)]


def load(stored: list[dict]) -> list[Step]:
    """Steps as stored in ``Operation.spec["steps"]`` -> typed steps."""
    return [Step(st["name"], definition(st["name"]).args.from_json(st["args"]))
            for st in stored]
