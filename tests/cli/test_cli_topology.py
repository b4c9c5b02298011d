"""``topology load`` / ``topology info`` end to end against a real server."""

from __future__ import annotations

import json
import re

import pytest
from clitools import TOPOLOGY_DIR, Cli, load_sample

SAMPLES = ["lab-3node.json", "zones-3x2.json", "tagged-devices.json"]


def sample(name: str) -> dict:
    return json.loads((TOPOLOGY_DIR / name).read_text())


def device_names(entry: dict) -> list[str]:
    return [d if isinstance(d, str) else d["name"] for d in entry["devices"]]


def nodes_by_manage(topology: dict) -> dict[str, dict]:
    return {n["hostnames"]["manage"][0]: n
            for c in topology["clusters"] for n in c["nodes"]}


def test_samples_use_ip_addresses_for_storage_hostnames():
    import ipaddress
    for name in SAMPLES:
        for cluster in sample(name)["clusters"]:
            for entry in cluster["nodes"]:
                for host in entry["node"]["hostnames"]["storage"]:
                    ipaddress.ip_address(host)  # raises if not an IP


@pytest.mark.parametrize("name", SAMPLES)
def test_sample_loads_and_a_second_load_adds_nothing(cli, name):
    expected = sample(name)["clusters"][0]
    first = load_sample(cli, name)
    out = first.stdout
    assert re.match(r"Creating cluster \.\.\. ID: [0-9a-f]{32}\n", out), out
    assert out.count("\tAllowing file volumes on cluster.") == (1 if expected.get("file", True) else 0)
    assert out.count("\tAllowing block volumes on cluster.") == (1 if expected.get("block", True) else 0)
    for entry in expected["nodes"]:
        host = entry["node"]["hostnames"]["manage"][0]
        assert re.search(rf"^\tCreating node {host} \.\.\. ID: [0-9a-f]{{32}}$", out, re.MULTILINE), out
    n_devices = sum(len(e["devices"]) for e in expected["nodes"])
    assert len(re.findall(r"^\t\tAdding device /dev/\S+ \.\.\. OK$", out, re.MULTILINE)) == n_devices
    assert first.stderr == ""

    before = cli.json("topology", "info")
    second = load_sample(cli, name)
    assert "Creating" not in second.stdout and "Adding" not in second.stdout, second.stdout
    cluster_id = before["clusters"][0]["id"]
    for entry in expected["nodes"]:
        host = entry["node"]["hostnames"]["manage"][0]
        assert f"\tFound node {host} on cluster {cluster_id}\n" in second.stdout
    assert second.stdout.count("\t\tFound device ") == n_devices
    assert cli.json("topology", "info") == before

    # what the file says is what the server holds
    assert len(before["clusters"]) == 1
    cluster = before["clusters"][0]
    assert cluster["file"] is expected.get("file", True)
    assert cluster["block"] is expected.get("block", True)
    nodes = nodes_by_manage(before)
    for entry in expected["nodes"]:
        node = nodes[entry["node"]["hostnames"]["manage"][0]]
        assert node["hostnames"]["storage"] == entry["node"]["hostnames"]["storage"]
        assert node["zone"] == entry["node"]["zone"]
        assert node.get("tags", {}) == entry["node"].get("tags", {})
        assert sorted(d["name"] for d in node["devices"]) == sorted(device_names(entry))
        for want in entry["devices"]:
            if isinstance(want, dict):
                got = next(d for d in node["devices"] if d["name"] == want["name"])
                assert got.get("tags", {}) == want.get("tags", {})


def test_load_adds_only_what_is_missing(cli, tmp_path):
    load_sample(cli, "lab-3node.json")
    topo = sample("lab-3node.json")
    nodes = topo["clusters"][0]["nodes"]
    nodes[0]["devices"].append("/dev/sdd")
    nodes.append({"node": {"hostnames": {"manage": ["lab-node4"], "storage": ["192.0.2.14"]},
                           "zone": 2}, "devices": ["/dev/sdb"]})
    path = tmp_path / "grown.json"
    path.write_text(json.dumps(topo))

    out = cli.ok("topology", "load", "-j", str(path)).stdout
    assert "Creating cluster" not in out
    assert out.count("Adding device") == 2, out
    assert "\t\tAdding device /dev/sdd ... OK\n" in out
    assert re.search(r"^\tCreating node lab-node4 \.\.\. ID: [0-9a-f]{32}$", out, re.MULTILINE)
    topology = cli.json("topology", "info")
    assert len(topology["clusters"]) == 1  # the new node joined the found cluster
    node4 = nodes_by_manage(topology)["lab-node4"]
    assert node4["zone"] == 2 and [d["name"] for d in node4["devices"]] == ["/dev/sdb"]


