"""loglevel, server state examine gluster, volume endpoint, brick evict,
device resync --cluster, rmtags aliases: heketi-cli's wording, real server."""

from __future__ import annotations

import json
import re

from clitools import load_sample

ID = r"[0-9a-f]{32}"


def test_loglevel_get_set_and_examine_gluster(cli):
    assert cli.ok("loglevel", "get").stdout in {f"{level}\n" for level in
                                                 ("none", "critical", "error", "warning",
                                                  "info", "debug")}
    assert cli.ok("loglevel", "set", "debug").stdout == "Server log level updated\n"
    assert cli.ok("loglevel", "get").stdout == "debug\n"
    assert cli.json("loglevel", "get") == {"loglevel": {"glusterfs": "debug"}}
    assert cli.fails("loglevel", "set", "chatty").stderr == "Error: invalid log level: chatty\n"
    assert cli.ok("loglevel", "set", "warning").stdout == "Server log level updated\n"
    assert cli.ok("loglevel", "get").stdout == "warning\n"
    assert "LEVEL" in cli.fails("loglevel", "set").stderr

    load_sample(cli, "lab-3node.json")
    volume = cli.json("volume", "create", "--size=1")
    report = json.loads(cli.ok("server", "state", "examine", "gluster").stdout)
    assert set(report) == {"heketidb", "report", "clusters", "drift"}  # drift: pyketi addition
    assert volume["id"] in report["heketidb"]["volumeentries"]


def test_volume_endpoint_patch_and_service(cli):
    load_sample(cli, "lab-3node.json")
    volume = cli.json("volume", "create", "--size=1")
    hosts = volume["mount"]["glusterfs"]["hosts"]
    assert len(hosts) == 3
    patch = cli.ok("volume", "endpoint", "patch", volume["id"]).stdout
    # heketi-cli: {"subsets": <compact JSON>}, one subset per mount host, port 1, no newline
    assert patch == '{"subsets": [' + ",".join(
        f'{{"addresses":[{{"ip":"{h}"}}],"ports":[{{"port":1}}]}}' for h in hosts) + "]}"
    service = json.loads(cli.ok("volume", "endpoint", "service", volume["id"]).stdout)
    assert service == {"kind": "Service", "apiVersion": "v1",
                       "metadata": {"name": f"glusterfs-{volume['id'][:8]}"},
                       "spec": {"ports": [{"port": 1}]}}
    named = cli.ok("volume", "endpoint", "service", volume["id"], "--name=gfs-ep").stdout
    assert json.loads(named)["metadata"]["name"] == "gfs-ep"
    assert cli.fails("volume", "endpoint", "patch", "0" * 32).stderr == "Error: Id not found\n"


def test_brick_evict(cli):
    load_sample(cli, "zones-3x2.json")
    volume = cli.json("volume", "create", "--size=1")
    brick = volume["bricks"][0]
    assert cli.ok("brick", "evict", brick["id"]).stdout == f"Brick {brick['id']} evicted\n"
    after = cli.json("volume", "info", volume["id"])
    assert brick["id"] not in {b["id"] for b in after["bricks"]}
    assert len(after["bricks"]) == len(volume["bricks"])
    assert cli.fails("brick", "evict", "0" * 32).stderr == "Error: Id not found\n"


def test_device_resync_cluster_and_rmtags_aliases(cli):
    load_sample(cli, "lab-3node.json")
    cluster = cli.json("topology", "info")["clusters"][0]
    out = cli.ok("device", "resync", "--cluster", cluster["id"]).stdout
    lines = out.splitlines()
    assert lines[0] == "Cluster-wide resync operation requested. Using object_id as cluster_id."
    expected = []
    for node in cluster["nodes"]:
        for device in node["devices"]:
            expected += [f"Now resyncing device {device['id']}..",
                         f"Device {device['id']} (node {node['id']}) in cluster "
                         f"{cluster['id']} updated"]
    assert sorted(lines[1:]) == sorted(expected)
    assert len(lines) == 1 + 2 * 6

    node_id = cluster["nodes"][0]["id"]
    cli.ok("node", "settags", node_id, "a:1", "b:2", "c:3")
    cli.ok("node", "deltags", node_id, "a")
    cli.ok("node", "removetags", node_id, "b")
    assert cli.json("node", "info", node_id)["tags"] == {"c": "3"}
    assert re.search(r"rmtags \(deltags, removetags\)",
                     cli.ok("node", "--help").stdout)


def test_operations_list_shows_the_progress_of_a_running_operation():
    from pyketi.cli import output
    ops = {"pendingoperations": [
        {"id": "a" * 32, "type_name": "evict-brick", "status": "", "sub_status": "in-flight",
         "progress": "device remove: device d, brick 1 of 2 (b); step 2/4 bricks_create on n4"},
        {"id": "b" * 32, "type_name": "create-volume", "status": "failed", "sub_status": ""}]}
    assert output.operations_list_text(ops) == (
        f"Id:{'a' * 32}  Type:evict-brick  Status:New in-flight  Progress: device remove: "
        "device d, brick 1 of 2 (b); step 2/4 bricks_create on n4\n"
        f"Id:{'b' * 32}  Type:create-volume  Status:failed \n")
