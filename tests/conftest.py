"""Shared fixtures: a pyketi app on SQLite and on PostgreSQL, signed requests."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
import pytest

ADMIN_KEY = "admin-secret-key-for-tests-0123456789"
USER_KEY = "user-secret-key-for-tests-0123456789"
PG_ADMIN_URL = os.environ.get("PYKETI_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")

_pg_state: dict[str, Any] = {}


def pg_available() -> str | None:
    """None if PostgreSQL answers, else the reason (shown in the skip message)."""
    if "error" not in _pg_state:
        try:
            import psycopg
            with psycopg.connect(PG_ADMIN_URL, connect_timeout=3) as conn:
                conn.execute("select 1")
            _pg_state["error"] = None
        except Exception as e:  # noqa: BLE001
            _pg_state["error"] = f"PostgreSQL at {PG_ADMIN_URL} unreachable: {e}"
    return _pg_state["error"]


def _pg_template() -> str:
    """A migrated template database; each test gets a copy (CREATE DATABASE ... TEMPLATE)."""
    if "template" not in _pg_state:
        import psycopg

        from pyketi.db.migrate import ensure_schema
        from pyketi.db.session import Database
        name = f"pyketi_tmpl_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
        db = Database(url)
        ensure_schema(db.engine, db.url)
        db.dispose()
        _pg_state["template"] = name
    return _pg_state["template"]


def new_pg_database() -> tuple[str, str]:
    import psycopg
    template = _pg_template()
    name = f"pyketi_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name, name


def drop_pg_database(name: str) -> None:
    import psycopg
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pytest_sessionfinish(session, exitstatus):  # noqa: ARG001
    if _pg_state.get("template"):
        try:
            drop_pg_database(_pg_state["template"])
        except Exception:  # noqa: BLE001
            pass


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/pyketi.db"
        return
    reason = pg_available()
    if reason:
        pytest.skip(reason)
    url, name = new_pg_database()
    yield url
    drop_pg_database(name)


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path}/pyketi.db"


def token(role: str, method: str, path: str, key: str | None = None, **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": role, "iat": now, "exp": now + 300,
            "qsh": hashlib.sha256(f"{method}&{path}".encode()).hexdigest()}
    body.update(claims)
    body = {k: v for k, v in body.items() if v is not None}
    secret = key if key is not None else (ADMIN_KEY if role == "admin" else USER_KEY)
    return jwt.encode(body, secret, algorithm="HS256")


@dataclass
class Reply:
    status: int
    headers: Any
    text: str
    body: bytes = b""

    def json(self) -> Any:
        import json
        return json.loads(self.text)


class Api:
    """Signed requests against an in-process pyketi app."""

    def __init__(self, client, runtime):
        self.client = client
        self.rt = runtime

    async def request(self, method: str, path: str, body: Any = None, role: str = "admin",
                      raw: bytes | None = None, headers: dict | None = None,
                      auth: bool = True) -> Reply:
        hdrs = dict(headers or {})
        if auth:
            hdrs["Authorization"] = "Bearer " + token(role, method, path.split("?")[0])
        data = raw
        if body is not None:
            import json
            data = json.dumps(body).encode()
        async with self.client.request(method, path, data=data, headers=hdrs,
                                       allow_redirects=False) as r:
            body = await r.read()
            return Reply(r.status, r.headers, body.decode("utf-8", "replace"), body)

    async def get(self, path: str, **kw) -> Reply:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, body: Any = None, **kw) -> Reply:
        return await self.request("POST", path, body, **kw)

    async def delete(self, path: str, body: Any = None, **kw) -> Reply:
        return await self.request("DELETE", path, body, **kw)

    async def wait(self, reply: Reply, role: str = "admin", timeout: float = 30) -> Reply:
        """Follow a 202 to its end; returns the final queue reply (303/204/500)."""
        assert reply.status == 202, (reply.status, reply.text)
        location = reply.headers["Location"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = await self.get(location, role=role)
            if r.status == 200 and r.headers.get("X-Pending") == "true":
                await asyncio.sleep(0.01)
                continue
            return r
        raise AssertionError(f"{location} still pending after {timeout}s")

    async def done(self, reply: Reply, role: str = "admin") -> Any:
        """Follow a 202 that must succeed; returns the resource JSON or None for 204."""
        final = await self.wait(reply, role)
        if final.status == 204:
            return None
        assert final.status == 303, (final.status, final.text)
        r = await self.get(final.headers["Location"], role=role)
        assert r.status == 200, (r.status, r.text)
        return r.json()

    # -- topology helpers ---------------------------------------------------
    async def cluster(self, block: bool = False, file: bool = True) -> str:
        r = await self.post("/clusters", {"block": block, "file": file})
        assert r.status == 201, r.text
        return r.json()["id"]

    async def node(self, cluster: str, i: int, zone: int = 1, tags: dict | None = None) -> str:
        body = {"zone": zone, "cluster": cluster,
                "hostnames": {"manage": [f"node{i}.example.com"], "storage": [f"10.99.0.{i}"]}}
        if tags:
            body["tags"] = tags
        info = await self.done(await self.post("/nodes", body))
        return info["id"]

    async def device(self, node: str, name: str = "/dev/sdb", tags: dict | None = None) -> str:
        body = {"node": node, "name": name}
        if tags:
            body["tags"] = tags
        await self.done(await self.post("/devices", body))
        r = await self.get(f"/nodes/{node}")
        return next(d["id"] for d in r.json()["devices"] if d["name"] == name)

    async def topology(self, nodes: int = 3, devices: int = 1, zones: int = 1) -> dict:
        cid = await self.cluster()
        node_ids, device_ids = [], []
        for i in range(1, nodes + 1):
            nid = await self.node(cid, i, zone=(i - 1) % zones + 1)
            node_ids.append(nid)
            for d in range(devices):
                device_ids.append(await self.device(nid, f"/dev/sd{chr(ord('b') + d)}"))
        return {"cluster": cid, "nodes": node_ids, "devices": device_ids}

    async def volume(self, size: int = 1, **extra: Any) -> dict:
        body = {"size": size, "durability": {"type": "replicate",
                                             "replicate": {"replica": 3}}}
        body.update(extra)
        return await self.done(await self.post("/volumes", body))


def make_config(db_url: str, **overrides: Any):
    from pyketi.config import load_config
    cfg = load_config(None, env={"HEKETI_ADMIN_KEY": ADMIN_KEY, "HEKETI_USER_KEY": USER_KEY})
    cfg.database_url = db_url
    cfg.start_time_background_cleaner = 3600
    for key, value in overrides.items():
        setattr(cfg, key, value)
    return cfg


@pytest.fixture
async def make_api(aiohttp_client):
    """Factory: ``api = await make_api(db_url, executor=..., **config overrides)``."""
    from pyketi.api.app import build_app
    from pyketi.db.migrate import ensure_schema
    from pyketi.db.session import Database
    from pyketi.executors.doubles.mock import MockExecutor
    from pyketi.operations.runtime import Runtime

    runtimes = []

    async def factory(url: str, executor=None, **overrides: Any) -> Api:
        cfg = make_config(url, **overrides)
        db = Database(cfg.database_url)
        ensure_schema(db.engine, db.url)
        rt = Runtime(cfg, db, executor or MockExecutor())
        await rt.start()
        runtimes.append(rt)
        client = await aiohttp_client(build_app(rt))
        return Api(client, rt)

    yield factory
    for rt in runtimes:
        await rt.stop()
        rt.db.dispose()


@pytest.fixture
async def api(make_api, db_url):
    return await make_api(db_url)
