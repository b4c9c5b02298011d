"""Hostile request strings are refused with heketi's 400 shape (issue 8, items 1-3, 11).

* volume options whose key or value would be read by the gluster CLI as its own
  ``--flag``, volume names starting with '-' or reserved by gluster (user role);
* device paths that are not a normal path under /dev (``/dev/../etc/shadow``);
* IPv6 scope ids (``fe80::1%<anything>``) and control characters in hostnames,
  tags and options - on SQLite and PostgreSQL (a NUL reached PostgreSQL: 500).

Nothing refused changes the database.
"""

from __future__ import annotations

import pytest

from apihelp import check_errors, dump, node_body

OPT = "validation failed: glustervolumeoptions: invalid volume option"


async def test_user_role_gluster_flag_injection_is_refused(api):
    await api.topology()
    before = await dump(api)
    vol = {"size": 1, "durability": {"type": "replicate"}}
    await check_errors(api, "POST", "/volumes", [
        ({**vol, "glustervolumeoptions": ["performance.readdir-ahead --log-file=/etc/cron.d/x",
                                          "--xml --remote-host=evil.example"]}, 400,
         f"{OPT} 'performance.readdir-ahead --log-file=/etc/cron.d/x': the value must not "
         "start with '-'."),
        ({**vol, "glustervolumeoptions": ["--xml --remote-host=evil.example"]}, 400,
         f"{OPT} '--xml --remote-host=evil.example': the key must be [a-zA-Z0-9_.-] and not "
         "start with '-'."),
        ({**vol, "glustervolumeoptions": ["performance.cache-size\t-1"]}, 400,
         f"{OPT} 'performance.cache-size\\t-1': the value must not start with '-'."),
        ({**vol, "glustervolumeoptions": ["group ../../etc/passwd"]}, 400,
         f"{OPT} 'group ../../etc/passwd': the group must be a plain name."),
        ({**vol, "glustervolumeoptions": ["user.x a\x1bb"]}, 400,
         "validation failed: glustervolumeoptions: each option must be one line of at most "
         "4096 characters without control characters."),
        ({**vol, "name": "--version"}, 400,
         "validation failed: name: must not start with '-' or be a name reserved by gluster."),
        ({**vol, "name": "-x"}, 400,
         "validation failed: name: must not start with '-' or be a name reserved by gluster."),
        ({**vol, "name": "all"}, 400,
         "validation failed: name: must not start with '-' or be a name reserved by gluster."),
    ], role="user")
    assert await dump(api) == before


async def test_clone_name_starting_with_dash_is_refused(api):
    await api.topology()
    vol = await api.volume()
    before = await dump(api)
    await check_errors(api, "POST", f"/volumes/{vol['id']}/clone", [
        ({"name": "--version"}, 400,
         "validation failed: name: must not start with '-' or be a name reserved by gluster."),
        ({"name": "bad name"}, 400, "validation failed: name: must be in a valid format."),
    ])
    assert await dump(api) == before


async def test_heketi_client_options_still_work(api):
    await api.topology()
    options = ["performance.rda-cache-limit 10MB", "user.heketi.average-file-size 64",
               "server.tcp-user-timeout 42", "auth.allow 10.0.0.1, 10.0.0.2", ""]
    r = await api.post("/volumes", {"size": 1, "durability": {"type": "replicate"},
                                    "glustervolumeoptions": options}, role="user")
    vol = await api.done(r, role="user")
    assert [o for o in vol["glustervolumeoptions"] if o] == options[:-1]


