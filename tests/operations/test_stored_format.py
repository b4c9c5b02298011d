"""Operations recorded by an older pyketi must still be undone (or finished) by the
cleaner of a newer one: step and kind names, and the JSON of their arguments and
data, are a stored format. These are the shapes pyketi has written so far."""

import json

import pytest

from pyketi.operations import steps
from pyketi.operations.registry import KINDS

BRICK = {"id": "b" * 32, "device_id": "d" * 32, "node_storage": "10.0.0.1",
         "size_kib": 1048576, "tp_size_kib": 1048576, "pool_metadata_kib": 8192, "gid": 0,
         "arbiter": False, "tp_name": "tp_" + "b" * 32, "lv_name": "",
         "path": f"/var/lib/heketi/mounts/vg_{'d' * 32}/brick_{'b' * 32}/brick"}
VOLUME = {"name": "vol1", "id": "v" * 32, "durability": "replicate", "replica": 3,
          "arbiter": False, "disperse_data": 0, "disperse_redundancy": 0,
          "bricks": [["10.0.0.1", "/p1"], ["10.0.0.2", "/p2"], ["10.0.0.3", "/p3"]],
          "options": ["performance.rda-cache-limit 10MB"]}

STORED_STEPS = {
    "bricks_create": {"hosts": {"node1": [BRICK]}},
    "bricks_destroy": {"hosts": {"node1": [BRICK]}},
    "bricks_destroy_quietly": {"hosts": {"node1": [BRICK]}},
    "bricks_destroy_when_back": {"hosts": {"node1": [BRICK]}},
    "brick_replace": {"host": "node2", "volume": "vol1", "old": ["10.0.0.1", "/p1"],
                      "new": ["10.0.0.4", "/p4"]},
    "brick_heal_check": {"host": "node2", "volume": "vol1", "brick_id": "b" * 32,
                         "old": ["10.0.0.1", "/p1"], "peers": [["10.0.0.2", "/p2"],
                                                               ["10.0.0.3", "/p3"]],
                         "quorum": 2, "hosts": ["node3"]},
    "volume_create": {"hosts": ["node1", "node2"], "name": "vol1", "volume": VOLUME},
    "volume_destroy": {"hosts": ["node1", "node2"], "name": "vol1"},
    "volume_expand": {"host": "node1", "volume": VOLUME, "new_bricks": [["10.0.0.4", "/p4"]],
                      "rebalance": True},
    "volume_clone": {"hosts": ["node1"], "source": "vol1", "name": "clone1"},
    "device_setup": {"host": "node1", "name": "/dev/sdb", "id": "d" * 32,
                     "destroydata": False},
    "device_teardown": {"host": "node1", "name": "/dev/sdb", "id": "d" * 32,
                        "pv_uuid": "abc", "force": False},
    "device_info": {"host": "node1", "name": "/dev/sdb", "id": "d" * 32, "pv_uuid": "abc"},
    "peer_probe": {"host": "node1", "storage": "10.0.0.4"},
    "peer_detach": {"host": "node1", "storage": "10.0.0.4"},
}

STORED_DATA = {
    "create-volume": {"volume_id": "v" * 32},
    "delete-volume": {"volume_id": "v" * 32},
    "expand-volume": {"volume_id": "v" * 32, "delta": 2},
    "clone-volume": {"volume_id": "v" * 32, "clone_id": "c" * 32},
    "evict-brick": {"old": "b" * 32, "new": "n" * 32, "volume_id": "v" * 32},
    "leftover-bricks": {"bricks": ["b" * 32], "volume_id": "v" * 32},
    "add-device": {"device_id": "d" * 32},
    "delete-device": {"device_id": "d" * 32},
    "resync-device": {"device_id": "d" * 32},
    "add-node": {"node_id": "n" * 32},
    "delete-node": {"node_id": "n" * 32},
}


def test_every_stored_step_name_is_still_known():
    assert set(STORED_STEPS) <= set(steps.STEPS) | set(steps.ALIASES)


def test_every_stored_kind_is_still_known():
    assert set(STORED_DATA) <= set(KINDS)


@pytest.mark.parametrize("name", sorted(STORED_STEPS))
def test_stored_step_arguments_read_back_unchanged(name):
    stored = json.loads(json.dumps([{"name": name, "args": STORED_STEPS[name]}]))
    [step] = steps.load(stored)
    assert json.loads(json.dumps(step.to_json())) == stored[0]


@pytest.mark.parametrize("kind", sorted(STORED_DATA))
def test_stored_operation_data_reads_back_unchanged(kind):
    data = KINDS[kind].data.from_json(STORED_DATA[kind])
    assert json.loads(json.dumps(data.to_json())) == STORED_DATA[kind]
