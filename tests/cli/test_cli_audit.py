"""``pyketi-cli audit list`` against a real server: records of accepted changes,
filters and pages, JSON output, refused for the user role."""

from __future__ import annotations

import re

from clitools import Cli


def test_audit_list(cli: Cli, server):
    ids = [cli.json("cluster", "create")["id"] for _ in range(3)]
    text = cli.ok("audit", "list").stdout.splitlines()
    assert len(text) == 3
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ  done {6}cluster\.create +admin  -  "
                    r"127\.0\.0\.1  [0-9a-f]{32}  \d+\.\d{3}s$", text[0]), text[0]
    assert [line.split()[6] for line in text] == list(reversed(ids))
    page = cli.ok("audit", "list", "--limit", "2").stdout.splitlines()
    assert page[-1].startswith("More records: --marker ")
    marker = page[-1].rsplit(" ", 1)[1]
    rest = cli.ok("audit", "list", "--limit", "2", "--marker", marker).stdout.splitlines()
    assert [line.split()[6] for line in rest] == [ids[0]]
    found = cli.json("audit", "list", "--object", ids[1])
    assert [r["objects"] for r in found["audit"]] == [[ids[1]]]
    assert cli.json("audit", "list", "--result", "failed") == {"audit": []}
    bad = cli.fails("audit", "list", "--limit", "0")
    assert "limit: must be between 1 and 1000" in bad.stderr


def test_audit_list_needs_admin(server):
    from server_process import USER_SECRET
    user = Cli(server.url, user="user", secret=USER_SECRET)
    assert user.fails("audit", "list").stderr == "Error: Administrator access required\n"
