"""glusterd stopped on the nodes: a create fails naming the reason gluster gives.

The gluster CLI prints why it failed ("Connection failed. Please check if gluster
daemon is operational.") on stdout and exits 1, with nothing on stderr; the error
of the create must say so, not "Process exited with status 1".  Real sockets: the
pyketi app (in process, ssh executor) and an OpenSSH server on 127.0.0.1-3 whose
node commands are stubs (``stub_node``).
"""

from __future__ import annotations

import logging

import pytest

from pyketi.executors.factory import make_executor
from sshd_server import Sshd
from stub_node import stub_node_or_skip

NODES = ("127.0.0.1", "127.0.0.2", "127.0.0.3")
REASON = "Connection failed. Please check if gluster daemon is operational."


@pytest.fixture
def nodes(tmp_path):
    stub = stub_node_or_skip(tmp_path / "node")
    (tmp_path / "sshd").mkdir()
    sshd = Sshd(tmp_path / "sshd", addresses=NODES, extra_config=stub.sshd_config)
    try:
        yield stub, sshd
    finally:
        sshd.stop()


async def test_create_with_glusterd_down_names_the_reason_and_undoes(
        nodes, make_api, sqlite_url, caplog):
    stub, sshd = nodes
    executor = make_executor({
        "executor": "ssh",
        "sshexec": {"keyfile": str(sshd.client_key), "user": "root", "port": str(sshd.port),
                    "known_hosts": str(sshd.known_hosts), "lvm_wrapper": stub.lvm_wrapper}},
        env={})
    api = await make_api(sqlite_url, executor=executor)
    cluster = await api.cluster()
    for host in NODES:
        body = {"zone": 1, "cluster": cluster,
                "hostnames": {"manage": [host], "storage": [host]}}
        node = await api.done(await api.post("/nodes", body))
        await api.done(await api.post("/devices", {"node": node["id"], "name": "/dev/sdb"}))
    for host in NODES:
        stub.glusterd_down(host)

    caplog.set_level(logging.DEBUG)
    reply = await api.post("/volumes", {"size": 1, "durability": {
        "type": "replicate", "replicate": {"replica": 3}}})
    assert reply.status == 202
    final = await api.wait(reply, timeout=60)
    assert final.status == 500, (final.status, final.text)
    assert REASON in final.text and "Process exited" not in final.text, final.text
    assert any(REASON in r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR)

    # the bricks made before gluster was asked are gone again, nothing is pending
    made = [c for c in stub.calls() if c[1] == "lvmwrap" and c[3] == "lvcreate"]
    removed = [c for c in stub.calls() if c[1] == "lvmwrap" and c[3] == "lvremove"]
    assert made and removed
    assert (await api.get("/operations/pending")).json()["pendingoperations"] == []
    assert (await api.get("/volumes")).json()["volumes"] == []
    for d in ((await api.get(f"/clusters/{cluster}")).json()["nodes"]):
        node = (await api.get(f"/nodes/{d}")).json()
        assert all(dev["storage"]["used"] == 0 for dev in node["devices"]), node