async def test_device_path_traversal_is_refused(api):
    cid = await api.cluster()
    nid = await api.node(cid, 1)
    before = await dump(api)
    normal = "validation failed: name: must be a normalised path (no '..', '.', '//' or " \
             "trailing '/')."
    under_dev = "validation failed: name: must be a block device path under /dev/."
    await check_errors(api, "POST", "/devices", [
        ({"node": nid, "name": "/dev/../etc/shadow", "destroydata": True}, 400, normal),
        ({"node": nid, "name": "/dev/sdb/..", "destroydata": True}, 400, normal),
        ({"node": nid, "name": "/dev//sdb"}, 400, normal),
        ({"node": nid, "name": "//dev/sdb"}, 400, normal),
        ({"node": nid, "name": "/dev/./sdb"}, 400, normal),
        ({"node": nid, "name": "/dev/sdb/"}, 400, normal),
        ({"node": nid, "name": "/etc/shadow", "destroydata": True}, 400, under_dev),
        ({"node": nid, "name": "/dev"}, 400, under_dev),
        ({"node": nid, "name": "/dev/shm/x", "destroydata": True}, 400, under_dev),
        ({"node": nid, "name": "/dev/fd/3"}, 400, under_dev),
        ({"node": nid, "name": "/dev/stdin"}, 400, under_dev),
        ({"node": nid, "name": "/dev/.udev/x"}, 400, under_dev),
    ])
    assert await dump(api) == before


@pytest.mark.parametrize("name", ["/dev/sdb", "/dev/vdb", "/dev/loop0", "/dev/nvme0n1",
                                  "/dev/disk/by-id/wwn-0x5000c500a1b2c3d4",
                                  "/dev/mapper/mpatha", "/dev/xvdb1"])
async def test_usual_device_names_still_work(api, name):
    cid = await api.cluster()
    nid = await api.node(cid, 1)
    did = await api.device(nid, name)
    assert (await api.get(f"/devices/{did}")).json()["name"] == name


async def test_hostnames_with_scope_ids_or_controls_are_refused(api):
    """Both databases (``db_url``): a NUL used to reach PostgreSQL and answer 500."""
    cid = await api.cluster()
    before = await dump(api)

    def bad(kind: str, shown: str) -> str:
        return (f"validation failed: hostnames: ({kind}: [{shown}] is not a valid {kind} "
                "hostname.).")

    cases = []
    for host, shown in (("fe80::1%eth0", "fe80::1%eth0"),
                        ("fe80::1%\nINFO forged log line", "fe80::1%\\nINFO forged log line"),
                        ("fe80::1%\x00", "fe80::1%\\x00"), ("fe80::1%", "fe80::1%"),
                        ("node1\x00.example.com", "node1\\x00.example.com")):
        manage = node_body(cid, 1)
        manage["hostnames"]["manage"] = [host]
        storage = node_body(cid, 1)
        storage["hostnames"]["storage"] = [host]
        cases += [(manage, 400, bad("manage", shown)), (storage, 400, bad("storage", shown))]
    await check_errors(api, "POST", "/nodes", cases)
    assert await dump(api) == before
    # a link-local address without a scope id is still a valid host (heketi's is.Host)
    body = node_body(cid, 1)
    body["hostnames"]["storage"] = ["fe80::1"]
    assert (await api.done(await api.post("/nodes", body)))["hostnames"]["storage"] == ["fe80::1"]


async def test_control_characters_in_tags_are_refused(api):
    cid = await api.cluster()
    before = await dump(api)
    await check_errors(api, "POST", "/nodes", [
        (node_body(cid, 1, tags={"k": "a\x1bb"}), 400,
         "validation failed: tags: value of tag k: must not contain control characters."),
        (node_body(cid, 1, tags={"k": "a\u2028b"}), 400,
         "validation failed: tags: value of tag k: must not contain control characters."),
        (node_body(cid, 1, tags={"k\x00": "v"}), 400,
         "validation failed: tags: invalid characters in tag name k\\x00."),
    ])
    assert await dump(api) == before


async def test_echoed_cluster_id_has_no_raw_control_characters(api):
    await api.topology()
    r = await api.post("/volumes", {"size": 1, "clusters": ["x\nINFO forged\x00"]}, role="user")
    assert (r.status, r.text) == (400, "Cluster id x\\nINFO forged\\x00 not found\n")
