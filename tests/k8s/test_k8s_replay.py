"""The in-tree glusterfs provisioner's call sequence, replayed against pyketi:
provision → expand → delete of several claims, a StatefulSet, and claims that
cannot be made (each must fail with the reason and leave nothing behind)."""

from __future__ import annotations

import json
import re

import pytest
from k8shelp import (
    SQLITE_ONLY,
    check_accounting,
    check_bound,
    collapse_polls,
    expected_durability,
    node_bricks,
)
from provisioner import (
    ANN_GID,
    ANN_HEKETI_VOLUME_ID,
    PVC,
    parse_class_parameters,
    statefulset_claims,
    volume_create_body,
)

CREATE_CALLS = [("POST", "/volumes", 202), ("GET", "/queue/<id>", 200),
                ("GET", "/queue/<id>", 303), ("GET", "/volumes/<id>", 200),
                ("GET", "/clusters/<id>", 200)]
DELETE_CALLS = [("DELETE", "/volumes/<id>", 202), ("GET", "/queue/<id>", 200),
                ("GET", "/queue/<id>", 204)]
EXPAND_CALLS = [("GET", "/volumes/<id>", 200), ("POST", "/volumes/<id>/expand", 202),
                ("GET", "/queue/<id>", 200), ("GET", "/queue/<id>", 303),
                ("GET", "/volumes/<id>", 200)]


def without_pending(calls):
    """A sequence check that tolerates a job finishing before the first poll."""
    return [c for c in collapse_polls(calls) if c != ("GET", "/queue/<id>", 200)]


