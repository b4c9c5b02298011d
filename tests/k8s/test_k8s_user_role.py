"""The ``user`` JWT role (``restuser: user``): everything the provisioner needs,
nothing else - and no volume leaks when the provisioner retries.

heketi let a user token create a volume but not poll for it (``iss == user``
only on the exact path ``/volumes``), so the plugin's VolumeCreate failed at the
poll, the controller retried, and every retry left one more volume behind.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from urllib.parse import unquote

import jwt
import pytest
from k8shelp import SQLITE_ONLY, check_accounting, check_bound
from provisioner import PVC

DENIED = "Administrator access required\n"


async def user_flow_ids(api):
    """A topology, one volume and the ids the matrix needs."""
    topo = await api.topology(nodes=3)
    vol = await api.volume(1)
    return {"cid": topo["cluster"], "nid": topo["nodes"][0], "did": topo["devices"][0],
            "vid": vol["id"], "x": "0" * 32}


# every heketi route except the ones the user role may use (spec §1.4)
ADMIN_ONLY = [
    ("POST", "/clusters", {"file": True}), ("GET", "/clusters", None),
    ("DELETE", "/clusters/{cid}", None), ("POST", "/clusters/{cid}/flags", {"file": False}),
    ("POST", "/nodes", {}), ("DELETE", "/nodes/{nid}", None),
    ("POST", "/nodes/{nid}/state", {"state": "offline"}),
    ("POST", "/nodes/{nid}/tags", {"tags": {"a": "b"}, "change_type": "set"}),
    ("POST", "/devices", {}), ("GET", "/devices/{did}", None),
    ("DELETE", "/devices/{did}", None), ("POST", "/devices/{did}/state", {"state": "offline"}),
    ("GET", "/devices/{did}/resync", None),
    ("POST", "/devices/{did}/tags", {"tags": {"a": "b"}, "change_type": "set"}),
    ("POST", "/volumes/{vid}/clone", {}), ("POST", "/volumes/{vid}/block-restriction",
                                           {"restriction": "locked"}),
    ("POST", "/blockvolumes", {"size": 1}), ("GET", "/blockvolumes", None),
    ("GET", "/blockvolumes/{x}", None), ("DELETE", "/blockvolumes/{x}", None),
    ("POST", "/blockvolumes/{x}/expand", {"new_size": 2}),
    ("POST", "/bricks/to-evict/{x}", None),
    ("GET", "/backup/db", None), ("GET", "/db/dump", None), ("GET", "/db/check", None),
    ("GET", "/internal/logging", None), ("POST", "/internal/logging", {"glusterfs": "debug"}),
    ("GET", "/operations", None), ("GET", "/operations/pending", None),
    ("GET", "/operations/pending/{x}", None), ("POST", "/operations/pending/cleanup", {}),
    ("GET", "/internal/state/examine/gluster", None),
    ("GET", "/admin", None), ("POST", "/admin", {"state": "read-only"}),
    # near misses of the allowed paths: the role check is on the exact path
    ("GET", "/volumes/", None), ("GET", "/Volumes", None), ("GET", "/clusters/{cid}/", None),
    ("GET", "/nodes", None), ("PUT", "/volumes/{vid}", None),
    ("GET", "/volumes%0A", None), ("GET", "/clusters/{cid}%0A", None),
]


def user_token(api, method: str, path: str) -> str:
    """A user token whose qsh is over the path as the server decodes it (Go's
    ``URL.Path``), so ``%0A`` is signed as a newline."""
    now = int(time.time())
    qsh = hashlib.sha256(f"{method}&{unquote(path)}".encode()).hexdigest()
    return "bearer " + jwt.encode({"iss": "user", "iat": now, "exp": now + 60, "qsh": qsh},
                                  api.rt.config.user_key, algorithm="HS256")


@SQLITE_ONLY
async def test_user_role_is_refused_everywhere_else(api):
    ids = await user_flow_ids(api)
    before = (await api.get("/db/dump")).json()
    for method, template, body in ADMIN_ONLY:
        path = template.format(**ids)
        r = await api.request(method, path, body, auth=False,
                              headers={"Authorization": user_token(api, method, path)})
        assert (r.status, r.text) == (401, DENIED), (method, path, r.status, r.text)
    after = (await api.get("/db/dump")).json()
    assert after == before                                  # nothing was changed
    assert (await api.get("/admin")).json() == {"state": "normal"}


@SQLITE_ONLY
async def test_user_role_does_the_whole_volume_life_cycle(api):
    ids = await user_flow_ids(api)
    # read-only calls the provisioner makes for Endpoints
    cluster = await api.get(f"/clusters/{ids['cid']}", role="user")
    assert cluster.status == 200 and ids["nid"] in cluster.json()["nodes"]
    node = await api.get(f"/nodes/{ids['nid']}", role="user")
    assert node.status == 200 and node.json()["hostnames"]["storage"] == ["10.99.0.1"]
    assert (await api.get(f"/clusters/{'0' * 32}", role="user")).text == "Id not found\n"
    # create, poll (303 → GET), expand, delete: all with the user token
    r = await api.post("/volumes", {"size": 1, "gid": 2345}, role="user")
    vol = await api.done(r, role="user")
    assert vol["gid"] == 2345
    assert vol["id"] in (await api.get("/volumes", role="user")).json()["volumes"]
    assert (await api.get(f"/volumes/{vol['id']}", role="user")).json()["size"] == 1
    grown = await api.done(await api.post(f"/volumes/{vol['id']}/expand", {"expand_size": 1},
                                          role="user"), role="user")
    assert grown["size"] == 2
    assert await api.done(await api.delete(f"/volumes/{vol['id']}", role="user"),
                          role="user") is None
    assert (await api.get(f"/volumes/{vol['id']}", role="user")).status == 404


HEKETI_USER_ROUTES = (("GET", re.compile(r"^/volumes\Z")), ("POST", re.compile(r"^/volumes\Z")))


@pytest.mark.parametrize("rules", ["pyketi", "heketi"])
async def test_provisioner_retries_never_leak_volumes(k8s, monkeypatch, rules):
    """The heketi failure mode, tried for real: a user-token class, a claim the
    controller keeps retrying until it binds. With heketi's role rule (the
    control case) every attempt leaves a volume behind; with pyketi's the
    first attempt binds and exactly one volume exists."""
    env = await k8s(nodes=3)
    if rules == "heketi":
        from pyketi.api import auth
        monkeypatch.setattr(auth, "USER_ROUTES", HEKETI_USER_ROUTES)
    params = env.user_class("gluster", gidMin="2000", gidMax="2099")
    pvc = PVC("data", "1Gi", "apps", "gluster")
    attempts = 4
    pv = await env.ctl.provision_until_bound(pvc, attempts=attempts)
    posts = [w for w in env.plugin.wire if (w.method, w.path) == ("POST", "/volumes")]
    assert all(w.iss == "user" and w.status == 202 for w in posts)
    await env.api.rt.runner.jobs.wait_idle()          # creates nobody polled run to their end
    volumes = await env.volume_ids()
    if rules == "heketi":
        assert pv is None
        assert [t for _, t in pvc.events] == [
            "failed to create volume: failed to create volume: Administrator access required"
        ] * attempts
        assert len(posts) == attempts and len(volumes) == attempts       # the leak
        return
    assert pv is not None and pvc.events == [pvc.events[0]]
    assert pvc.events[0][0] == "ProvisioningSucceeded"
    assert len(posts) == 1
    assert volumes == [pv.annotations["gluster.kubernetes.io/heketi-volume-id"]]
    assert all(w.status != 401 for w in env.plugin.wire)
    await check_bound(env, pvc, params, 1, (2000, 2099))
    await check_accounting(env)


@SQLITE_ONLY
async def test_endpoints_failure_deletes_the_volume_with_the_user_token(k8s):
    """If the Endpoints cannot be created the plugin deletes the new volume (with
    heketi and a user token that DELETE was refused: one more leak)."""
    env = await k8s(nodes=3)
    params = env.user_class("gluster")
    env.kube.fail_endpoint_creates = 1
    pvc = PVC("data", "1Gi", "apps", "gluster")
    pv = await env.ctl.provision_until_bound(pvc, attempts=3)
    assert pv is not None
    kind, text = pvc.events[0]
    assert kind == "ProvisioningFailed"
    assert text.startswith(f"failed to create volume: failed to create endpoint/service apps/"
                           f"glusterfs-dynamic-{pvc.uid}: failed to create endpoint: ")
    deletes = [w for w in env.plugin.wire if w.method == "DELETE"]
    assert [(w.iss, w.status) for w in deletes] == [("user", 202)]
    assert await env.volume_ids() == [pv.annotations["gluster.kubernetes.io/heketi-volume-id"]]
    await check_bound(env, pvc, params, 1, (2000, 2000))
    await check_accounting(env)


async def test_busy_server_429_retries_do_not_leak(k8s):
    """Above ``max_inflight_operations`` the POST gets 429 and the Go client sends
    the same request again later: a refused request creates nothing."""
    env = await k8s(nodes=3, devices=2, max_inflight_operations=2)
    params = env.user_class("gluster", gidMin="7000", gidMax="7099")
    claims = [PVC(f"c{i}", "1Gi", "apps", "gluster") for i in range(12)]
    bound = await asyncio.gather(*(env.ctl.provision_until_bound(c, attempts=5)
                                   for c in claims))
    busy = [w for w in env.plugin.wire if w.status == 429]
    assert busy and all(w.body == "Server busy. Retry operation later.\n" for w in busy)
    assert all(pv is not None for pv in bound), [c.events for c in claims]
    posts = [w for w in env.plugin.wire if (w.method, w.path) == ("POST", "/volumes")]
    assert len([w for w in posts if w.status == 202]) == 12
    assert len(await env.volume_ids()) == 12
    for pvc in claims:
        await check_bound(env, pvc, params, 1, (7000, 7099))
    await check_accounting(env)