def test_dry_run_prints_the_plan_and_changes_nothing(cli):
    path = str(TOPOLOGY_DIR / "zones-3x2.json")
    out = cli.ok("topology", "load", "--json", path, "--dry-run").stdout
    assert out.startswith("Would create cluster\n\tAllowing file volumes on cluster.\n")
    assert out.count("\tWould create node ") == 6
    assert out.count("\t\tWould add device ") == 12
    assert out.endswith("Dry run: would create 1 cluster, 6 nodes and 12 devices; "
                        "nothing was changed.\n")
    assert cli.json("cluster", "list") == {"clusters": []}

    cli.ok("topology", "load", "--json", path)
    again = cli.ok("topology", "load", "--json", path, "--dry-run").stdout
    assert "Would" not in again.replace("Dry run: would", "")
    assert again.count("\tFound node ") == 6
    assert again.endswith("Dry run: would create 0 clusters, 0 nodes and 0 devices; "
                          "nothing was changed.\n")


def test_malformed_file_is_rejected_with_line_and_column(cli, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"clusters": [\n  {"nodes": [}\n]}\n')
    result = cli.fails("topology", "load", f"--json={path}")
    assert result.stderr == (f"Error: {path}: invalid JSON at line 2 column 14: "
                             "Expecting value\n")
    assert result.stdout == ""
    assert cli.json("cluster", "list") == {"clusters": []}


@pytest.mark.parametrize("mutate, message", [
    (lambda t: t["clusters"][0]["nodes"][1]["node"].update(zone=0),
     "clusters[0].nodes[1].node.zone: must be an integer >= 1"),
    (lambda t: t["clusters"][0]["nodes"][2]["node"].update(zone="2"),
     "clusters[0].nodes[2].node.zone: must be an integer >= 1"),
    (lambda t: t["clusters"][0]["nodes"][0]["devices"].append("sdz"),
     "clusters[0].nodes[0].devices[2]: 'sdz' is not a valid device path"),
    (lambda t: t["clusters"][0]["nodes"][2]["node"]["hostnames"].update(manage=["lab-node1"]),
     ("clusters[0].nodes[2].node.hostnames.manage[0]: manage hostname 'lab-node1' is "
      "already used by clusters[0].nodes[0]")),
    (lambda t: t["clusters"][0]["nodes"][0]["node"]["hostnames"].pop("storage"),
     "clusters[0].nodes[0].node.hostnames.storage: is required (a list)"),
    (lambda t: t["clusters"][0]["nodes"][1].update(devices=[{"name": "/dev/sdb", "tags": {"bad tag": "x"}}]),
     "clusters[0].nodes[1].devices[0].tags.bad tag: tag name must be 1-32 characters"),
    (lambda t: t.pop("clusters"), "clusters: is required"),
])
def test_invalid_file_is_rejected_before_any_change(cli, tmp_path, mutate, message):
    topo = sample("lab-3node.json")
    mutate(topo)
    path = tmp_path / "invalid.json"
    path.write_text(json.dumps(topo))
    result = cli.fails("topology", "load", "--json", str(path))
    assert result.stderr.startswith(f"Error: {path}: {message}"), result.stderr
    assert cli.json("cluster", "list") == {"clusters": []}


def test_missing_file_and_missing_option(cli, tmp_path):
    result = cli.fails("topology", "load", "--json", str(tmp_path / "nope.json"))
    assert "unable to open topology file" in result.stderr
    assert "No such file or directory" in result.stderr
    assert "Missing configuration file" in cli.fails("topology", "load").stderr


def test_unknown_keys_are_loaded_with_a_warning(cli, tmp_path):
    topo = sample("lab-3node.json")
    topo["clusters"][0]["nodes"][0]["device"] = ["/dev/sdx"]  # typo for "devices"
    path = tmp_path / "typo.json"
    path.write_text(json.dumps(topo))
    result = cli.ok("topology", "load", "--json", str(path))
    assert result.stderr == (f"Warning: {path}: clusters[0].nodes[0].device: "
                             "unknown key ignored\n")


def test_topology_info_text_follows_heketi_cli(cli):
    load_sample(cli, "lab-3node.json")
    volume = cli.json("volume", "create", "--size=2", "--name=infovol")
    topology = cli.json("topology", "info")
    text = cli.ok("topology", "info").stdout
    cluster = topology["clusters"][0]
    assert text.startswith(f"\nCluster Id: {cluster['id']}\n\n    File:  true\n"
                           f"    Block: true\n\n    Volumes:\n\n\tName: infovol\n\tSize: 2\n")
    assert f"\tId: {volume['id']}\n" in text
    assert "\tDurability Type: replicate\n\tReplica: 3\n\tSnapshot: Disabled\n\n\t\tBricks:" in text
    assert "\n\n    Nodes:\n" in text
    for node in cluster["nodes"]:
        assert f"\n\tNode Id: {node['id']}\n\tState: online\n\tCluster Id: {cluster['id']}\n" in text
        for device in node["devices"]:
            # heketi-cli v10: no Name on the device line; the path on a Known Paths line
            paths = " ".join(device.get("paths") or [device["name"]])
            assert re.search(rf"\n\t\tId:{device['id']}   State:online    "
                             r"Size \(GiB\):\d+ +Used \(GiB\):\d+ +Free \(GiB\):\d+ +\n"
                             rf"\t\t\tKnown Paths: {re.escape(paths)}\n\n\t\t\tBricks:",
                             text), text
    assert "Name:/dev/" not in text
    assert "\tManagement Hostnames: lab-node1\n\tStorage Hostnames: 192.0.2.11\n\tDevices:" in text
    assert text.endswith("\n\n")


def test_topology_info_shows_tags_as_heketi_cli(cli):
    load_sample(cli, "tagged-devices.json")
    text = cli.ok("topology", "info").stdout
    assert "\n\tTags: arbiter:supported rack:r1\n\n\tDevices:" in text, text
    assert re.search(r"Free \(GiB\):\d+ +\n\t\t\tTags: disktype:ssd\n\n"
                     r"\t\t\tKnown Paths: /dev/nvme0n1\n", text), text

    # -T/--template: a Go template over heketi's field names
    template = ('{{range .ClusterList}}{{range .Nodes}}{{println .Id (join .Hostnames.Manage ",")'
                ' (len .DevicesInfo) .Tags.rack}}{{end}}{{end}}')
    nodes = {n["id"]: n for c in cli.json("topology", "info")["clusters"] for n in c["nodes"]}
    out = cli.ok("topology", "info", "-T", template).stdout
    assert sorted(out.splitlines()) == sorted(
        f"{i} {n['hostnames']['manage'][0]} {len(n['devices'])} {n['tags']['rack']}"
        for i, n in nodes.items())
    assert cli.fails("topology", "info", "--template={{range .ClusterList}}").stderr.startswith(
        "Error: failed to parse template: unexpected EOF")


def test_failed_nodes_are_reported_the_rest_loads_and_exit_is_255(cli, tmp_path):
    load_sample(cli, "lab-3node.json")
    taken = {"manage": ["clash-node"], "storage": ["192.0.2.11"]}  # lab-node1's IP
    fresh = {"manage": ["fresh-node"], "storage": ["192.0.2.77"]}
    path = tmp_path / "clash.json"
    path.write_text(json.dumps({"clusters": [{"nodes": [
        {"node": {"hostnames": taken, "zone": 1}, "devices": ["/dev/sdb"]},
        {"node": {"hostnames": fresh, "zone": 1}, "devices": ["/dev/sdb"]}]}]}))
    result = cli.fails("topology", "load", f"--json={path}")
    assert re.search(r"^\tCreating node clash-node \.\.\. Unable to create node: "
                     r"Hostname 192\.0\.2\.11 already used", result.stdout, re.MULTILINE), result.stdout
    assert re.search(r"^\tCreating node fresh-node \.\.\. ID: [0-9a-f]{32}\n"
                     r"\t\tAdding device /dev/sdb \.\.\. OK$", result.stdout, re.MULTILINE)
    assert result.stderr.startswith("Error: 1 of 3 nodes and devices could not be added; "
                                    "first: node clash-node: Hostname 192.0.2.11 already used")


def test_a_cluster_left_empty_by_failures_is_removed(cli, tmp_path):
    load_sample(cli, "lab-3node.json")
    clusters_before = cli.json("cluster", "list")
    path = tmp_path / "only-clash.json"
    path.write_text(json.dumps({"clusters": [{"nodes": [
        {"node": {"hostnames": {"manage": ["clash-node"], "storage": ["192.0.2.12"]},
                  "zone": 1}}]}]}))
    result = cli.fails("topology", "load", f"--json={path}")
    assert result.stdout.startswith("Creating cluster ... ID: ")
    assert "Unable to create node" in result.stdout
    assert cli.json("cluster", "list") == clusters_before


def test_topology_info_and_load_against_a_server_without_the_bulk_route(cli, heketi_like):
    """heketi has no ``GET /topology``: pyketi-cli composes the topology from per-object
    requests, as heketi-cli, and prints the same."""
    load_sample(cli, "lab-3node.json")
    cli.json("volume", "create", "--size=2", "--name=infovol")
    heketi = Cli(heketi_like.url)
    assert heketi.json("topology", "info") == cli.json("topology", "info")
    assert heketi.ok("topology", "info").stdout == cli.ok("topology", "info").stdout
    assert "/topology" in heketi_like.seen and "/clusters" in heketi_like.seen
    again = heketi.ok("topology", "load", f"--json={TOPOLOGY_DIR / 'lab-3node.json'}").stdout
    assert "Creating" not in again and again.count("\tFound node ") == 3, again
