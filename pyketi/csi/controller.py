"""The CSI Controller service: volumes on a pyketi (heketi) server.

Each RPC turns into the REST calls ``pyketi.client`` makes; the decisions
(parameters, names, sizes, capacity) live in the pure modules beside it.
"""

from __future__ import annotations

from collections.abc import Mapping

from pyketi.client import Client, PyketiError
from pyketi.csi import capabilities as caps
from pyketi.csi.backend import RestConfig, open_client, parse_handle, volume_handle
from pyketi.csi.capacity import GIB, RangeError, in_range, placeable_bytes, size_gib
from pyketi.csi.errors import Code, CsiError, from_server, invalid, is_name_taken, not_found
from pyketi.csi.index import VolumeIndex
from pyketi.csi.names import heketi_name, key_of
from pyketi.csi.params import ClassParameters, ParameterError, parse_parameters
from pyketi.csi.proto import csi_pb2 as pb
from pyketi.csi.proto import csi_pb2_grpc as pbg
from pyketi.csi.reqlog import log
from pyketi.csi.volume_context import volume_context
from pyketi.csi.rpc import rpc, unimplemented
from pyketi.ids import is_valid_id

RPC = pb.ControllerServiceCapability.RPC
CAPABILITIES = (RPC.CREATE_DELETE_VOLUME, RPC.LIST_VOLUMES, RPC.GET_CAPACITY,
                RPC.CLONE_VOLUME, RPC.EXPAND_VOLUME, RPC.VOLUME_CONDITION, RPC.GET_VOLUME)
MAX_NAME_BYTES = 128

def csi_volume(info: Mapping, handle: str = "",
               source: pb.VolumeContentSource | None = None) -> pb.Volume:
    volume = pb.Volume(volume_id=handle or info["id"], capacity_bytes=int(info["size"]) * GIB,
                       volume_context=volume_context(info))
    if source is not None and source.WhichOneof("type"):
        volume.content_source.CopyFrom(source)
    return volume


def _parameters(params: Mapping[str, str]) -> ClassParameters:
    try:
        return parse_parameters(dict(params))
    except ParameterError as err:
        raise invalid(str(err)) from None


def _incompatible(info: Mapping, want: ClassParameters, name: str, required: int,
                  limit: int) -> str:
    """Why an existing volume does not answer this CreateVolume ('' = it does)."""
    if info["name"] != name:
        return f"it is named {info['name']!r}, not {name!r}"
    if not in_range(int(info["size"]) * GIB, required, limit):
        return f"its size {info['size']} GiB is outside the requested capacity_range"
    if not want.durability.matches(info.get("durability") or {}):
        return f"its durability is not {want.durability.describe()}"
    if want.clusters and info.get("cluster") not in want.clusters:
        return f"it is in cluster {info.get('cluster')}, not in {','.join(want.clusters)}"
    gid = int(info.get("gid") or 0)
    if not want.gid_min <= gid <= want.gid_max:
        return f"its gid {gid} is outside {want.gid_min}-{want.gid_max}"
    options = set(info.get("glustervolumeoptions") or [])
    if not set(want.volume_options) <= options:
        return "its volume options differ"
    factor = float((info.get("snapshot") or {}).get("factor") or 1.0)
    if abs(factor - want.snap_factor) > 1e-3:
        return f"its snapshot factor is {factor:g}, not {want.snap_factor:g}"
    return ""


