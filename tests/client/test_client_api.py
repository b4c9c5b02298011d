"""pyketi.client against a real server: routes, async protocol, 429, 500."""

from __future__ import annotations

import threading
import time

import pytest
from server_process import ADMIN_SECRET, USER_SECRET  # registered by conftest

from pyketi.client import Client, PollPolicy, PyketiError, RetryPolicy

ID_LEN = 32
FAST_RETRY = RetryPolicy(attempts=20, min_delay=0.1, max_delay=0.3)


def add_nodes(client: Client, count: int = 3, *, zone_per_node: bool = False) -> str:
    cluster = client.cluster_create()
    for i in range(count):
        node = client.node_add(cluster=cluster["id"], zone=i + 1 if zone_per_node else 1,
                               manage=f"client-node{i}", storage=f"192.0.2.{50 + i}",
                               tags={"n": str(i)})
        assert node["state"] == "online" and node["tags"] == {"n": str(i)}
        assert client.device_add(node=node["id"], name="/dev/sdb",
                                 tags={"disk": "hdd"}) is None
    return cluster["id"]


def test_clusters_nodes_devices_round_trip(client):
    assert client.hello() == "Hello from Heketi"
    cluster_id = add_nodes(client)
    info = client.cluster_info(cluster_id)
    assert list(info)[:3] == ["id", "nodes", "volumes"] and len(info["nodes"]) == 3
    assert client.cluster_list() == {"clusters": [cluster_id]}

    node = client.node_info(info["nodes"][0])
    device = node["devices"][0]
    assert device["tags"] == {"disk": "hdd"} and device["state"] == "online"
    assert client.device_info(device["id"])["name"] == "/dev/sdb"
    assert client.node_set_tags(node["id"], {"x": "y"}) == {"n": node["tags"]["n"], "x": "y"}
    assert client.device_set_tags(device["id"], {}, "set") == {}
    assert client.node_set_state(node["id"], "offline") is None
    assert client.node_info(node["id"])["state"] == "offline"
    client.node_set_state(node["id"], "online")
    client.device_set_state(device["id"], "offline")
    client.device_set_state(device["id"], "online")
    client.device_resync(device["id"])
    client.cluster_set_flags(cluster_id, block=False, file=True)
    assert client.cluster_info(cluster_id)["block"] is False

    topology = client.topology_info()
    assert [list(c) for c in topology["clusters"]] == [["volumes", "nodes", "id", "block", "file"]]
    assert {n["id"] for n in topology["clusters"][0]["nodes"]} == set(info["nodes"])

    assert client.operations_info()["total"] == 0
    assert client.pending_operations() == {"pendingoperations": []}
    client.operations_cleanup()
    assert client.admin_status() == {"state": "normal"}
    client.admin_set_status("normal")
    assert len(client.db_dump()["nodeentries"]) == 3
    assert client.db_check()["totalinconsistencies"] == 0
    assert "heketi_up" in client.metrics()


def test_volume_life_cycle_follows_the_async_protocol(client):
    add_nodes(client)
    volume = client.volume_create(size=2, durability="replicate", replica=3, name="cv1")
    assert len(volume["id"]) == ID_LEN and volume["name"] == "cv1"
    assert volume["durability"]["replicate"] == {"replica": 3}
    assert client.volume_list() == {"volumes": [volume["id"]]}
    assert client.volume_expand(volume["id"], 1)["size"] == 3
    clone = client.volume_clone(volume["id"], "cv1clone")
    assert clone["name"] == "cv1clone" and clone["id"] != volume["id"]
    assert client.volume_delete(clone["id"]) is None
    assert client.volume_delete(volume["id"]) is None
    with pytest.raises(PyketiError) as err:
        client.volume_info(volume["id"])
    assert (err.value.status, err.value.message) == (404, "Id not found")


def test_default_durability_is_the_servers(client):
    add_nodes(client)
    volume = client.volume_create(size=1)
    assert volume["durability"]["type"] == "none"


