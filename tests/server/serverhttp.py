"""Requests to a real ``pyketi serve`` (tests/cli/server_process.py) with signed tokens,
and the topology the server tests start from."""

from __future__ import annotations

import hashlib
import json
import time
import urllib.error
import urllib.request

import jwt
from server_process import ADMIN_SECRET, USER_SECRET


def sign(method: str, path: str, role: str = "admin") -> str:
    now = int(time.time())
    return jwt.encode({"iss": role, "iat": now, "exp": now + 300,
                       "qsh": hashlib.sha256(f"{method}&{path}".encode()).hexdigest()},
                      ADMIN_SECRET if role == "admin" else USER_SECRET, algorithm="HS256")


def call(base: str, method: str, path: str, body: dict | None = None):
    req = urllib.request.Request(base + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": "Bearer " + sign(method, path)})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def wait(base: str, location: str) -> tuple[int, dict]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status, headers, _ = call(base, "GET", location)
        if not (status == 200 and headers.get("X-Pending") == "true"):
            return status, headers
        time.sleep(0.05)
    raise AssertionError(f"{location} still pending")


def seed(base: str) -> dict[str, str]:
    status, _, body = call(base, "POST", "/clusters", {"block": True, "file": True})
    assert status == 201, body
    cluster = json.loads(body)["id"]
    nodes = []
    for i in range(1, 4):
        status, headers, _ = call(base, "POST", "/nodes", {
            "zone": 1, "cluster": cluster,
            "hostnames": {"manage": [f"node{i}.example.com"], "storage": [f"10.9.0.{i}"]}})
        assert status == 202
        status, headers = wait(base, headers["Location"])
        assert status == 303
        nodes.append(headers["Location"].rsplit("/", 1)[1])
        status, headers, _ = call(base, "POST", "/devices",
                                  {"node": nodes[-1], "name": "/dev/sdb"})
        assert wait(base, headers["Location"])[0] == 204
    status, headers, _ = call(base, "POST", "/volumes", {"size": 5})
    status, headers = wait(base, headers["Location"])
    assert status == 303
    volume = headers["Location"].rsplit("/", 1)[1]
    _, _, body = call(base, "GET", f"/volumes/{volume}")
    info = json.loads(body)
    return {"cluster": cluster, "node": nodes[0], "device": info["bricks"][0]["device"],
            "volume": volume, "brick": info["bricks"][0]["id"]}