class ControllerService(pbg.ControllerServicer):
    def __init__(self, rest: RestConfig, index: VolumeIndex | None = None) -> None:
        self.rest = rest
        self.index = index or VolumeIndex()

    # -- plumbing ----------------------------------------------------------

    def _client(self, cfg: RestConfig) -> Client:
        if not cfg.url:
            raise CsiError(Code.FAILED_PRECONDITION,
                           "no pyketi server configured: set --rest-url / "
                           "PYKETI_CSI_REST_URL or the StorageClass parameter resturl")
        try:
            return open_client(cfg)
        except PyketiError as err:
            raise invalid(f"resturl: {err.message}") from None

    def _target(self, handle: str, secrets: Mapping[str, str] | None = None
                ) -> tuple[Client, RestConfig, str]:
        """Client, connection and heketi id for a CSI ``volume_id``."""
        if not handle:
            raise invalid("volume_id is required")
        volume_id, server = parse_handle(handle)
        cfg = self.rest.for_volume(server, secrets)
        return self._client(cfg), cfg, volume_id

    def _info(self, client: Client, volume_id: str) -> dict:
        if not is_valid_id(volume_id):
            raise not_found(f"volume {volume_id!r} does not exist")
        try:
            return dict(client.volume_info(volume_id))
        except PyketiError as err:
            raise from_server(err, f"volume {volume_id}") from None

    # -- CreateVolume ------------------------------------------------------

    @rpc
    def CreateVolume(self, request, context):
        if not request.name:
            raise invalid("name is required")
        if len(request.name.encode()) > MAX_NAME_BYTES or any(
                ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f for c in request.name):
            raise invalid("name: at most 128 bytes, no control characters")
        caps.check_all(request.volume_capabilities)
        want = _parameters(request.parameters)
        rng = request.capacity_range
        try:
            gib = size_gib(rng.required_bytes, rng.limit_bytes,
                           request.HasField("capacity_range"))
        except RangeError as err:
            raise CsiError(Code.INVALID_ARGUMENT if err.invalid else Code.OUT_OF_RANGE,
                           str(err)) from None
        try:
            name = heketi_name(request.name, want.name_prefix, want.pvc_namespace,
                               want.pvc_name)
        except ParameterError as err:
            raise invalid(str(err)) from None
        source = request.volume_content_source
        if source.WhichOneof("type") == "snapshot":
            raise invalid("volume_content_source: snapshots are not supported "
                          "(the server has no snapshot API)")
        cfg = self.rest.for_request(want, request.secrets)
        client = self._client(cfg)
        try:
            volume_handle("0" * 32, cfg.url, self.rest.url)
        except ValueError as err:
            raise invalid(str(err)) from None
        log.info("CreateVolume name=%s -> heketi volume name %s, %d GiB, %s", request.name,
                 name, gib, want.durability.describe())
        # claimed by key: the same CSI name under another prefix is the same volume
        with self.index.claim(cfg.url, key_of(name)):
            info = self._existing(client, cfg.url, name, want, rng)
            if info is None:
                if source.WhichOneof("type") == "volume":
                    source_id, source_server = parse_handle(source.volume.volume_id)
                    if (source_server or self.rest.url) != cfg.url:
                        raise invalid("volume_content_source: the volume is on another "
                                      "server than the one this StorageClass uses")
                    info = self._clone(client, cfg.url, source_id, name, want, gib,
                                       rng.limit_bytes)
                else:
                    info = self._create(client, cfg.url, name, want, gib, rng)
        log.info("CreateVolume name=%s volume=%s (%s)", request.name, info["id"], info["name"])
        handle = volume_handle(info["id"], cfg.url, self.rest.url)
        return pb.CreateVolumeResponse(volume=csi_volume(info, handle, source))

    def _existing(self, client: Client, url: str, name: str, want: ClassParameters,
                  rng: pb.CapacityRange, reload: bool = False) -> dict | None:
        """The volume an earlier call with this name made, if any."""
        try:
            self.index.load(url, client, force=reload)
        except PyketiError as err:
            raise from_server(err, "listing volumes") from None
        key = key_of(name)
        known = self.index.find(url, key)
        if known is None:
            return None
        try:
            info = dict(client.volume_info(known["id"]))
        except PyketiError as err:
            if err.status != 404:
                raise from_server(err, f"volume {known['id']}") from None
            self.index.drop(url, known["id"])
            return None
        reason = _incompatible(info, want, name, rng.required_bytes, rng.limit_bytes)
        if reason:
            raise CsiError(Code.ALREADY_EXISTS,
                           f"volume {info['id']} was created for this name but {reason}")
        log.info("volume=%s already exists for this name: returning it", info["id"])
        return info

    def _create(self, client: Client, url: str, name: str, want: ClassParameters,
                gib: int, rng: pb.CapacityRange) -> dict:
        with self.index.gid(url, want.gid_min, want.gid_max) as gid:
            try:
                info = dict(client.volume_create(
                    size=gib, name=name, clusters=want.clusters or None, gid=gid,
                    options=list(want.volume_options) or None,
                    snapshot_factor=want.snap_factor, **want.durability.client_args()))
            except PyketiError as err:
                if not is_name_taken(err):
                    raise from_server(err, "failed to create volume") from None
                # made by an earlier call whose answer was lost (or still running)
                found = self._existing(client, url, name, want, rng, reload=True)
                if found is None:
                    raise CsiError(Code.ABORTED, f"volume {name!r} is being created or "
                                                 "deleted on the server; retry") from None
                return found
        self.index.put(url, info)
        return info

    def _clone(self, client: Client, url: str, source_id: str, name: str,
               want: ClassParameters, gib: int, limit: int) -> dict:
        src = self._info(client, source_id)
        if src.get("block"):
            raise invalid(f"volume_content_source: volume {source_id} is a block-hosting "
                          "volume and cannot be cloned")
        if not want.durability.matches(src.get("durability") or {}):
            raise invalid(f"volume_content_source: volume {source_id} is not "
                          f"{want.durability.describe()} as the parameters ask")
        if limit and int(src["size"]) * GIB > limit:
            raise CsiError(Code.OUT_OF_RANGE, f"volume_content_source: volume {source_id} "
                                              f"({src['size']} GiB) is above limit_bytes")
        try:
            info = dict(client.volume_clone(source_id, name))
        except PyketiError as err:
            raise from_server(err, f"failed to clone volume {source_id}") from None
        self.index.put(url, info)
        if gib > int(info["size"]):
            try:
                info = dict(client.volume_expand(info["id"], gib - int(info["size"])))
            except PyketiError as err:
                raise from_server(err, f"clone {info['id']}: failed to expand it to "
                                       f"{gib} GiB") from None
            self.index.put(url, info)
        return info

    # -- DeleteVolume ------------------------------------------------------

    @rpc
    def DeleteVolume(self, request, context):
        client, cfg, volume_id = self._target(request.volume_id, request.secrets)
        if not is_valid_id(volume_id):
            log.info("volume=%s is not a pyketi id: nothing to delete", request.volume_id)
            return pb.DeleteVolumeResponse()
        with self.index.claim(cfg.url, volume_id):
            try:
                client.volume_delete(volume_id)
            except PyketiError as err:
                if err.status != 404:
                    raise from_server(err, f"failed to delete volume {volume_id}") from None
                log.info("volume=%s does not exist: already deleted", volume_id)
            self.index.drop(cfg.url, volume_id)
        log.info("volume=%s deleted", volume_id)
        return pb.DeleteVolumeResponse()

    # -- publish: no attach step -------------------------------------------

    @rpc
    def ControllerPublishVolume(self, request, context):
        raise unimplemented("ControllerPublishVolume")

    @rpc
    def ControllerUnpublishVolume(self, request, context):
        raise unimplemented("ControllerUnpublishVolume")

    # -- queries -------------------------------------------------------------

    @rpc
    def ValidateVolumeCapabilities(self, request, context):
        client, _, volume_id = self._target(request.volume_id, request.secrets)
        if not request.volume_capabilities:
            raise invalid("volume_capabilities is required")
        for cap in request.volume_capabilities:
            caps.check_well_formed(cap, "volume_capabilities")
        self._info(client, volume_id)
        reasons = [r for r in map(caps.unsupported, request.volume_capabilities) if r]
        if request.parameters:
            try:
                parse_parameters(dict(request.parameters))
            except ParameterError as err:
                reasons.append(str(err))
        if reasons:
            return pb.ValidateVolumeCapabilitiesResponse(message="; ".join(reasons))
        return pb.ValidateVolumeCapabilitiesResponse(
            confirmed=pb.ValidateVolumeCapabilitiesResponse.Confirmed(
                volume_context=request.volume_context,
                volume_capabilities=request.volume_capabilities,
                parameters=request.parameters))

    def _condition(self, client: Client, info: Mapping,
                   node_states: dict[str, str]) -> pb.VolumeCondition:
        """Abnormal when a node holding one of its bricks is not online."""
        down = []
        for brick in info.get("bricks") or []:
            node = brick.get("node", "")
            if node not in node_states:
                try:
                    node_states[node] = client.node_info(node)["state"]
                except PyketiError:
                    node_states[node] = "unknown"
            if node_states[node] != "online" and node not in down:
                down.append(node)
        if not info.get("bricks"):
            return pb.VolumeCondition(abnormal=True, message="the volume has no bricks")
        if down:
            return pb.VolumeCondition(abnormal=True, message="bricks on nodes not online: "
                                      + ", ".join(down))
        return pb.VolumeCondition(abnormal=False, message="all bricks on online nodes")

    @rpc
    def ListVolumes(self, request, context):
        if request.max_entries < 0:
            raise invalid("max_entries must not be negative")
        client = self._client(self.rest)
        try:
            ids = sorted(client.volume_list()["volumes"])
        except PyketiError as err:
            raise from_server(err, "listing volumes") from None
        start = 0
        if request.starting_token:
            # the token is the id to start at, so deletions between pages skip nothing
            if not is_valid_id(request.starting_token):
                raise CsiError(Code.ABORTED, "starting_token is not valid")
            start = next((i for i, v in enumerate(ids) if v >= request.starting_token),
                         len(ids))
            if start == len(ids) and request.starting_token not in ids:
                raise CsiError(Code.ABORTED, "starting_token is not valid (beyond the "
                                             "last volume)")
        end = len(ids) if request.max_entries == 0 else start + request.max_entries
        response = pb.ListVolumesResponse()
        node_states: dict[str, str] = {}
        for volume_id in ids[start:end]:
            try:
                info = client.volume_info(volume_id)
            except PyketiError as err:
                if err.status == 404:
                    continue
                raise from_server(err, f"volume {volume_id}") from None
            entry = response.entries.add()
            entry.volume.CopyFrom(csi_volume(info))
            entry.status.volume_condition.CopyFrom(self._condition(client, info, node_states))
        if end < len(ids):
            response.next_token = ids[end]
        return response

    @rpc
    def ControllerGetVolume(self, request, context):
        client, _, volume_id = self._target(request.volume_id)
        info = self._info(client, volume_id)
        response = pb.ControllerGetVolumeResponse(volume=csi_volume(info, request.volume_id))
        response.status.volume_condition.CopyFrom(self._condition(client, info, {}))
        return response

    @rpc
    def GetCapacity(self, request, context):
        for cap in request.volume_capabilities:
            caps.check_well_formed(cap, "volume_capabilities")
            if caps.unsupported(cap):
                return pb.GetCapacityResponse(available_capacity=0)
        want = _parameters(request.parameters)
        client = self._client(self.rest.for_request(want))
        try:
            best = 0
            for cluster_id in client.cluster_list()["clusters"]:
                if want.clusters and cluster_id not in want.clusters:
                    continue
                cluster = client.cluster_info(cluster_id)
                if not cluster.get("file", True):
                    continue
                free = []
                for node_id in cluster["nodes"]:
                    node = client.node_info(node_id)
                    if node["state"] != "online":
                        continue
                    free.append(sum(int(d["storage"]["free"]) for d in node["devices"]
                                    if d["state"] == "online"))
                best = max(best, placeable_bytes(free, want.durability, want.snap_factor))
        except PyketiError as err:
            raise from_server(err, "reading the topology") from None
        return pb.GetCapacityResponse(available_capacity=best)

    @rpc
    def ControllerGetCapabilities(self, request, context):
        return pb.ControllerGetCapabilitiesResponse(capabilities=[
            pb.ControllerServiceCapability(rpc=RPC(type=t)) for t in CAPABILITIES])

    # -- expand ----------------------------------------------------------------

    @rpc
    def ControllerExpandVolume(self, request, context):
        client, cfg, volume_id = self._target(request.volume_id, request.secrets)
        if not request.HasField("capacity_range"):
            raise invalid("capacity_range is required")
        if request.HasField("volume_capability"):
            caps.check_well_formed(request.volume_capability, "volume_capability")
            reason = caps.unsupported(request.volume_capability)
            if reason:
                raise invalid(f"volume_capability: {reason}")
        rng = request.capacity_range
        try:
            gib = size_gib(rng.required_bytes, rng.limit_bytes)
        except RangeError as err:
            raise CsiError(Code.INVALID_ARGUMENT if err.invalid else Code.OUT_OF_RANGE,
                           str(err)) from None
        with self.index.claim(cfg.url, volume_id):
            info = self._info(client, volume_id)
            size = int(info["size"])
            if size < gib:
                try:
                    info = dict(client.volume_expand(volume_id, gib - size))
                except PyketiError as err:
                    raise from_server(err, f"failed to expand volume {volume_id}") from None
                log.info("volume=%s expanded from %d to %s GiB", volume_id, size,
                         info["size"])
                self.index.put(cfg.url, info)
            elif rng.limit_bytes and size * GIB > rng.limit_bytes:
                raise CsiError(Code.OUT_OF_RANGE, f"volume {volume_id} is already "
                                                  f"{size} GiB, above limit_bytes")
        return pb.ControllerExpandVolumeResponse(capacity_bytes=int(info["size"]) * GIB,
                                                 node_expansion_required=False)

    # -- not offered -----------------------------------------------------------

    @rpc
    def CreateSnapshot(self, request, context):
        raise unimplemented("CreateSnapshot")

    @rpc
    def DeleteSnapshot(self, request, context):
        raise unimplemented("DeleteSnapshot")

    @rpc
    def ListSnapshots(self, request, context):
        raise unimplemented("ListSnapshots")

    @rpc
    def GetSnapshot(self, request, context):
        raise unimplemented("GetSnapshot")

    @rpc
    def ControllerModifyVolume(self, request, context):
        raise unimplemented("ControllerModifyVolume")
