"""Device steps: set up (pvcreate/vgcreate), tear down, read sizes."""

from __future__ import annotations

from dataclasses import dataclass

from pyketi.executors.base import DeviceInfo
from pyketi.operations.steps.base import StepArgs, StepContext


@dataclass
class DeviceSetup(StepArgs):
    host: str
    name: str
    id: str
    destroydata: bool = False


@dataclass
class DeviceTeardown(StepArgs):
    host: str
    name: str
    id: str
    pv_uuid: str = ""
    force: bool = False


@dataclass
class DeviceInfoArgs(StepArgs):
    host: str
    name: str
    id: str
    pv_uuid: str = ""


async def setup(ctx: StepContext, args: DeviceSetup) -> DeviceInfo:
    return await ctx.executor.device_setup(args.host, args.name, args.id, args.destroydata)


async def teardown(ctx: StepContext, args: DeviceTeardown) -> None:
    await ctx.executor.device_teardown(args.host, args.name, args.id, args.pv_uuid, args.force)


async def teardown_forced(ctx: StepContext, args: DeviceSetup) -> None:
    """Undo of a setup: remove the VG whatever it holds."""
    await ctx.executor.device_teardown(args.host, args.name, args.id, "", True)


async def info(ctx: StepContext, args: DeviceInfoArgs) -> DeviceInfo:
    return await ctx.executor.device_info(args.host, args.name, args.id, args.pv_uuid)
