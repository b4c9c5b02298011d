"""``Client.topology_info``: one ``GET /topology`` on pyketi; on a server without
that route (heketi, an older pyketi: 404) the composition heketi's client makes,
with the same result."""

from __future__ import annotations

import pytest

from pyketi.client import Client, PyketiError
from server_process import ADMIN_SECRET, USER_SECRET


def small_topology(client: Client) -> str:
    cluster = client.cluster_create()["id"]
    for i in range(1, 4):
        node = client.node_add(cluster=cluster, zone=i, manage=f"node{i}.example.com",
                               storage=f"10.99.0.{i}")
        client.device_add(node=node["id"], name="/dev/sdb")
    client.volume_create(size=1, durability="replicate", replica=3)
    client.volume_create(size=2, durability="replicate", replica=3)
    return cluster


def test_one_request_on_pyketi_and_the_composition_on_heketi(client, heketi_like):
    cluster = small_topology(client)
    bulk = client.topology_info()
    assert [c["id"] for c in bulk["clusters"]] == [cluster]
    assert len(bulk["clusters"][0]["volumes"]) == 2
    assert len(bulk["clusters"][0]["nodes"]) == 3

    fallback = Client(heketi_like.url, "admin", ADMIN_SECRET, timeout=30.0)
    assert fallback.topology_info() == bulk
    volumes = bulk["clusters"][0]["volumes"]
    nodes = bulk["clusters"][0]["nodes"]
    assert heketi_like.seen == (["/topology", "/clusters", f"/clusters/{cluster}"]
                                + [f"/volumes/{v['id']}" for v in volumes]
                                + [f"/nodes/{n['id']}" for n in nodes])
    # the client remembers that the server has no such route
    heketi_like.seen.clear()
    assert fallback.topology_info() == bulk
    assert "/topology" not in heketi_like.seen
    assert client.topology_info_composed() == bulk


def test_refusals_other_than_404_are_not_hidden(server):
    user = Client(server.url, "user", USER_SECRET, timeout=30.0)
    with pytest.raises(PyketiError) as err:
        user.topology_info()
    assert (err.value.status, err.value.message) == (401, "Administrator access required")
