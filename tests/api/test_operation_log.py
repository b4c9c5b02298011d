"""Operation lifecycle in the log (issue 10): accepted, each step with its node and
duration, finished / failed / rolled back with the operation id, objects and total
time; a node command failure is logged at error once, without a traceback."""

from __future__ import annotations

import logging
import re

import pytest

from pyketi.executors.doubles.fault import FaultExecutor
from pyketi.executors.doubles.mock import MockExecutor


@pytest.fixture
def db_url(sqlite_url):  # the log is the same on both databases
    return sqlite_url


def op_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("pyketi.operations")]


async def test_a_create_logs_accepted_each_step_on_its_node_and_finished(api, caplog):
    await api.topology()
    caplog.set_level(logging.INFO)
    caplog.clear()  # only the create's lines
    r = await api.post("/volumes", {"size": 1})
    final = await api.wait(r)
    assert final.status == 303
    volume_id = final.headers["Location"].rsplit("/", 1)[1]
    lines = op_lines(caplog)
    [accepted] = [t for t in lines if " accepted: job " in t]
    op_id = accepted.split()[1]
    assert any(t.startswith(f"operation {op_id} (") and " started: " in t and volume_id in t
               for t in lines), lines
    steps = [t for t in lines if t.startswith(f"operation {op_id} step ")]
    assert steps and all(re.search(r" done in \d+ ms$", t) for t in steps), steps
    hosts = {h for t in steps for h in re.search(r" on (\S+) done", t).group(1).split(",")}
    assert hosts - {"-"}, steps  # the brick steps name the nodes they changed
    [done] = [t for t in lines if t.startswith(f"operation {op_id} (") and " finished in " in t]
    assert volume_id in done and re.search(r"finished in \d+\.\d\d s", done)


async def test_a_failed_create_is_logged_once_at_error_then_rolled_back(make_api, db_url,
                                                                         caplog):
    executor = FaultExecutor(MockExecutor(), [
        {"call": "volume_create", "nth": 0, "action": "fail", "message": "disk on fire"}])
    api = await make_api(db_url, executor=executor, volume_create_retries=0)
    await api.topology()
    caplog.set_level(logging.INFO)
    caplog.clear()  # only the create's lines
    final = await api.wait(await api.post("/volumes", {"size": 1}))
    assert final.status == 500 and "disk on fire" in final.text
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len([r for r in errors if "disk on fire" in r.getMessage()]) == 1, \
        [(r.name, r.getMessage()) for r in errors]
    assert not any(r.exc_info for r in caplog.records if "disk on fire" in r.getMessage())
    lines = op_lines(caplog)
    assert any(re.search(r"step \d+/\d+ \S+ on \S+ failed after \d+ ms: .*disk on fire", t)
               for t in lines), lines
    assert any(" undone in " in t for t in lines), lines
    assert any(re.search(r"\) rolled back in \d+\.\d\d s", t) for t in lines), lines
