"""Volumes of every durability through pyketi-cli, against a real server."""

from __future__ import annotations

import json
import re

import pytest
from clitools import load_sample

VOLUME_FIELDS = ["Name", "Size", "Volume Id", "Cluster Id", "Mount", "Mount Options",
                 "Block", "Free Size", "Reserved Size", "Block Hosting Restriction",
                 "Block Volumes", "Durability Type", "Distribute Count"]


def parse_fields(text: str) -> dict[str, str]:
    """heketi-cli's ``Key: value`` volume text as a dict (order checked too)."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(": ")
        assert sep, f"not a 'Key: value' line: {line!r}"
        fields[key] = value
    assert list(fields)[:len(VOLUME_FIELDS)] == VOLUME_FIELDS, list(fields)
    return fields


@pytest.mark.parametrize("sample, args, durability, set_size, extra", [
    ("lab-3node.json", [], "replicate", 3, {"Replica Count": "3"}),
    ("lab-3node.json", ["--durability=none"], "none", 1, {}),
    ("lab-3node.json", ["--gluster-volume-options=user.heketi.arbiter true"],
     "replicate", 3, {"Replica Count": "3"}),
    ("zones-3x2.json", ["--durability", "disperse", "--disperse-data=4", "--redundancy=2"],
     "disperse", 6, {"Disperse Data Count": "4", "Disperse Redundancy Count": "2"}),
    ("lab-3node.json", ["--durability=disperse", "--disperse-data=2", "--redundancy=1"],
     "disperse", 3, {"Disperse Data Count": "2", "Disperse Redundancy Count": "1"}),
])
def test_create_expand_delete(cli, sample, args, durability, set_size, extra):
    load_sample(cli, sample)
    created = cli.ok("volume", "create", "--size=4", *args)
    fields = parse_fields(created.stdout)
    volume_id = fields["Volume Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", volume_id)
    assert fields["Name"] == f"vol_{volume_id}"
    assert fields["Size"] == "4"
    assert fields["Durability Type"] == durability
    assert fields["Block"] == "false"
    assert fields["Free Size"] == "0"
    assert fields["Block Hosting Restriction"] == "(none)"
    assert fields["Block Volumes"] == "[]"
    # exactly heketi-cli's lines after "Distribute Count" (no arbiter line: heketi has none)
    assert {k: fields[k] for k in list(fields)[len(VOLUME_FIELDS):]} == extra

    info = cli.json("volume", "info", volume_id)
    hosts = info["mount"]["glusterfs"]["hosts"]
    assert fields["Mount"] == f"{hosts[0]}:vol_{volume_id}"
    assert fields["Mount Options"] == "backup-volfile-servers=" + ",".join(hosts[1:])
    assert fields["Cluster Id"] == info["cluster"]
    assert len(info["bricks"]) % set_size == 0
    assert fields["Distribute Count"] == str(len(info["bricks"]) // set_size)
    assert info["durability"]["type"] == durability
    assert cli.ok("volume", "info", volume_id).stdout == created.stdout

    expanded = parse_fields(cli.ok("volume", "expand", f"--volume={volume_id}",
                                   "--expand-size=4").stdout)
    assert expanded["Size"] == "8"  # 4 GiB: a disperse 4+2 set needs bricks >= 1 GiB
    assert len(cli.json("volume", "info", volume_id)["bricks"]) > len(info["bricks"])

    line = cli.ok("volume", "list").stdout
    assert re.fullmatch(rf"Id:{volume_id}    Cluster:{info['cluster']}    Name:vol_{volume_id}\n",
                        line), line
    assert cli.ok("volume", "delete", volume_id).stdout == f"Volume {volume_id} deleted\n"
    assert cli.json("volume", "list") == {"volumes": []}


def test_json_output_is_the_server_json(cli):
    load_sample(cli, "lab-3node.json")
    result = cli.ok("volume", "create", "--size", "1", "--name", "jvol", "--json", "--gid=2001")
    assert not result.stdout.endswith("\n")  # heketi-cli prints compact JSON, no newline
    volume = result.json()
    assert volume["name"] == "jvol" and volume["size"] == 1 and volume["gid"] == 2001
    assert volume["durability"] == {"type": "replicate", "replicate": {"replica": 3},
                                    "disperse": {"data": 4, "redundancy": 2}}
    assert list(volume)[:3] == ["size", "name", "durability"]
    assert cli.json("volume", "info", volume["id"]) == volume
    assert cli.json("volume", "list") == {"volumes": [volume["id"]]}
    # the global flag also works after the command, and with -s
    assert cli.ok("volume", "list", "--json").json() == {"volumes": [volume["id"]]}


def test_expand_by_positional_id_and_clone(cli):
    load_sample(cli, "lab-3node.json")
    volume = cli.json("volume", "create", "--size=1")
    assert cli.json("volume", "expand", volume["id"], "--expand-size", "1")["size"] == 2
    clone = parse_fields(cli.ok("volume", "clone", volume["id"], "--name=myclone").stdout)
    assert clone["Name"] == "myclone" and clone["Volume Id"] != volume["id"]
    assert clone["Size"] == "2"


def test_snapshot_factor_ends_the_text_as_heketi_cli(cli):
    load_sample(cli, "lab-3node.json")
    text = cli.ok("volume", "create", "--size=1", "--snapshot-factor=1.5").stdout
    assert text.endswith("Replica Count: 3\nSnapshot Factor: 1.50\n\n"), text


def test_block_hosting_volume_and_restriction(cli):
    load_sample(cli, "lab-3node.json")
    fields = parse_fields(cli.ok("volume", "create", "--size=10", "--block").stdout)
    assert fields["Block"] == "true"
    assert int(fields["Free Size"]) > 0 and int(fields["Reserved Size"]) > 0
    locked = parse_fields(cli.ok("volume", "set-block-hosting-restriction", "locked",
                                 fields["Volume Id"]).stdout)
    assert locked["Block Hosting Restriction"] == "locked"
    line = cli.ok("volume", "list").stdout
    assert line.endswith(f"Name:{fields['Name']} [block]\n")
    unlocked = parse_fields(cli.ok("volume", "set-block-hosting-restriction", "unlocked",
                                   fields["Volume Id"]).stdout)
    assert unlocked["Block Hosting Restriction"] == "(none)"


def test_persistent_volume_output(cli):
    load_sample(cli, "lab-3node.json")
    result = cli.ok("volume", "create", "--size=3", "--gid=1234", "--persistent-volume",
                    "--persistent-volume-endpoint=heketi-ep")
    pv = json.loads(result.stdout)
    assert pv["kind"] == "PersistentVolume"
    assert pv["metadata"]["name"].startswith("glusterfs-")
    assert pv["metadata"]["annotations"] == {"pv.beta.kubernetes.io/gid": "1234"}
    assert pv["spec"]["capacity"] == {"storage": "3Gi"}
    assert pv["spec"]["glusterfs"]["endpoints"] == "heketi-ep"
    assert pv["spec"]["accessModes"] == ["ReadWriteMany"]
    assert "endpoint must be provided" in cli.fails(
        "volume", "create", "--size=1", "--persistent-volume").stderr


def test_placement_failure_is_reported(cli):
    load_sample(cli, "lab-3node.json")
    result = cli.fails("volume", "create", "--size=100000")
    assert result.stderr.startswith("Error: Failed to allocate new volume: ")
    assert "Missing volume size" in cli.fails("volume", "create").stderr


def test_busy_server_is_retried_with_the_configured_backoff(server_factory):
    from clitools import Cli, finish, start_cli, wait_in_flight
    server = server_factory(glusterfs={
        "executor": "fault", "max_inflight_operations": 1,
        "injectexec": {"base": "mock", "rules": [
            {"call": "bricks_create", "nth": 1, "action": "hang", "seconds": 3}]}})
    cli = Cli(server.url)
    load_sample(cli, "lab-3node.json")
    first = start_cli(cli, "--json", "volume", "create", "--size=1")
    try:
        wait_in_flight(cli)
        second = cli.ok("--json", "volume", "create", "--size=1",
                        env={"PYKETI_CLI_RETRIES": "100", "PYKETI_CLI_RETRY_MIN_DELAY": "0.1",
                             "PYKETI_CLI_RETRY_MAX_DELAY": "0.2"}).json()
    finally:
        out, err = finish(first)
    assert first.returncode == 0, err
    assert sorted(cli.json("volume", "list")["volumes"]) == sorted(
        [json.loads(out)["id"], second["id"]])
