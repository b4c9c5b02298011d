"""``CmdExecutor``: heketi's node commands over a ``Transport``.

Mirrors heketi ``executors/cmdexec`` (``cmdexec.go``, ``peer.go``,
``device.go``, ``brick.go``, ``volume.go``, ``snapshot.go``): the commands
come from ``executors.commands``, batches run through ``cmd_runner.HostRunner``
(one batch at a time per host), bricks are handled in ``cmd_bricks``.
"""

from __future__ import annotations

import logging
import secrets
from typing import Callable

from pyketi.executors import commands as C
from pyketi.executors.commands import gluster_xml
from pyketi.executors.base import (BrickRequest, DeviceInfo, Executor, ExecutorError,
                                   HealBrickInfo, NodeUnreachable, NothingChanged,
                                   VolumeInfo, VolumeRequest)
from pyketi.executors.cmd.bricks import create_bricks, destroy_bricks
from pyketi.executors.cmd.runner import HostRunner, first_failure
from pyketi.executors.config import ExecConfig
from pyketi.executors.commands.lvm_output import (is_not_found, parse_pv_report, parse_symlinks,
                                         parse_vgdisplay)
from pyketi.executors.reachability import Reachability
from pyketi.executors.transports.base import Command, Transport, last_line

log = logging.getLogger("pyketi.executors")

_NOT_A_PEER = ("is not part of cluster", "not a peer", "not a friend", "does not exist")
# pvremove of a PV that is gone: by name, or by its /dev/disk/by-id/lvm-pv-uuid-* link,
# which udev removes with the PV label (a teardown retried after it took effect)
_PV_MISSING = ("no pv found", "no pv label found", "no physical volume label",
               "no device found for")


def _new_snapshot_name() -> str:
    return f"tmpsnap_{secrets.token_hex(16)}"


