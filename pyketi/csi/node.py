"""The CSI Node service: glusterfs FUSE mounts on this node.

NodeStageVolume mounts the volume once per node at the staging path;
NodePublishVolume bind-mounts it at each pod's target (read-only when
asked).  Every step checks the mount table first, so repeating a call is
harmless and an unstage/unpublish never leaves a mount behind.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from pyketi.csi import capabilities as caps
from pyketi.csi import mountargs
from pyketi.csi.claims import Claims
from pyketi.csi.errors import Code, CsiError, invalid
from pyketi.csi.mounter import MountEntry, MountError, Mounter, is_stale
from pyketi.csi.proto import csi_pb2 as pb
from pyketi.csi.proto import csi_pb2_grpc as pbg
from pyketi.csi.reqlog import log
from pyketi.csi.rpc import rpc, unimplemented
from pyketi.csi.volume_context import CTX_HOSTS, CTX_VOLUME

NodeRPC = pb.NodeServiceCapability.RPC
CAPABILITIES = (NodeRPC.STAGE_UNSTAGE_VOLUME, NodeRPC.GET_VOLUME_STATS,
                NodeRPC.VOLUME_CONDITION)
MAX_STACKED = 8          # unmount at most this many mounts stacked on one path


def _required(value: str, field: str) -> str:
    if not value:
        raise invalid(f"{field} is required")
    return value


def _capability(request, field: str = "volume_capability") -> pb.VolumeCapability:
    if not request.HasField("volume_capability"):
        raise invalid(f"{field} is required")
    cap = request.volume_capability
    caps.check_well_formed(cap, field)
    reason = caps.unsupported(cap)
    if reason:
        raise CsiError(Code.FAILED_PRECONDITION, f"{field}: {reason}")
    return cap


def _location(context: Mapping[str, str]) -> tuple[list[str], str]:
    hosts = [h for h in context.get(CTX_HOSTS, "").split(",") if h]
    volume = context.get(CTX_VOLUME, "")
    if not hosts or not volume:
        raise invalid(f"volume_context must carry {CTX_VOLUME} and {CTX_HOSTS} "
                      "(as CreateVolume returned them)")
    return hosts, mountargs.check_volume(volume)


class NodeService(pbg.NodeServicer):
    def __init__(self, node_id: str, mounter: Mounter) -> None:
        self.node_id = node_id
        self.mounter = mounter
        self.claims = Claims()

    # -- mount table helpers -----------------------------------------------

    def _mounted(self, path: str) -> MountEntry | None:
        """The top mount at ``path`` (None if nothing is mounted there)."""
        found = None
        for entry in self.mounter.mounts():
            if entry.target == path:
                found = entry
        return found

    def _stale(self, path: str) -> OSError | None:
        try:
            self.mounter.probe(path)
        except OSError as err:
            if is_stale(err):
                return err
            if not os.path.lexists(path):
                return None
            raise
        return None

    def _run(self, argv: list[str], what: str) -> None:
        try:
            self.mounter.run(argv)
        except MountError as err:
            raise CsiError(Code.INTERNAL, f"{what}: {err}") from None

    def _unmount_all(self, path: str) -> None:
        """Unmount everything stacked on ``path`` (lazily if a plain umount fails)."""
        for _ in range(MAX_STACKED):
            if self._mounted(path) is None:
                return
            try:
                self.mounter.run(mountargs.unmount(path))
            except MountError as err:
                log.warning("umount %s failed (%s): detaching it lazily", path, err)
                self._run(mountargs.unmount(path, lazy=True), f"unmounting {path}")
        if self._mounted(path) is not None:
            raise CsiError(Code.INTERNAL, f"{path} is still mounted after "
                                          f"{MAX_STACKED} unmounts")

    # -- stage -----------------------------------------------------------------

    @rpc
    def NodeStageVolume(self, request, context):
        volume_id = _required(request.volume_id, "volume_id")
        staging = mountargs.check_path(request.staging_target_path, "staging_target_path")
        cap = _capability(request)
        hosts, volume = _location(request.volume_context)
        argv = mountargs.gluster_mount(hosts, volume, staging, cap.mount.mount_flags)
        with self.claims.claim(staging, staging):
            entry = self._mounted(staging)
            if entry is not None:
                if self._stale(staging) is None:
                    if entry.source.rpartition(":")[2] != volume:
                        raise CsiError(Code.ALREADY_EXISTS,
                                       f"{staging} already holds {entry.source}, not "
                                       f"volume {volume}")
                    log.info("volume=%s already staged at %s", volume_id, staging)
                    return pb.NodeStageVolumeResponse()
                log.warning("volume=%s: stale mount at %s, mounting again", volume_id,
                            staging)
                self._unmount_all(staging)
            os.makedirs(staging, exist_ok=True)
            self._run(argv, f"mounting Gluster volume {volume}")
            log.info("volume=%s (%s from %s) staged at %s", volume_id, volume, hosts[0],
                     staging)
        return pb.NodeStageVolumeResponse()

    @rpc
    def NodeUnstageVolume(self, request, context):
        volume_id = _required(request.volume_id, "volume_id")
        staging = mountargs.check_path(request.staging_target_path, "staging_target_path")
        with self.claims.claim(staging, staging):
            self._unmount_all(staging)
        log.info("volume=%s unstaged from %s", volume_id, staging)
        return pb.NodeUnstageVolumeResponse()

    # -- publish ---------------------------------------------------------------

    @rpc
    def NodePublishVolume(self, request, context):
        volume_id = _required(request.volume_id, "volume_id")
        target = mountargs.check_path(request.target_path, "target_path")
        cap = _capability(request)
        if not request.staging_target_path:
            raise CsiError(Code.FAILED_PRECONDITION, "staging_target_path is required: "
                                                     "the volume must be staged first")
        staging = mountargs.check_path(request.staging_target_path, "staging_target_path")
        read_only = request.readonly or cap.access_mode.mode in caps.READ_ONLY_MODES
        with self.claims.claim(target, target):
            if self._mounted(staging) is None or self._stale(staging) is not None:
                raise CsiError(Code.FAILED_PRECONDITION,
                               f"volume {volume_id} is not staged at {staging}")
            if cap.access_mode.mode not in caps.MULTI_NODE_MODES:
                self._check_single_target(staging, target)
            entry = self._mounted(target)
            if entry is not None and self._stale(target) is None:
                if entry.read_only != read_only:
                    raise CsiError(Code.ALREADY_EXISTS,
                                   f"{target} is already published "
                                   f"{'read-only' if entry.read_only else 'read-write'}")
                log.info("volume=%s already published at %s", volume_id, target)
                return pb.NodePublishVolumeResponse()
            if entry is not None:
                self._unmount_all(target)
            os.makedirs(target, exist_ok=True)
            try:
                self._run(mountargs.bind_mount(staging, target), f"bind-mounting {staging}")
                if read_only:
                    self._run(mountargs.remount_read_only(target),
                              f"making {target} read-only")
            except CsiError:
                self._unmount_all(target)
                self._remove_dir(target)
                raise
        log.info("volume=%s published at %s%s", volume_id, target,
                 " read-only" if read_only else "")
        return pb.NodePublishVolumeResponse()

    def _check_single_target(self, staging: str, target: str) -> None:
        """A single-node access mode allows one publish target per node
        (contract §6 NodePublishVolume: other target -> FAILED_PRECONDITION)."""
        source = self._mounted(staging)
        others = sorted({e.target for e in self.mounter.mounts()
                         if source is not None and e.source == source.source
                         and e.target not in (staging, target)})
        if others:
            raise CsiError(Code.FAILED_PRECONDITION,
                           f"the volume's access mode is single-node and it is already "
                           f"published at {others[0]}")

    def _remove_dir(self, path: str) -> None:
        try:
            os.rmdir(path)
        except FileNotFoundError:
            pass
        except OSError as err:
            raise CsiError(Code.INTERNAL, f"cannot remove {path}: {err.strerror}") from None

    @rpc
    def NodeUnpublishVolume(self, request, context):
        volume_id = _required(request.volume_id, "volume_id")
        target = mountargs.check_path(request.target_path, "target_path")
        with self.claims.claim(target, target):
            self._unmount_all(target)
            self._remove_dir(target)
        log.info("volume=%s unpublished from %s", volume_id, target)
        return pb.NodeUnpublishVolumeResponse()

    # -- stats, info -------------------------------------------------------------

    @rpc
    def NodeGetVolumeStats(self, request, context):
        _required(request.volume_id, "volume_id")
        path = mountargs.check_path(request.volume_path, "volume_path")
        stale = self._stale(path)
        if stale is not None:
            return pb.NodeGetVolumeStatsResponse(volume_condition=pb.VolumeCondition(
                abnormal=True, message=f"the mount at {path} does not answer: "
                                       f"{stale.strerror or stale}"))
        if not os.path.exists(path):
            raise CsiError(Code.NOT_FOUND, f"{path} does not exist")
        gone = self._gone(path)
        if not gone and request.staging_target_path:
            staging = mountargs.check_path(request.staging_target_path, "staging_target_path")
            gone = self._gone(staging)
        if gone:
            return pb.NodeGetVolumeStatsResponse(volume_condition=pb.VolumeCondition(
                abnormal=True, message=gone))
        try:
            st = os.statvfs(path)
        except OSError as err:
            return pb.NodeGetVolumeStatsResponse(volume_condition=pb.VolumeCondition(
                abnormal=True, message=f"statvfs {path}: {err.strerror or err}"))
        unit = pb.VolumeUsage.Unit
        return pb.NodeGetVolumeStatsResponse(
            usage=[
                pb.VolumeUsage(unit=unit.BYTES, total=st.f_blocks * st.f_frsize,
                               available=st.f_bavail * st.f_frsize,
                               used=(st.f_blocks - st.f_bfree) * st.f_frsize),
                pb.VolumeUsage(unit=unit.INODES, total=st.f_files, available=st.f_favail,
                               used=st.f_files - st.f_ffree),
            ],
            volume_condition=pb.VolumeCondition(abnormal=False, message="mounted"))

    def _gone(self, path: str) -> str:
        """Why the mount at ``path`` is unusable ('' = it is fine)."""
        if self._mounted(path) is None:
            return f"nothing is mounted at {path} any more"
        stale = self._stale(path)
        if stale is not None:
            return f"the mount at {path} does not answer: {stale.strerror or stale}"
        return ""

    @rpc
    def NodeExpandVolume(self, request, context):
        raise unimplemented("NodeExpandVolume (Gluster grows without a node step)")

    @rpc
    def NodeGetCapabilities(self, request, context):
        return pb.NodeGetCapabilitiesResponse(capabilities=[
            pb.NodeServiceCapability(rpc=NodeRPC(type=t)) for t in CAPABILITIES])

    @rpc
    def NodeGetInfo(self, request, context):
        return pb.NodeGetInfoResponse(node_id=self.node_id)
