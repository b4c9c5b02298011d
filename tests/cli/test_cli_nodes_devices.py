"""Clusters, nodes and devices through pyketi-cli, against a real server."""

from __future__ import annotations

import re

from clitools import ADMIN_SECRET, load_sample

ID = r"[0-9a-f]{32}"


def test_cluster_create_flags_list_info_delete(cli):
    created = cli.ok("cluster", "create", "--block=false")
    match = re.fullmatch(rf"Cluster id: ({ID})\n", created.stdout)
    assert match, created.stdout
    cluster_id = match.group(1)
    assert cli.ok("cluster", "info", cluster_id).stdout == (
        f"Cluster id: {cluster_id}\nNodes:\n\nVolumes:\n\nBlock: false\n\nFile: true\n")
    assert cli.ok("cluster", "list").stdout == f"Clusters:\nId:{cluster_id} [file]\n"

    # booleans the heketi-cli ways: --flag=value and a space-separated value
    cli.ok("cluster", "setflags", cluster_id, "--block=true")
    cli.ok("cluster", "setflags", "--file", "false", cluster_id)
    info = cli.json("cluster", "info", cluster_id)
    assert (info["block"], info["file"]) == (True, False)
    assert cli.ok("cluster", "list").stdout == f"Clusters:\nId:{cluster_id} [block]\n"
    assert "At least one of --file or --block" in cli.fails(
        "cluster", "setflags", cluster_id).stderr
    assert "expected true or false" in cli.fails(
        "cluster", "setflags", cluster_id, "--block=maybe").stderr

    assert cli.ok("cluster", "delete", cluster_id).stdout == f"Cluster {cluster_id} deleted\n"
    assert cli.json("cluster", "list") == {"clusters": []}


def test_node_and_device_lifecycle(cli):
    cluster_id = cli.json("cluster", "create")["id"]
    added = cli.ok("node", "add", "--zone=2", f"--cluster={cluster_id}",
                   "--management-host-name", "life-node1", "--storage-host-name=192.0.2.101")
    match = re.fullmatch(
        rf"Node information:\nNode Id: ({ID})\nState: online\nCluster Id: {cluster_id}\n"
        r"Zone: 2\nManagement Hostname: life-node1\nStorage Hostname: 192.0.2.101\n",
        added.stdout)
    assert match, added.stdout
    node_id = match.group(1)
    assert cli.ok("node", "list").stdout == f"Id:{node_id}\tCluster:{cluster_id}\n"

    assert cli.ok("device", "add", "--name=/dev/sdb", f"--node={node_id}").stdout == \
        "Device added successfully\n"
    node = cli.json("node", "info", node_id)
    assert [d["name"] for d in node["devices"]] == ["/dev/sdb"]
    device_id = node["devices"][0]["id"]
    text = cli.ok("node", "info", node_id).stdout
    assert text.startswith(f"Node Id: {node_id}\nState: online\nCluster Id: {cluster_id}\n"
                           "Zone: 2\nManagement Hostname: life-node1\n"
                           "Storage Hostname: 192.0.2.101\nDevices:\n")
    assert re.search(rf"^Id:{device_id}   Name:/dev/sdb            State:online    "
                     r"Size \(GiB\):\d+\s+Used \(GiB\):0\s+Free \(GiB\):\d+\s+Bricks:0\s*$",
                     text, re.MULTILINE), text

    device_text = cli.ok("device", "info", device_id).stdout
    assert device_text.startswith(f"Device Id: {device_id}\nState: online\nSize (GiB): ")
    assert "Create Path: /dev/sdb\n" in device_text and device_text.endswith("Bricks:\n")

    # enable / disable, node and device
    assert cli.ok("node", "disable", node_id).stdout == f"Node {node_id} is now offline\n"
    assert cli.json("node", "info", node_id)["state"] == "offline"
    assert cli.ok("node", "enable", node_id).stdout == f"Node {node_id} is now online\n"
    assert cli.ok("device", "disable", device_id).stdout == f"Device {device_id} is now offline\n"
    assert cli.json("device", "info", device_id)["state"] == "offline"
    assert cli.ok("device", "enable", device_id).stdout == f"Device {device_id} is now online\n"
    assert cli.ok("device", "resync", device_id).stdout == f"Device {device_id} updated\n"

    # removing needs offline first; the server says why
    assert "must be offline" in cli.fails("device", "remove", device_id).stderr
    cli.ok("device", "disable", device_id)
    assert cli.ok("device", "remove", device_id).stdout == f"Device {device_id} is now removed\n"
    # heketi-cli shows the "failed" state as "removed"
    assert cli.json("device", "info", device_id)["state"] == "failed"
    assert "\nState: removed\n" in cli.ok("device", "info", device_id).stdout
    assert re.search(rf"^Id:{device_id}   Name:/dev/sdb            State:removed   ",
                     cli.ok("node", "info", node_id).stdout, re.MULTILINE)
    assert cli.ok("device", "delete", device_id).stdout == f"Device {device_id} deleted\n"
    assert cli.ok("node", "delete", node_id).stdout == f"Node {node_id} deleted\n"
    cli.ok("cluster", "delete", cluster_id)


