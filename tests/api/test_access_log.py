"""Access log and request ids: one line per request (status, duration, method, path,
role, remote address, request id), the id in the ``X-Request-Id`` answer header and
on every line written while the request (and the operation it started) runs."""

from __future__ import annotations

import logging

import pytest

from pyketi.executors.doubles.fault import FaultExecutor
from pyketi.executors.doubles.mock import MockExecutor


@pytest.fixture
def db_url(sqlite_url):  # the log is the same on both databases
    return sqlite_url


def access_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "pyketi.access"]


async def test_access_line_and_request_id_header(api, caplog):
    caplog.set_level(logging.INFO)
    r = await api.get("/clusters?secret=hunter2", headers={"X-Request-Id": "req-42.a"})
    assert r.status == 200
    assert r.headers["X-Request-Id"] == "req-42.a"
    [line] = access_lines(caplog)
    text = line.getMessage()
    assert text.startswith("200 | ")
    assert "| GET /clusters | role=admin remote=127.0.0.1" in text
    assert line.request_id == "req-42.a"
    assert "hunter2" not in text and "Bearer" not in text and "secret" not in text


async def test_path_is_logged_encoded(api, caplog):
    caplog.set_level(logging.INFO)
    r = await api.get("/volumes/%0aINFO%20forged", auth=False)
    assert r.status == 401
    [line] = access_lines(caplog)
    assert "\n" not in line.getMessage()
    assert "GET /volumes/%0AINFO%20forged |" in line.getMessage()


async def test_insane_client_id_is_replaced_and_errors_get_an_id_too(api, caplog):
    caplog.set_level(logging.INFO)
    r = await api.get("/clusters", auth=False, headers={"X-Request-Id": "a b\tc" * 40})
    assert r.status == 401
    rid = r.headers["X-Request-Id"]
    assert len(rid) == 32 and rid != "a b\tc" * 40
    [line] = access_lines(caplog)
    assert "401 | " in line.getMessage() and "role=- " in line.getMessage()
    assert line.request_id == rid
    other = await api.get("/hello", auth=False)
    assert other.headers["X-Request-Id"] not in ("", rid)


async def test_operation_lines_carry_the_request_id(make_api, db_url, caplog):
    caplog.set_level(logging.INFO)
    executor = FaultExecutor(MockExecutor(), [
        {"call": "volume_create", "nth": 0, "action": "fail", "message": "disk on fire"}])
    api = await make_api(db_url, executor=executor, volume_create_retries=0)
    await api.topology()
    r = await api.post("/volumes", {"size": 1, "durability": {"type": "none"}},
                       headers={"X-Request-Id": "vol-create-7"})
    final = await api.wait(r)
    assert final.status == 500
    ours = [rec for rec in caplog.records if rec.request_id == "vol-create-7"]
    assert any(rec.name.startswith(("pyketi.jobs", "pyketi.operations")) for rec in ours), \
        [(rec.name, rec.getMessage()) for rec in ours]


def test_text_formatter_appends_the_request_id():
    from pyketi import logcontext

    logcontext.install()
    formatter = logcontext.ContextFormatter("%(levelname)s %(message)s")
    token = logcontext.REQUEST_ID.set("abc")
    try:
        record = logging.getLogger("pyketi.test").makeRecord(
            "pyketi.test", logging.INFO, __file__, 1, "hello", (), None)
    finally:
        logcontext.REQUEST_ID.reset(token)
    assert formatter.format(record) == "INFO hello request_id=abc"
    bare = logging.getLogger("pyketi.test").makeRecord(
        "pyketi.test", logging.INFO, __file__, 1, "hello", (), None)
    assert formatter.format(bare) == "INFO hello"