class CmdExecutor(Executor):
    """Runs heketi's exact node commands through ``transport``.

    ``snapshot_name`` generates the temporary snapshot name of a clone
    (default ``tmpsnap_<32 hex>``, like heketi's ``utils.GenUUID``).
    ``reachability`` remembers nodes that did not answer (fail fast on them).
    """

    def __init__(self, transport: Transport, config: ExecConfig | None = None, *,
                 snapshot_name: Callable[[], str] = _new_snapshot_name,
                 reachability: Reachability | None = None):
        self.config = config or ExecConfig()
        self.runner = HostRunner(transport, self.config, reachability)
        self._snapshot_name = snapshot_name

    @property
    def _gluster_timeout(self) -> float:
        return self.config.gluster_batch_timeout

    # -- nodes / peers ----------------------------------------------------
    async def glusterd_check(self, host: str) -> None:
        cmds = C.glusterd_check()
        failed = first_failure(cmds, await self.runner.run(
            host, cmds, self.config.glusterd_check_timeout))
        if failed is not None:
            # systemctl status ends with journal lines: quote its "Active:" line only
            active = [line.strip() for line in failed.stdout.splitlines()
                      if line.strip().startswith("Active:")]
            raise ExecutorError(f"glusterd is not running: {last_line(active[0])}" if active
                                else failed.stderr.strip()
                                or f"Process exited with status {failed.exit_status}", host)

    async def peer_probe(self, host: str, new_node_storage: str) -> None:
        await self.runner.run_checked(host, C.peer_probe(self.config, new_node_storage),
                                      self._gluster_timeout)

    async def peer_detach(self, host: str, node_storage: str) -> None:
        cmds = C.peer_detach(self.config, node_storage)
        failed = first_failure(cmds, await self.runner.run(host, cmds, self._gluster_timeout))
        if failed is not None:
            if any(s in failed.error_text for s in _NOT_A_PEER):
                log.warning("host %s: %s already detached: %s", host, node_storage,
                            failed.error_text)
                return
            raise ExecutorError(failed.error_text, host)

    # -- devices ----------------------------------------------------------
    async def device_setup(self, host: str, device_name: str, device_id: str,
                           destroy_data: bool = False) -> DeviceInfo:
        cmds = C.device_setup(self.config, device_name, device_id, destroy_data)
        results = await self.runner.run(host, cmds, self.config.lvm_timeout)
        failed = first_failure(cmds, results)
        if failed is not None:
            # before vgcreate nothing of ours exists (the PV may be someone else's): no
            # undo; after it, the operation's undo (a forced teardown) removes the PV
            error = NothingChanged if len(results) < len(cmds) else ExecutorError
            raise error(f"Initializing device {device_name} failed (already "
                        f"initialized or contains data?): {failed.error_text}", host)
        return await self._identify(host, device_name, device_id, device_name)

    async def device_info(self, host: str, device_name: str, device_id: str,
                          pv_uuid: str = "") -> DeviceInfo:
        if not pv_uuid:
            pv_uuid = await self._lookup_pv_uuid(host, device_id)
        lookup = C.pv_uuid_path(pv_uuid) if pv_uuid else device_name
        return await self._identify(host, device_name, device_id, lookup, pv_uuid)

    async def device_teardown(self, host: str, device_name: str, device_id: str,
                              pv_uuid: str = "", force: bool = False) -> None:
        try:
            await self._teardown(host, device_name, device_id, pv_uuid, force)
        except ExecutorError as exc:
            if not force:
                raise
            log.warning("host %s: forced teardown of %s: %s", host, device_name, exc)

    async def _teardown(self, host: str, device_name: str, device_id: str,
                        pv_uuid: str, force: bool) -> None:
        if not pv_uuid:
            try:
                pv_uuid = await self._lookup_pv_uuid(host, device_id)
            except NodeUnreachable:
                raise
            except ExecutorError:
                pv_uuid = ""  # no VG: remove by device name
        path = C.pv_uuid_path(pv_uuid) if pv_uuid else device_name
        cmds = C.device_teardown(self.config, path, device_id, force)
        results = await self.runner.run(host, cmds, self.config.lvm_timeout)
        if force:
            return
        vg, pv, rmdir = results
        for r, tolerated in ((vg, is_not_found(vg.error_text)),
                             (pv, is_not_found(pv.error_text)
                              or any(s in pv.error_text.lower() for s in _PV_MISSING))):
            if not r.ok and not tolerated:
                raise ExecutorError(f"Failed to delete device {device_name} with id "
                                    f"{device_id} on host {host}: {r.error_text}", host)
        if not rmdir.ok and "No such file or directory" not in rmdir.error_text:
            raise ExecutorError(rmdir.error_text, host)

    async def _lookup_pv_uuid(self, host: str, device_id: str) -> str:
        res = await self.runner.run_checked(host, [C.pv_lookup(self.config, device_id)],
                                            self.config.lvm_timeout)
        return parse_pv_report(res[0].stdout, C.vg_name(device_id))[1]

    async def _identify(self, host: str, device_name: str, device_id: str,
                        lookup: str, pv_uuid: str = "") -> DeviceInfo:
        cmds = [*C.device_identify(self.config, lookup), C.vg_display(self.config, device_id)]
        pvs, udev, vgdisplay = await self.runner.run_checked(host, cmds, self.config.lvm_timeout)
        _, found_uuid = parse_pv_report(pvs.stdout, C.vg_name(device_id))
        paths = parse_symlinks(udev.stdout, device_name) if udev.ok else [device_name]
        sizes = parse_vgdisplay(vgdisplay.stdout)
        return DeviceInfo(total=sizes.total, free=sizes.free, used=sizes.used,
                          extent_size=sizes.extent_size, pv_uuid=found_uuid or pv_uuid,
                          paths=paths)

    # -- bricks -----------------------------------------------------------
    async def bricks_create(self, host: str, bricks: list[BrickRequest]) -> None:
        await create_bricks(self.runner, host, bricks)

    async def bricks_destroy(self, host: str, bricks: list[BrickRequest]) -> list[bool]:
        return await destroy_bricks(self.runner, host, bricks)

    # -- volumes ----------------------------------------------------------
    async def volume_create(self, host: str, volume: VolumeRequest) -> None:
        cmds = C.volume_create(self.config, volume)
        results = await self.runner.run(host, cmds, self._gluster_timeout)
        failed = first_failure(cmds, results)
        if failed is None:
            return
        if len(results) == 1:  # "volume create" itself failed: nothing of ours to undo
            raise NothingChanged(failed.error_text, host)
        raise ExecutorError(failed.error_text, host)  # the engine's undo destroys it

    async def volume_expand(self, host: str, volume: VolumeRequest,
                            new_bricks: list[tuple[str, str]], rebalance: bool = True) -> None:
        rebalance = rebalance and self.config.rebalance_on_expansion
        cmds = C.volume_expand(self.config, volume, new_bricks, rebalance)
        results = await self.runner.run(host, cmds, self._gluster_timeout)
        failed = first_failure(cmds, results)
        if failed is not None:
            raise ExecutorError(failed.error_text, host)
        if rebalance and not results[-1].ok:
            log.error("Unable to start rebalance on the volume %s: %s. Action Required: "
                      "run rebalance manually on the volume", volume.name,
                      results[-1].error_text)

    async def volume_destroy(self, host: str, name: str) -> None:
        cmds = C.volume_destroy(self.config, name)
        results = await self.runner.run(host, cmds, self._gluster_timeout)
        if not results[0].ok:
            log.warning("Unable to stop volume %s: %s", name, results[0].error_text)
        failed = first_failure(cmds, results)
        if failed is not None and "does not exist" not in failed.error_text:
            raise ExecutorError(f"Unable to delete volume {name}: {failed.error_text}", host)

    async def volume_info(self, host: str, name: str) -> VolumeInfo:
        out = await self._xml_query(host, C.volume_info(self.config, name),
                                    f"Unable to get volume info of volume name: {name}")
        return gluster_xml.parse_volume_info(out)

    async def volume_heal_info(self, host: str, name: str) -> list[HealBrickInfo]:
        out = await self._xml_query(host, C.volume_heal_info(self.config, name),
                                    f"Unable to get heal info of volume : {name}")
        return gluster_xml.parse_heal_info(out)

    async def _xml_query(self, host: str, cmd: Command, unable: str) -> str:
        """stdout of a gluster ``--xml`` query; on failure gluster's opErrstr if any."""
        result = (await self.runner.run(host, [cmd], self._gluster_timeout))[0]
        if result.ok:
            return result.stdout
        if result.stdout.lstrip().startswith("<"):
            try:
                gluster_xml.check_cli_output(result.stdout, "gluster")
            except ExecutorError as exc:
                raise ExecutorError(str(exc), host) from None
        raise ExecutorError(unable, host)

    async def volume_replace_brick(self, host: str, name: str, old_brick: tuple[str, str],
                                   new_brick: tuple[str, str]) -> None:
        cmd = C.volume_replace_brick(self.config, name, old_brick, new_brick)
        results = await self.runner.run(host, [cmd], self._gluster_timeout)
        if not results[0].ok:
            log.error("replace-brick on %s: %s", name, results[0].error_text)
            raise ExecutorError(f"Unable to replace brick {old_brick[0]}:{old_brick[1]} with "
                                f"{new_brick[0]}:{new_brick[1]} for volume {name}", host)

    # -- clone (snapshot.go) ----------------------------------------------
    async def volume_clone(self, host: str, name: str, clone_name: str) -> VolumeInfo:
        cfg, snap = self.config, self._snapshot_name()
        await self._xml_step(host, C.snapshot_create(cfg, snap, name),
                             f"Unable to create snapshot of volume {name}",
                             f"Failed to create snapshot of volume {name}")
        try:
            await self._xml_step(host, C.snapshot_activate(cfg, snap),
                                 f"Unable to activate snapshot {snap}",
                                 f"Failed to activate snapshot {snap}")
            try:
                await self._xml_step(host, C.snapshot_clone(cfg, clone_name, snap),
                                     f"Unable to clone snapshot {snap}",
                                     f"Failed to clone snapshot {snap} to volume {clone_name}")
                await self._start_clone(host, clone_name, snap)
            finally:
                await self._xml_step(host, C.snapshot_deactivate(cfg, snap),
                                     f"Unable to deactivate snapshot {snap}",
                                     f"Failed to deactivate snapshot {snap}", quiet=True)
            return await self.volume_info(host, clone_name)
        finally:
            await self._xml_step(host, C.snapshot_delete(cfg, snap),
                                 f"Unable to delete snapshot {snap}",
                                 f"Failed to delete snapshot {snap}", quiet=True)

    async def _start_clone(self, host: str, clone_name: str, snap: str) -> None:
        msg = f"Unable to start volume {clone_name}, clone of snapshot {snap}"
        try:
            await self._xml_step(host, C.volume_start_xml(self.config, clone_name), msg, msg)
        except ExecutorError:
            try:
                await self.volume_destroy(host, clone_name)
            except ExecutorError as exc:
                log.error("host %s: removing unstarted clone %s: %s", host, clone_name, exc)
            raise

    async def _xml_step(self, host: str, cmd: Command, unable: str, failed: str,
                        quiet: bool = False) -> None:
        """One ``G --xml ...`` command; checks exit status, then ``opRet``/``opErrstr``."""
        try:
            result = (await self.runner.run(host, [cmd], self._gluster_timeout))[0]
            if not result.ok:
                raise ExecutorError(f"{unable}: {result.error_text}", host)
            try:
                gluster_xml.check_cli_output(result.stdout, "gluster")
            except ExecutorError as exc:
                raise ExecutorError(f"{failed}: {exc}", host) from None
        except ExecutorError as exc:
            if not quiet:
                raise
            log.error("host %s: %s", host, exc)

    def unreachable(self, host: str) -> str | None:
        return self.runner.refusal(host)

    async def close(self) -> None:
        await self.runner.close()