async def test_provision_expand_delete_replay(k8s):
    env = await k8s(nodes=3, devices=2)
    cluster = env.topo["cluster"]
    user = env.user_class(
        "gluster-user", clusterid=cluster, volumenameprefix="k8s", gidMin="40000",
        gidMax="40099", snapfactor="1.5",
        volumeoptions="performance.readdir-ahead on, features.cache-invalidation on")
    admin = env.admin_class("gluster-ec", volumetype="disperse:2:1", customepnameprefix="gfs")
    distribute = env.user_class("gluster-none", volumetype="none", gidMin="41000",
                                gidMax="41000")
    two = env.user_class("gluster-r2", volumetype="replicate:2", gidMin="42000", gidMax="42009")

    claims = [  # (claim, its class parameters, GiB after rounding, gid range, name prefix)
        (PVC("data", "1Gi", "apps", "gluster-user"), user, 1, (40000, 40099), "k8s"),
        (PVC("logs", "1500Mi", "apps", "gluster-user"), user, 2, (40000, 40099), "k8s"),
        (PVC("cache", "3G", "db", "gluster-ec"), admin, 3, (2000, 2**31 - 1), ""),
        (PVC("scratch", "1", "db", "gluster-none"), distribute, 1, (41000, 41000), ""),
        (PVC("pair", "1Gi", "db", "gluster-r2"), two, 1, (42000, 42009), ""),
    ]
    volumes = {}
    for pvc, params, size, gids, prefix in claims:
        start = len(env.plugin.wire)
        pv = await env.ctl.provision(pvc)
        assert pvc.events[-1][0] == "ProvisioningSucceeded", pvc.events
        vol = await check_bound(env, pvc, params, size, gids, prefix,
                                ep_prefix="gfs" if pvc.storage_class == "gluster-ec"
                                else "glusterfs-dynamic")
        volumes[pvc.name] = vol
        # the exact sequence: create, poll until 303, follow it, cluster, every node
        calls = env.calls(start)
        assert without_pending(calls) == without_pending(CREATE_CALLS) + \
            [("GET", "/nodes/<id>", 200)] * 3, calls
        assert {w.iss for w in env.plugin.wire[start:]} == {params["restuser"]}
        # the body: Go field order, clusters/options only when the class sets them
        sent = json.loads(env.plugin.wire[start].sent)
        keys = ["size", "clusters", "name", "durability", "gid", "glustervolumeoptions",
                "snapshot"]
        assert list(sent) == [k for k in keys if k in sent]
        assert ("clusters" in sent) == ("clusterid" in params)
        assert ("glustervolumeoptions" in sent) == ("volumeoptions" in params)
        assert sent["name"] == (vol["name"] if prefix else "")
        assert sent["gid"] == int(pv.annotations[ANN_GID]) == vol["gid"]
        assert sent["size"] == size
        assert sent["snapshot"] == {"enable": True,
                                    "factor": float(params.get("snapfactor", 1))}

    assert volumes["data"]["gid"] == 40000 and volumes["logs"]["gid"] == 40001
    assert volumes["cache"]["gid"] == 2000 and volumes["scratch"]["gid"] == 41000
    assert len(volumes["cache"]["bricks"]) == 3            # one 2+1 disperse set
    assert len(volumes["scratch"]["bricks"]) == 1          # distribute only
    assert len(volumes["data"]["bricks"]) == 3
    assert len(volumes["pair"]["bricks"]) == 2             # replicate:2
    assert sorted(await env.volume_ids()) == sorted(v["id"] for v in volumes.values())
    await check_accounting(env)

    # -- expand: the delta in GiB, rounded up; capacity = the size heketi returns
    data = claims[0][0]
    start = len(env.plugin.wire)
    assert await env.ctl.expand_claim(data, "3Gi") == "3Gi"
    assert without_pending(env.calls(start)) == without_pending(EXPAND_CALLS)
    expand_body = [w for w in env.plugin.wire[start:] if w.path.endswith("/expand")]
    assert len(expand_body) == 1
    info = (await env.api.get(f"/volumes/{volumes['data']['id']}")).json()
    assert info["size"] == 3 and len(info["bricks"]) > 3
    assert {b["gid"] for b in node_bricks(env, info)} == {40000}

    start = len(env.plugin.wire)               # 3Gi → 3500Mi: delta 500Mi = 1 GiB → 4
    assert await env.ctl.expand_claim(data, "3500Mi") == "4Gi"
    assert (await env.api.get(f"/volumes/{volumes['data']['id']}")).json()["size"] == 4
    assert data.capacity == env.kube.pvs[data.volume_name].capacity == "4Gi"

    start = len(env.plugin.wire)               # already big enough: VolumeInfo only
    assert await env.ctl.expand_claim(data, "4Gi") == "4Gi"
    assert env.calls(start) == [("GET", "/volumes/<id>", 200)]
    await check_accounting(env)

    # -- delete: DELETE, poll until 204; Service (and its Endpoints) removed
    for pvc, *_ in claims:
        pv = env.kube.pvs[pvc.volume_name]
        start = len(env.plugin.wire)
        await env.ctl.delete_claim(pvc)
        assert without_pending(env.calls(start)) == without_pending(DELETE_CALLS)
        assert pv.name not in env.kube.pvs
        ep = (pvc.namespace, pv.glusterfs["endpoints"])
        assert ep not in env.kube.services and ep not in env.kube.endpoints
        assert (await env.api.get(f"/volumes/{volumes[pvc.name]['id']}")).status == 404
    assert await env.volume_ids() == []
    assert all(not t.used for t in env.plugin.gid_tables.values())
    dump = await check_accounting(env)
    assert dump["brickentries"] == {}
    assert all(not host["bricks"] and not host["volumes"]
               for host in env.mock.state()["hosts"].values())


@SQLITE_ONLY
async def test_request_body_is_the_go_clients(k8s):
    """The server gets (and accepts) the exact bytes the plugin's Go client sends."""
    env = await k8s(nodes=3)
    params = env.user_class(clusterid=env.topo["cluster"],
                            volumeoptions="client.ssl off, server.ssl off", snapfactor="1.1")
    cfg = parse_class_parameters(params, env.kube)
    body = volume_create_body(5, "", cfg.cluster_id.split(","), 2000, cfg.volume_type,
                              cfg.volume_options, cfg.thin_pool_snap_factor)
    cluster = env.topo["cluster"]
    assert body.decode() == (
        f'{{"size":5,"clusters":["{cluster}"],"name":"","durability":{{"type":"replicate",'
        '"replicate":{"replica":3},"disperse":{}},"gid":2000,"glustervolumeoptions":'
        '["client.ssl off"," server.ssl off"],"snapshot":{"enable":true,"factor":1.1}}')
    pvc = PVC("web", "5Gi")
    await env.ctl.provision(pvc)
    assert env.plugin.wire[0].sent == body          # what went over the wire
    vol = await check_bound(env, pvc, params, 5, (2000, 2000))
    assert vol["snapshot"]["factor"] == 1.1
    assert vol["glustervolumeoptions"] == ["", "client.ssl off", " server.ssl off", ""]


