"""Waiting for an accepted operation: through a server restart, and Ctrl-C."""

from __future__ import annotations

import re
import signal
import time
from urllib.parse import urlsplit

import pytest
from clitools import ADMIN_SECRET, Cli, finish, load_sample, start_cli, wait_in_flight

from pyketi.client.http import Transport

HANG_SECONDS = 5


@pytest.fixture
def slow_server(server_factory):
    """A server whose first brick creation takes HANG_SECONDS, with the lab topology."""
    server = server_factory(glusterfs={
        "executor": "fault",
        "injectexec": {"base": "mock", "rules": [
            {"call": "bricks_create", "nth": 1, "action": "hang",
             "seconds": HANG_SECONDS}]}})
    load_sample(Cli(server.url), "lab-3node.json")
    return server


def test_a_server_restart_while_waiting_is_waited_out(slow_server):
    cli = Cli(slow_server.url)
    waiting = start_cli(cli, "volume", "create", "--size=1")
    try:
        wait_in_flight(cli)
        slow_server.stop()  # SIGTERM: the port closes, the operation still ends
        time.sleep(0.5)     # a few polls are refused
        assert waiting.poll() is None, waiting.communicate()
        slow_server.start()  # same port, same database
    finally:
        out, err = finish(waiting, timeout=120)
    assert waiting.returncode == 0, err
    assert err == ""
    assert out.startswith("Name: vol_")
    volume_id = re.search(r"^Volume Id: ([0-9a-f]{32})$", out, re.MULTILINE).group(1)
    assert cli.json("volume", "list") == {"volumes": [volume_id]}


def test_an_outage_longer_than_the_timeout_fails_with_the_job_url(slow_server):
    cli = Cli(slow_server.url)
    waiting = start_cli(cli, "volume", "create", "--size=1", env={"PYKETI_CLI_TIMEOUT": "1"})
    try:
        wait_in_flight(cli)
        slow_server.stop()
    finally:
        out, err = finish(waiting)
    assert waiting.returncode == 255
    assert out == ""
    assert re.fullmatch(rf"Error: unable to connect to {slow_server.url}: Connection refused "
                        rf"\(for \ds while waiting for the operation; it may still finish: "
                        rf"{slow_server.url}/queue/[0-9a-f]{{32}}\)\n", err), err


def test_ctrl_c_while_waiting_prints_the_job_url(slow_server):
    cli = Cli(slow_server.url)
    waiting = start_cli(cli, "volume", "create", "--size=1")
    try:
        wait_in_flight(cli)
        time.sleep(1.0)  # the 202 has reached the CLI, which polls
        waiting.send_signal(signal.SIGINT)
    finally:
        out, err = finish(waiting, timeout=30)
    assert waiting.returncode == 130
    assert out == ""
    match = re.fullmatch(r"Interrupted; the server carries on with the operation\.\n"
                         r"Job still running: (http://127\.0\.0\.1:\d+)(/queue/[0-9a-f]{32})\n",
                         err)
    assert match, err
    assert match.group(1) == slow_server.url
    # the URL is the live queue entry: it ends in the new volume
    transport = Transport(match.group(1), "admin", ADMIN_SECRET)
    deadline = time.monotonic() + 30
    while (reply := transport.send("GET", match.group(2))).status == 200:
        assert reply.headers.get("X-Pending") == "true"
        assert time.monotonic() < deadline, "the operation never finished"
        time.sleep(0.1)
    assert reply.status == 303
    volume_path = urlsplit(reply.headers["Location"]).path
    assert cli.json("volume", "list") == {"volumes": [volume_path.rsplit("/", 1)[1]]}
