"""``Client``: one typed method per server route (heketi-spec §1.4).

Every method returns the server's JSON (a dict typed in ``models``) or
``None`` for routes that answer without a body, and raises ``PyketiError``
on any failure.  Asynchronous routes return only when the operation has
finished.

    >>> c = Client("http://127.0.0.1:8080", "admin", "secret")
    >>> vol = c.volume_create(size=10, durability="replicate", replica=3)
    >>> c.volume_delete(vol["id"])
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable, Sequence
from typing import Any, cast

from pyketi.client import models as m
from pyketi.client.http import (
    DEFAULT_POLL,
    DEFAULT_RETRY,
    Observer,
    PollPolicy,
    RetryPolicy,
    Transport,
)


class Client:
    def __init__(self, server: str, user: str = "", secret: str = "", *,
                 timeout: float = 60.0,
                 retry: RetryPolicy = DEFAULT_RETRY,
                 poll: PollPolicy = DEFAULT_POLL,
                 ssl_context: ssl.SSLContext | None = None,
                 observer: Observer | None = None) -> None:
        self.transport = Transport(server, user, secret, timeout=timeout,
                                   retry=retry, poll=poll,
                                   ssl_context=ssl_context, observer=observer)
        self._topology_route: bool | None = None  # has the server GET /topology?

    def __repr__(self) -> str:
        return f"Client({self.transport!r})"

    # -- plumbing ----------------------------------------------------------

    def _json(self, method: str, path: str, body: Any = None,
              expect: Sequence[int] = (200,)) -> Any:
        return self.transport.request(method, path, body, expect=expect).json()

    def _done(self, method: str, path: str, body: Any = None,
              expect: Sequence[int] = (204,)) -> None:
        self.transport.request(method, path, body, expect=expect)

    # -- server ------------------------------------------------------------

    def hello(self) -> str:
        return self.transport.request("GET", "/hello").text()

    def metrics(self) -> str:
        return self.transport.request("GET", "/metrics").text()

    # -- clusters ----------------------------------------------------------

    def cluster_create(self, *, block: bool = True, file: bool = True) -> m.ClusterInfo:
        return cast(m.ClusterInfo, self._json(
            "POST", "/clusters", {"block": block, "file": file}, expect=(201,)))

    def cluster_list(self) -> m.ClusterList:
        return cast(m.ClusterList, self._json("GET", "/clusters"))

    def cluster_info(self, cluster_id: str) -> m.ClusterInfo:
        return cast(m.ClusterInfo, self._json("GET", f"/clusters/{cluster_id}"))

    def cluster_delete(self, cluster_id: str) -> None:
        self._done("DELETE", f"/clusters/{cluster_id}", expect=(200, 204))

    def cluster_set_flags(self, cluster_id: str, *, block: bool, file: bool) -> None:
        self._done("POST", f"/clusters/{cluster_id}/flags",
                   {"block": block, "file": file}, expect=(200, 204))

    # -- nodes -------------------------------------------------------------

    def node_add(self, *, cluster: str, zone: int, manage: str | Sequence[str],
                 storage: str | Sequence[str],
                 tags: dict[str, str] | None = None) -> m.NodeInfo:
        body: dict[str, Any] = {
            "zone": zone,
            "hostnames": {"manage": _names(manage), "storage": _names(storage)},
            "cluster": cluster,
        }
        if tags:
            body["tags"] = dict(tags)
        return cast(m.NodeInfo, self._json("POST", "/nodes", body))

    def node_info(self, node_id: str) -> m.NodeInfo:
        return cast(m.NodeInfo, self._json("GET", f"/nodes/{node_id}"))

    def node_delete(self, node_id: str) -> None:
        self._done("DELETE", f"/nodes/{node_id}")

    def node_set_state(self, node_id: str, state: m.State, *,
                       healcheck: str = "") -> None:
        self._done("POST", f"/nodes/{node_id}/state",
                   _state_body(state, healcheck))

    def node_set_tags(self, node_id: str, tags: dict[str, str],
                      change: m.TagChange = "update") -> dict[str, str]:
        return cast(dict[str, str], self._json(
            "POST", f"/nodes/{node_id}/tags", {"tags": tags, "change_type": change}))

    # -- devices -----------------------------------------------------------

    def device_add(self, *, node: str, name: str, tags: dict[str, str] | None = None,
                   destroydata: bool = False) -> None:
        body: dict[str, Any] = {"name": name, "node": node}
        if tags:
            body["tags"] = dict(tags)
        if destroydata:
            body["destroydata"] = True
        self._done("POST", "/devices", body)

    def device_info(self, device_id: str) -> m.DeviceInfo:
        return cast(m.DeviceInfo, self._json("GET", f"/devices/{device_id}"))

    def device_delete(self, device_id: str, *, force_forget: bool = False) -> None:
        body = {"forceforget": True} if force_forget else None
        self._done("DELETE", f"/devices/{device_id}", body)

    def device_set_state(self, device_id: str, state: m.State, *,
                         healcheck: str = "") -> None:
        self._done("POST", f"/devices/{device_id}/state",
                   _state_body(state, healcheck))

    def device_resync(self, device_id: str) -> None:
        self._done("GET", f"/devices/{device_id}/resync")

    def device_set_tags(self, device_id: str, tags: dict[str, str],
                        change: m.TagChange = "update") -> dict[str, str]:
        return cast(dict[str, str], self._json(
            "POST", f"/devices/{device_id}/tags", {"tags": tags, "change_type": change}))

    # -- volumes -----------------------------------------------------------

    def volume_create(self, *, size: int, name: str | None = None,
                      durability: str | None = None, replica: int | None = None,
                      disperse_data: int | None = None, redundancy: int | None = None,
                      clusters: Iterable[str] | None = None, gid: int = 0,
                      options: Iterable[str] | None = None, block: bool = False,
                      snapshot_factor: float | None = None) -> m.VolumeInfo:
        """Create a volume.  Arguments left ``None`` are not sent, so the
        server's defaults apply (e.g. durability ``none``)."""
        body: dict[str, Any] = {"size": size}
        if clusters:
            body["clusters"] = list(clusters)
        if name:
            body["name"] = name
        if durability is not None or replica is not None or \
                disperse_data is not None or redundancy is not None:
            dur: dict[str, Any] = {"type": durability or ""}
            if replica is not None:
                dur["replicate"] = {"replica": replica}
            if disperse_data is not None or redundancy is not None:
                dur["disperse"] = {"data": disperse_data or 0,
                                   "redundancy": redundancy or 0}
            body["durability"] = dur
        if gid:
            body["gid"] = gid
        if options:
            body["glustervolumeoptions"] = list(options)
        if block:
            body["block"] = True
        if snapshot_factor is not None:
            body["snapshot"] = {"enable": True, "factor": snapshot_factor}
        return cast(m.VolumeInfo, self._json("POST", "/volumes", body))

    def volume_list(self) -> m.VolumeList:
        return cast(m.VolumeList, self._json("GET", "/volumes"))

    def volume_info(self, volume_id: str) -> m.VolumeInfo:
        return cast(m.VolumeInfo, self._json("GET", f"/volumes/{volume_id}"))

    def volume_delete(self, volume_id: str) -> None:
        self._done("DELETE", f"/volumes/{volume_id}")

    def volume_expand(self, volume_id: str, expand_size: int) -> m.VolumeInfo:
        return cast(m.VolumeInfo, self._json(
            "POST", f"/volumes/{volume_id}/expand", {"expand_size": expand_size}))

    def volume_clone(self, volume_id: str, name: str | None = None) -> m.VolumeInfo:
        body = {"name": name} if name else {}
        return cast(m.VolumeInfo, self._json(
            "POST", f"/volumes/{volume_id}/clone", body))

    def volume_set_block_restriction(self, volume_id: str,
                                     locked: bool) -> m.VolumeInfo:
        return cast(m.VolumeInfo, self._json(
            "POST", f"/volumes/{volume_id}/block-restriction",
            {"restriction": "locked" if locked else ""}))

    def volume_endpoint_subsets(self, volume_id: str) -> list[dict[str, Any]]:
        """Kubernetes endpoint subsets for the volume's mount hosts, one per
        host, port 1 (heketi-cli ``createHeketiStorageEndpoints``)."""
        hosts = self.volume_info(volume_id)["mount"]["glusterfs"]["hosts"]
        return [{"addresses": [{"ip": host}], "ports": [{"port": 1}]} for host in hosts]

    # -- bricks --------------------------------------------------------------

    def brick_evict(self, brick_id: str, *, healcheck: str = "") -> None:
        """Move one brick to another device; ``healcheck="disable"`` skips the
        self-heal check."""
        body = {"healcheck": healcheck} if healcheck else None
        self._done("POST", f"/bricks/to-evict/{brick_id}", body)

    # -- topology ----------------------------------------------------------------

    def topology_info(self) -> m.TopologyInfo:
        """The whole topology: one ``GET /topology`` (pyketi's route); from a server
        without it (heketi, an older pyketi: ``404``) composed as heketi's Go client
        does, one request per cluster, volume and node."""
        if self._topology_route is not False:
            reply = self.transport.request("GET", "/topology", expect=(200, 404))
            if reply.status == 200:
                self._topology_route = True
                return cast(m.TopologyInfo, reply.json())
            self._topology_route = False
        return self.topology_info_composed()

    def topology_info_composed(self) -> m.TopologyInfo:
        clusters: list[m.TopologyCluster] = []
        for cluster_id in self.cluster_list()["clusters"]:
            info = self.cluster_info(cluster_id)
            clusters.append({
                "volumes": [self.volume_info(v) for v in info["volumes"]],
                "nodes": [self.node_info(n) for n in info["nodes"]],
                "id": info["id"],
                "block": info.get("block", False),
                "file": info.get("file", False),
            })
        return {"clusters": clusters}

    # -- database ------------------------------------------------------------

    def db_dump(self) -> dict[str, Any]:
        return cast(dict[str, Any], self._json("GET", "/db/dump"))

    def db_check(self) -> dict[str, Any]:
        return cast(dict[str, Any], self._json("GET", "/db/check"))

    def db_dump_text(self) -> str:
        """The dump as the server wrote it (heketi's Go client ``DbDump``)."""
        return self.transport.request("GET", "/db/dump").text()

    def db_check_text(self) -> str:
        return self.transport.request("GET", "/db/check").text()

    # -- server internals ------------------------------------------------------

    def loglevel_get(self) -> m.LogLevel:
        return cast(m.LogLevel, self._json("GET", "/internal/logging"))

    def loglevel_set(self, level: str) -> m.LogLevel:
        return cast(m.LogLevel, self._json(
            "POST", "/internal/logging", {"loglevel": {"glusterfs": level}}))

    def state_examine_gluster(self) -> str:
        """The server's report comparing its database with gluster, as sent."""
        return self.transport.request("GET", "/internal/state/examine/gluster").text()

    # -- operations and admin state -------------------------------------------

    def operations_info(self) -> m.OperationsInfo:
        return cast(m.OperationsInfo, self._json("GET", "/operations"))

    def pending_operations(self) -> m.PendingOperationList:
        return cast(m.PendingOperationList, self._json("GET", "/operations/pending"))

    def pending_operation(self, operation_id: str) -> m.PendingOperationDetails:
        return cast(m.PendingOperationDetails,
                    self._json("GET", f"/operations/pending/{operation_id}"))

    def operations_cleanup(self, operation_ids: Sequence[str] = ()) -> None:
        body = {"operations": list(operation_ids)} if operation_ids else {}
        self._done("POST", "/operations/pending/cleanup", body, expect=(200, 204))

    def admin_status(self) -> m.AdminStatus:
        return cast(m.AdminStatus, self._json("GET", "/admin"))

    def admin_set_status(self, state: str) -> None:
        self._done("POST", "/admin", {"state": state}, expect=(200, 204))


def _names(value: str | Sequence[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _state_body(state: str, healcheck: str) -> dict[str, str]:
    body = {"state": state}
    if healcheck:
        body["healcheck"] = healcheck
    return body