async def test_statefulset_of_three_replicas(k8s):
    """volumeClaimTemplates: one claim per ordinal, created in order (OrderedReady)."""
    env = await k8s(nodes=3, devices=1)
    params = env.user_class("gluster", volumenameprefix="sts", gidMin="5000", gidMax="5009")
    claims = statefulset_claims("www", "web", 3, "shop", "2Gi", "gluster")
    vols = []
    for pvc in claims:                       # pod N+1 (and its claim) after pod N is Ready
        await env.ctl.provision(pvc)
        vols.append(await check_bound(env, pvc, params, 2, (5000, 5009), "sts"))
    assert [v["name"].split("_")[2] for v in vols] == ["www-web-0", "www-web-1", "www-web-2"]
    assert [v["gid"] for v in vols] == [5000, 5001, 5002]
    assert len({v["id"] for v in vols}) == 3
    for v in vols:                           # replica 3 over the 3 nodes
        assert len({b["node"] for b in v["bricks"]}) == 3
    await check_accounting(env)

    # scale to 1: claims are kept (StatefulSet never deletes them) - volumes stay
    assert len(await env.volume_ids()) == 3
    # grow the first replica's claim, then delete the StatefulSet's claims
    assert await env.ctl.expand_claim(claims[0], "4Gi") == "4Gi"
    for pvc in reversed(claims):
        await env.ctl.delete_claim(pvc)
    assert await env.volume_ids() == []
    assert env.plugin.gid_tables["gluster"].used == set()
    await check_accounting(env)


@SQLITE_ONLY
async def test_unplaceable_claim_fails_with_the_reason_and_leaves_nothing(k8s):
    env = await k8s(nodes=3, devices=1, device_size_gib=10)
    env.user_class("small", gidMin="3000", gidMax="3009")
    big = PVC("huge", "50Gi", "apps", "small")
    assert await env.ctl.provision_until_bound(big, attempts=3) is None
    failures = [text for kind, text in big.events if kind == "ProvisioningFailed"]
    assert len(failures) == 3
    prefix = "failed to create volume: failed to create volume: Failed to allocate new volume: "
    for text in failures:
        assert text.startswith(prefix + "No space"), text
    assert failures[0] == failures[1] == failures[2]
    # nothing left: no volume, no Endpoints/Service, no PV, gid given back
    assert await env.volume_ids() == []
    assert env.kube.endpoints == {} and env.kube.services == {} and env.kube.pvs == {}
    assert env.plugin.gid_tables["small"].used == set()
    await check_accounting(env)
    # a claim that fits still works, and gets the first gid again
    ok = PVC("fits", "2Gi", "apps", "small")
    await env.ctl.provision(ok)
    vol = await check_bound(env, ok, env.kube.storage_classes["small"]["parameters"], 2,
                            (3000, 3000))
    assert vol["durability"] == expected_durability("")


@SQLITE_ONLY
async def test_claim_the_server_refuses_fails_with_its_text(k8s):
    """Requests heketi refuses synchronously come back as the claim's event text."""
    env = await k8s(nodes=3)
    cases = {
        # replica 4 passes the plugin's checks but not the server's
        "rep4": ({"volumetype": "replicate:4"}, "Invalid replica value"),
        # disperse 3:1 is not one of heketi's combinations
        "ec31": ({"volumetype": "disperse:3:1"}, "Invalid dispersion combination: 3+1"),
        # a claim name with a dot makes an invalid volume name
        "dotted": ({"volumenameprefix": "k8s"},
                   "validation failed: name: must be in a valid format."),
        # an unknown cluster id
        "nocluster": ({"clusterid": "0" * 32}, f"Cluster id {'0' * 32} not found"),
    }
    for name, (params, reason) in cases.items():
        env.user_class(name, **params)
        pvc = PVC("a.b" if name == "dotted" else "claim", "1Gi", "apps", name)
        assert await env.ctl.provision_until_bound(pvc, attempts=2) is None
        assert [t for k, t in pvc.events] == [
            f"failed to create volume: failed to create volume: {reason}"] * 2, pvc.events
    assert await env.volume_ids() == []
    assert all(not t.used for t in env.plugin.gid_tables.values())
    await check_accounting(env)


