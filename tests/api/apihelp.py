"""Assertions shared by the route tests (what a heketi client sees on the wire)."""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any

from pyketi.executors.doubles.mock import MockExecutor
from pyketi.ids import new_id

TEXT_CT = "text/plain; charset=utf-8"
JSON_CT = "application/json; charset=UTF-8"
QUEUE_RE = re.compile(r"^/queue/[0-9a-f]{32}$")
ID_RE = re.compile(r"^[0-9a-f]{32}$")

CLUSTER_KEYS = ["id", "nodes", "volumes", "block", "file", "blockvolumes"]
NODE_KEYS = ["zone", "hostnames", "cluster", "id", "state", "devices"]
DEVICE_KEYS = ["name", "storage", "id", "state", "bricks"]
BRICK_KEYS = ["id", "path", "device", "node", "volume", "size"]
VOLUME_KEYS = ["size", "name", "durability", "glustervolumeoptions", "snapshot", "id",
               "cluster", "mount", "blockinfo", "bricks"]
MOCK_DEVICE_KIB = 500 * 1024 * 1024


def unknown_id() -> str:
    return new_id()


def text_error(reply: Any, status: int, message: str) -> None:
    """Go ``http.Error``: status, ``message + "\\n"``, text/plain, nosniff."""
    assert (reply.status, reply.text) == (status, message + "\n"), (reply.status, reply.text)
    assert reply.headers.get("Content-Type") == TEXT_CT
    assert reply.headers.get("X-Content-Type-Options") == "nosniff"


def json_ok(reply: Any, status: int = 200, keys: list[str] | None = None) -> Any:
    """A compact JSON reply + newline with heketi's content type; optional exact key order."""
    assert reply.status == status, (reply.status, reply.text)
    assert reply.headers.get("Content-Type") == JSON_CT
    assert reply.text.endswith("}\n") or reply.text.endswith("]\n"), reply.text
    data = json.loads(reply.text)
    assert reply.text == json.dumps(data, separators=(",", ":"), ensure_ascii=False) + "\n"
    if keys is not None:
        assert list(data.keys()) == keys
    return data


def accepted(reply: Any) -> str:
    """202, relative ``Location: /queue/<id>``, no body, no Content-Type (spec §1.2, §11.4)."""
    assert reply.status == 202, (reply.status, reply.text)
    location = reply.headers.get("Location")
    assert location and QUEUE_RE.match(location), location
    assert reply.text == ""
    assert "Content-Type" not in reply.headers
    return location


async def dump(api: Any) -> dict:
    r = await api.get("/db/dump")
    assert r.status == 200, r.text
    return r.json()


async def failed(api: Any, reply: Any) -> str:
    """Follow a 202 that must fail; returns the queue's 500 text (without the newline)."""
    final = await api.wait(reply)
    assert final.status == 500, (final.status, final.text)
    assert final.headers.get("Content-Type") == TEXT_CT
    assert final.text.endswith("\n")
    return final.text[:-1]


class GateExecutor(MockExecutor):
    """A MockExecutor whose calls named in ``gated`` wait until ``release()``.

    ``entered`` counts the calls that reached the gate, so a test knows an
    operation is really in flight before it looks at the server.
    """

    def __init__(self, *gated: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.gated = set(gated)
        self.gate = asyncio.Event()
        self.entered = 0

    def __getattribute__(self, name: str) -> Any:
        attr = super().__getattribute__(name)
        if name in object.__getattribute__(self, "__dict__").get("gated", ()):
            async def gated_call(*args: Any, **kwargs: Any) -> Any:
                self.entered += 1
                await self.gate.wait()
                return await attr(*args, **kwargs)
            return gated_call
        return attr

    def release(self) -> None:
        self.gate.set()

    async def reached(self, count: int = 1, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while self.entered < count:
            assert time.monotonic() < deadline, f"only {self.entered} gated calls"
            await asyncio.sleep(0.005)


def node_body(cluster: str, i: int, **extra: Any) -> dict:
    body = {"zone": 1, "cluster": cluster,
            "hostnames": {"manage": [f"node{i}.example.com"], "storage": [f"10.99.0.{i}"]}}
    body.update(extra)
    return body


async def check_errors(api: Any, method: str, path: str, cases: list[tuple[Any, int, str]],
                       role: str = "admin") -> None:
    """Send each ``(body, status, text)`` case (bytes = raw body) and report every
    mismatch at once: many table cases share one server instead of one each."""
    problems = []
    for body, status, message in cases:
        kw: dict[str, Any] = {"raw": body} if isinstance(body, bytes) else {"body": body}
        r = await api.request(method, path, role=role, **kw)
        want = (status, message + "\n", TEXT_CT)
        got = (r.status, r.text, r.headers.get("Content-Type"))
        if got != want:
            problems.append(f"{method} {path} {body!r}: got {got}, want {want}")
    assert not problems, "\n".join(problems)


async def topology(api: Any, nodes: int = 3, devices: int = 1, cluster: str | None = None,
                   first: int = 1) -> dict:
    """``api.topology`` built concurrently (the first node alone: it has no peer to
    probe from); same result shape, node ``i`` = ``node<i>.example.com``/``10.99.0.<i>``."""
    cid = cluster or await api.cluster()
    node_ids = [await api.node(cid, first)]
    node_ids += await asyncio.gather(*(api.node(cid, i) for i in range(first + 1, first + nodes)))
    names = [f"/dev/sd{chr(ord('b') + d)}" for d in range(devices)]
    device_ids = await asyncio.gather(*(api.device(n, name) for n in node_ids for name in names))
    return {"cluster": cid, "nodes": node_ids, "devices": list(device_ids)}