def test_tags_on_nodes_and_devices(cli):
    load_sample(cli, "tagged-devices.json")
    node = next(n for c in cli.json("topology", "info")["clusters"] for n in c["nodes"]
                if n["hostnames"]["manage"] == ["tagged-node1"])
    node_id = node["id"]
    assert node["tags"] == {"rack": "r1", "arbiter": "supported"}

    cli.ok("node", "settags", node_id, "rack:r9", "owner:team-a")
    assert cli.json("node", "info", node_id)["tags"] == {
        "rack": "r9", "arbiter": "supported", "owner": "team-a"}
    cli.ok("node", "rmtags", node_id, "owner")
    assert cli.json("node", "info", node_id)["tags"] == {"rack": "r9", "arbiter": "supported"}
    cli.ok("node", "settags", node_id, "--exact", "only:this")
    assert cli.json("node", "info", node_id)["tags"] == {"only": "this"}
    cli.ok("node", "rmtags", node_id, "--all")
    assert "tags" not in cli.json("node", "info", node_id)
    assert "expected colon" in cli.fails("node", "settags", node_id, "novalue").stderr

    device = next(d for d in node["devices"] if d["name"] == "/dev/nvme0n1")
    assert device["tags"] == {"disktype": "ssd"}
    assert cli.json("device", "settags", device["id"], "speed:fast") == {
        "disktype": "ssd", "speed": "fast"}
    cli.ok("device", "rmtags", device["id"], "disktype")
    assert cli.json("device", "info", device["id"])["tags"] == {"speed": "fast"}
    assert "Tags:\n  speed: fast\n" in cli.ok("device", "info", device["id"]).stdout


def test_disabled_node_takes_no_new_bricks(cli):
    load_sample(cli, "zones-3x2.json")
    topology = cli.json("topology", "info")
    node = topology["clusters"][0]["nodes"][0]
    cli.ok("node", "disable", node["id"])
    volume = cli.json("volume", "create", "--size=2")
    assert node["id"] not in {b["node"] for b in volume["bricks"]}
    cli.ok("node", "enable", node["id"])


def test_server_operations_mode_and_db(cli):
    load_sample(cli, "lab-3node.json")
    assert cli.ok("server", "operations", "info").stdout == (
        "Operation Counts:\n  Total: 0\n  In-Flight: 0\n  New: 0\n  Failed: 0\n  Stale: 0\n")
    assert cli.json("server", "operations", "info")["total"] == 0
    assert cli.ok("server", "operations", "list").stdout == ""
    cleanup = cli.ok("server", "operations", "cleanup")
    assert cleanup.stdout == "" and cleanup.stderr.startswith("Note: Operation clean up")

    assert cli.ok("server", "mode", "get").stdout == "normal\n"
    cli.ok("server", "mode", "set", "local-client")
    assert cli.ok("server", "mode", "get").stdout == "local-client\n"
    cli.ok("server", "mode", "set", "normal")
    assert "invalid choice" in cli.fails("server", "mode", "set", "sideways").stderr

    import json

    from pyketi.client.http import Transport
    raw = Transport(cli.env["HEKETI_CLI_SERVER"], "admin", ADMIN_SECRET)
    dump_text = cli.ok("db", "dump").stdout
    dump = json.loads(dump_text)
    assert len(dump["nodeentries"]) == 3 and len(dump["deviceentries"]) == 6
    check_text = cli.ok("db", "check").stdout
    assert json.loads(check_text)["totalinconsistencies"] == 0
    # printed as the server sent it, like heketi-cli
    assert check_text == raw.send("GET", "/db/check").text()
    assert dump_text.startswith("{\n    \"") and dump_text.endswith("}\n")