async def test_failed_create_on_the_nodes_fails_cleanly(k8s):
    """An executor failure on every attempt: the queue's 500 text reaches the claim."""
    from pyketi.executors.doubles.fault import FaultExecutor
    env = await k8s(nodes=3, executor=lambda mock: FaultExecutor(mock, [
        {"call": "volume_create", "nth": 0, "action": "fail",
         "message": "volume create: failed: Staging failed"}]))
    env.user_class("g")
    pvc = PVC("db", "1Gi", "apps", "g")
    assert await env.ctl.provision_until_bound(pvc, attempts=2) is None
    for kind, text in pvc.events:
        assert kind == "ProvisioningFailed"
        assert text.startswith("failed to create volume: failed to create volume: "), text
        assert "Staging failed" in text
    # the failure is seen at the poll: POST 202, polls, 500 - and nothing is left
    calls = collapse_polls(env.calls())
    assert calls[0] == ("POST", "/volumes", 202) and calls[-1] == ("GET", "/queue/<id>", 500)
    assert await env.volume_ids() == []
    assert env.kube.endpoints == {}
    await check_accounting(env)


@SQLITE_ONLY
async def test_delete_of_an_old_pv_without_the_volume_id_annotation(k8s):
    """Older PVs have no heketi-volume-id annotation: the id is the path minus ``vol_``."""
    env = await k8s(nodes=3)
    env.user_class("g")
    pvc = PVC("legacy", "1Gi", "apps", "g")
    pv = await env.ctl.provision(pvc)
    volume_id = pv.annotations.pop(ANN_HEKETI_VOLUME_ID)
    assert pv.glusterfs["path"] == f"vol_{volume_id}"
    await env.ctl.delete_claim(pvc)
    assert (await env.api.get(f"/volumes/{volume_id}")).status == 404
    await check_accounting(env)


@pytest.mark.parametrize("storage,gib", [("1Gi", 1), ("1025Mi", 2), ("1G", 1), ("1.5Gi", 2),
                                         ("2147483648", 2), ("1Ti", 1024)])
def test_size_rounding(storage, gib):
    from provisioner import round_up_to_gib_int
    assert round_up_to_gib_int(storage) == gib


@SQLITE_ONLY
async def test_storage_hostnames_must_be_ips(k8s):
    """Endpoints take IPs only: with a storage host name the claim fails with the
    API server's reason and the plugin deletes the volume it just made."""
    env = await k8s(nodes=0)
    cluster = await env.api.cluster()
    for i in range(1, 4):
        body = {"zone": 1, "cluster": cluster, "hostnames": {
            "manage": [f"node{i}.example.com"], "storage": [f"storage{i}.example.com"]}}
        node = await env.api.done(await env.api.post("/nodes", body))
        await env.api.device(node["id"])
    env.user_class("g")
    pvc = PVC("data", "1Gi", "apps", "g")
    assert await env.ctl.provision_until_bound(pvc, attempts=1) is None
    ((kind, text),) = pvc.events
    assert kind == "ProvisioningFailed"
    assert text.startswith(f"failed to create volume: failed to create endpoint/service apps/"
                           f"glusterfs-dynamic-{pvc.uid}: failed to create endpoint: "), text
    assert re.search(r'Invalid value: "storage[123]\.example\.com": must be a valid IP '
                     r"address", text), text
    assert [w.method for w in env.plugin.wire if w.method == "DELETE"] == ["DELETE"]
    assert await env.volume_ids() == []
    await check_accounting(env)
