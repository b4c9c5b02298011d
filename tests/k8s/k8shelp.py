"""Shared pieces of the Kubernetes tests: the environment, StorageClass
parameter sets, and the checks every scenario ends with (space accounting on
the server and on the (mock) nodes, no leftovers)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from provisioner import (
    ANN_CREATED_BY,
    ANN_GID,
    ANN_GLUSTER_TYPE,
    ANN_HEKETI_VOLUME_ID,
    ANN_PROVISIONED_BY,
    GLUSTER_DESC_ANN,
    HEKETI_ANN,
    LABEL_PVC,
    PLUGIN,
    PV,
    PVC,
    Controller,
    FakeKube,
    GlusterfsPlugin,
    Wire,
)

# for tests of HTTP-level behaviour, where the database plays no part: SQLite only
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

SECRET_NS = "kube-system"
ADMIN_SECRET = "heketi-admin-secret"
USER_SECRET = "heketi-user-secret"
UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
ID_RE = re.compile(r"^[0-9a-f]{32}$")


@dataclass
class K8sEnv:
    api: Any                       # tests/conftest.py Api (admin view of the server)
    kube: FakeKube
    plugin: GlusterfsPlugin
    ctl: Controller
    topo: dict                     # first cluster: {"cluster", "nodes", "devices"}
    topologies: list[dict]
    url: str                       # the StorageClass resturl
    mock: Any                      # the MockExecutor (node state)

    def storage_class(self, name: str, role: str, **params: str) -> dict[str, str]:
        """A StorageClass whose key comes from the ``role``'s Secret."""
        parameters = {"resturl": self.url, "restuser": role, "secretNamespace": SECRET_NS,
                      "secretName": USER_SECRET if role == "user" else ADMIN_SECRET}
        parameters.update(params)
        self.kube.add_class(name, parameters)
        return parameters

    def user_class(self, name: str = "glusterfs", **params: str) -> dict[str, str]:
        return self.storage_class(name, "user", **params)

    def admin_class(self, name: str = "glusterfs-admin", **params: str) -> dict[str, str]:
        return self.storage_class(name, "admin", **params)

    async def volume_ids(self) -> list[str]:
        r = await self.api.get("/volumes")
        assert r.status == 200, r.text
        return r.json()["volumes"]

    def calls(self, since: int = 0) -> list[tuple[str, str, int]]:
        """(method, path with ids as <id>, status) of the plugin's HTTP exchanges."""
        return [(w.method, re.sub(r"[0-9a-f]{32}", "<id>", w.path), w.status)
                for w in self.plugin.wire[since:]]


async def add_cluster(api: Any, first: int, nodes: int, devices: int) -> dict:
    """Another cluster whose nodes are ``node<first..>`` / ``10.99.0.<first..>``."""
    cid = await api.cluster()
    node_ids, device_ids = [], []
    for i in range(first, first + nodes):
        nid = await api.node(cid, i)
        node_ids.append(nid)
        for d in range(devices):
            device_ids.append(await api.device(nid, f"/dev/sd{chr(ord('b') + d)}"))
    return {"cluster": cid, "nodes": node_ids, "devices": device_ids}


def collapse_polls(calls: list[tuple[str, str, int]]) -> list[tuple[str, str, int]]:
    """Pending queue polls repeat a varying number of times: keep one."""
    out: list[tuple[str, str, int]] = []
    for call in calls:
        if call == ("GET", "/queue/<id>", 200) and out and out[-1] == call:
            continue
        out.append(call)
    return out


async def storage_ips(env: K8sEnv, cluster: str) -> list[str]:
    """The storage address of every node of ``cluster``, in the cluster's node order."""
    info = (await env.api.get(f"/clusters/{cluster}")).json()
    ips = []
    for node in info["nodes"]:
        ips.append((await env.api.get(f"/nodes/{node}")).json()["hostnames"]["storage"][0])
    return ips