def test_errors_carry_status_and_server_message(client, server):
    with pytest.raises(PyketiError) as err:
        client.node_info("0" * 32)
    assert err.value.status == 404 and str(err.value) == "Id not found"

    with pytest.raises(PyketiError) as err:
        Client(server.url, "admin", "wrong").cluster_list()
    assert err.value.status == 401
    assert err.value.message.startswith("Invalid JWT token: signature is invalid")

    with pytest.raises(PyketiError) as err:
        client.volume_create(size=1)  # no clusters yet
    assert err.value.status == 400 and err.value.message == "No clusters configured"

    with pytest.raises(PyketiError) as err:
        Client("http://127.0.0.1:9", timeout=2).cluster_list()
    assert err.value.status == 0 and "unable to connect" in err.value.message


def test_user_token_may_list_volumes_only(server):
    user = Client(server.url, "user", USER_SECRET)
    assert user.volume_list() == {"volumes": []}
    with pytest.raises(PyketiError) as err:
        user.cluster_list()
    assert (err.value.status, err.value.message) == (401, "Administrator access required")


def test_failed_operation_raises_the_queue_500(server_factory):
    server = server_factory(glusterfs={
        "executor": "fault",
        "operation_retry_limits": {"volume_create": 0},
        "injectexec": {"base": "mock", "rules": [
            {"call": "volume_create", "nth": 1, "action": "fail", "message": "injected"}]}})
    client = Client(server.url, "admin", ADMIN_SECRET, retry=FAST_RETRY)
    add_nodes(client)
    with pytest.raises(PyketiError) as err:
        client.volume_create(size=1, durability="replicate", replica=3)
    assert err.value.status == 500
    assert "injected" in err.value.message
    assert client.volume_list() == {"volumes": []}
    # the next create is not affected by the one-shot fault
    assert client.volume_create(size=1)["size"] == 1


def test_busy_server_429_is_retried_until_it_frees_up(server_factory):
    server = server_factory(glusterfs={
        "executor": "fault", "max_inflight_operations": 1,
        "injectexec": {"base": "mock", "rules": [
            {"call": "bricks_create", "nth": 1, "action": "hang", "seconds": 3}]}})
    setup = Client(server.url, "admin", ADMIN_SECRET)
    add_nodes(setup)

    first: dict = {}
    slow = threading.Thread(target=lambda: first.update(setup.volume_create(size=1)))
    slow.start()
    try:
        # wait until the slow create holds the only operation slot
        deadline = time.monotonic() + 10
        while setup.operations_info()["in_flight"] < 1:
            assert time.monotonic() < deadline, "first create never became in-flight"
            time.sleep(0.02)

        impatient = Client(server.url, "admin", ADMIN_SECRET, retry=RetryPolicy(attempts=0))
        with pytest.raises(PyketiError) as err:
            impatient.volume_create(size=1)
        assert (err.value.status, err.value.message) == (
            429, "Server busy. Retry operation later.")

        statuses: list[str] = []
        patient = Client(server.url, "admin", ADMIN_SECRET,
                         retry=RetryPolicy(attempts=40, min_delay=0.1, max_delay=0.2),
                         observer=statuses.append)
        started = time.monotonic()
        second = patient.volume_create(size=1)
        assert len(second["id"]) == ID_LEN
        assert any(s.startswith("server busy, retry 1/40") for s in statuses), statuses
        assert time.monotonic() - started < 10
    finally:
        slow.join(30)
    assert first["size"] == 1
    assert sorted(setup.volume_list()["volumes"]) == sorted([first["id"], second["id"]])


def test_poll_timeout_gives_up_without_consuming_forever(server_factory):
    server = server_factory(glusterfs={
        "executor": "fault",
        "injectexec": {"base": "mock", "rules": [
            {"call": "bricks_create", "nth": 1, "action": "hang", "seconds": 2}]}})
    client = Client(server.url, "admin", ADMIN_SECRET,
                    poll=PollPolicy(initial=0.01, maximum=0.05, timeout=0.5))
    add_nodes(client)
    statuses: list[str] = []
    client.transport.observer = statuses.append
    with pytest.raises(PyketiError) as err:
        client.volume_create(size=1)
    assert err.value.status == 0 and "gave up after" in err.value.message
    polls = [s for s in statuses if s.startswith("waiting for /queue/")]
    assert len(polls) >= 5  # 10 ms growing by 2x to a 50 ms cap within 0.5 s