async def check_bound(env: K8sEnv, pvc: PVC, params: dict[str, str], size_gib: int,
                      gid_range: tuple[int, int], prefix: str = "",
                      ep_prefix: str = "glusterfs-dynamic") -> dict:
    """A bound claim, from the PV back to the server and the nodes; returns the
    server's (admin) view of the volume."""
    assert pvc.volume_name == f"pvc-{pvc.uid}", pvc.events
    pv: PV = env.kube.pvs[pvc.volume_name]
    assert pv.capacity == pvc.capacity == f"{size_gib}Gi"
    assert pv.storage_class == pvc.storage_class
    assert pv.claim_ref == {"namespace": pvc.namespace, "name": pvc.name, "uid": pvc.uid}
    ann = pv.annotations
    assert ann[ANN_CREATED_BY] == HEKETI_ANN and ann[ANN_GLUSTER_TYPE] == "file"
    assert ann["Description"] == GLUSTER_DESC_ANN and ann[ANN_PROVISIONED_BY] == PLUGIN
    gid = int(ann[ANN_GID])
    assert gid_range[0] <= gid <= gid_range[1]
    volume_id = ann[ANN_HEKETI_VOLUME_ID]
    assert ID_RE.match(volume_id)

    r = await env.api.get(f"/volumes/{volume_id}")
    assert r.status == 200, r.text
    vol = r.json()
    # what the plugin read: id, name, cluster, size
    assert vol["id"] == volume_id
    assert pv.glusterfs["path"] == vol["name"]
    if prefix:
        assert re.fullmatch(f"{prefix}_{pvc.namespace}_{pvc.name}_{UUID_RE}", vol["name"]), \
            vol["name"]
    else:
        assert vol["name"] == f"vol_{volume_id}"
    assert vol["size"] == size_gib
    if params.get("clusterid"):
        assert vol["cluster"] in params["clusterid"].split(",")
    # what it asked for
    assert vol["gid"] == gid
    options = params.get("volumeoptions")
    assert vol["glustervolumeoptions"] == ["", *(options.split(",") if options else []), ""]
    assert vol["snapshot"] == {"enable": True,
                               "factor": float(params.get("snapfactor", 1))}
    assert vol["durability"] == expected_durability(params.get("volumetype", ""))
    # Endpoints + Service in the claim's namespace, with every storage IP of the cluster
    ep_name = f"{ep_prefix}-{pvc.uid}" if ep_prefix else pvc.uid
    assert pv.glusterfs == {"endpoints": ep_name, "endpointsNamespace": pvc.namespace,
                            "path": vol["name"]}
    ep = env.kube.endpoints[(pvc.namespace, ep_name)]
    assert ep["metadata"]["labels"] == {LABEL_PVC: pvc.name}
    ips = await storage_ips(env, vol["cluster"])
    assert ep["subsets"] == [{"addresses": [{"ip": ip} for ip in ips],
                              "ports": [{"port": 1, "protocol": "TCP"}]}]
    assert sorted(ips) == sorted(vol["mount"]["glusterfs"]["hosts"])
    assert (pvc.namespace, ep_name) in env.kube.services
    # on the nodes: every brick is chowned to the gid, the options are set
    bricks = node_bricks(env, vol)
    assert len(bricks) == len(vol["bricks"]) and bricks
    assert {b["gid"] for b in bricks} == {gid}
    gluster = node_volume(env, vol["name"])
    for option in vol["glustervolumeoptions"]:
        if option.strip():
            key, value = option.split(None, 1)
            assert gluster["options"][key] == value
    return vol


def expected_durability(volumetype: str) -> dict:
    """The durability the server echoes for a class's ``volumetype`` (sent by the
    plugin with Go's omitempty, so zero fields are absent)."""
    parts = volumetype.split(":") if volumetype else ["replicate", "3"]
    if parts[0] == "none":
        return {"type": "none", "replicate": {}, "disperse": {}}
    if parts[0] == "disperse":
        return {"type": "disperse", "replicate": {},
                "disperse": {"data": int(parts[1]), "redundancy": int(parts[2])}}
    replica = int(parts[1]) if len(parts) > 1 else 3
    return {"type": "replicate", "replicate": {"replica": replica} if replica else {},
            "disperse": {}}


def node_bricks(env: K8sEnv, vol: dict) -> list[dict]:
    """The bricks on the (mock) nodes that are the volume's bricks."""
    ids = {b["id"] for b in vol["bricks"]}
    return [b for host in env.mock.state()["hosts"].values()
            for b in host["bricks"].values() if b["id"] in ids]


def node_volume(env: K8sEnv, name: str) -> dict:
    found = [v for host in env.mock.state()["hosts"].values()
             for vname, v in host["volumes"].items() if vname == name]
    assert len(found) == 1, f"gluster volume {name}: {len(found)} on the nodes"
    return found[0]


async def check_accounting(env: K8sEnv) -> dict:
    """Space handed out exactly once: per device, the bricks' thin pools +
    metadata == used, free + used == total, the same on the node's VG, and
    ``/db/check`` clean. Returns the dump."""
    dump = (await env.api.get("/db/dump")).json()
    per_device: dict[str, int] = {}
    for brick in dump["brickentries"].values():
        dev = brick["Info"]["device"]
        per_device[dev] = per_device.get(dev, 0) + brick["TpSize"] + brick["PoolMetadataSize"]
    node_used = {}
    for host in env.mock.state()["hosts"].values():
        for dev, vg in host["vgs"].items():
            extent = vg["extent_kib"]
            node_used[dev] = sum(_round(p["size_kib"], extent) + _round(p["metadata_kib"], extent)
                                 for key, p in host["pools"].items()
                                 if key.split("/", 1)[0] == f"vg_{dev}")
    for dev, entry in dump["deviceentries"].items():
        storage = entry["Info"]["storage"]
        assert storage["free"] + storage["used"] == storage["total"], (dev, storage)
        assert per_device.get(dev, 0) == storage["used"], (dev, per_device.get(dev), storage)
        assert node_used.get(dev, 0) == storage["used"], (dev, node_used.get(dev), storage)
    check = (await env.api.get("/db/check")).json()
    assert check["totalinconsistencies"] == 0, check
    assert dump["pendingoperations"] == {}
    return dump


def _round(kib: int, extent: int) -> int:
    return -(-kib // extent) * extent


def wire_roles(wire: list[Wire]) -> set[str]:
    return {w.iss for w in wire}
