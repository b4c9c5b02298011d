"""Waiting shows a spinner on a terminal, and nothing when piped or --json."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time

import pytest
from clitools import ADMIN_SECRET, Cli, load_sample
from server_process import python_env

HANG_SECONDS = 2
SLOW_BRICKS = {"executor": "fault",
               "injectexec": {"base": "mock", "rules": [
                   {"call": "bricks_create", "nth": 1, "action": "hang",
                    "seconds": HANG_SECONDS}]}}


def run_with_tty_stderr(url: str, *args: str) -> tuple[int, str, str]:
    """Run pyketi-cli with stderr on a pseudo-terminal, stdout on a pipe."""
    master, slave = pty.openpty()
    env = python_env({"HEKETI_CLI_SERVER": url, "HEKETI_CLI_USER": "admin",
                      "HEKETI_CLI_KEY": ADMIN_SECRET})
    proc = subprocess.Popen([sys.executable, "-m", "pyketi.cli", *args], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO: the child closed its end
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(master)
    stdout = proc.stdout.read().decode()
    proc.stdout.close()
    returncode = proc.wait(timeout=30)
    return returncode, stdout, b"".join(chunks).decode(errors="replace")


@pytest.fixture
def slow_cli(server_factory):
    server = server_factory(glusterfs=SLOW_BRICKS)
    cli = Cli(server.url)
    load_sample(cli, "lab-3node.json")
    return cli, server.url


def test_spinner_on_a_terminal(slow_cli):
    _, url = slow_cli
    started = time.monotonic()
    returncode, stdout, stderr = run_with_tty_stderr(url, "volume", "create", "--size=1")
    assert returncode == 0, stderr
    assert time.monotonic() - started >= HANG_SECONDS
    assert stdout.startswith("Name: vol_")
    assert "Creating 1GiB replicate volume (" in stderr
    elapsed = [float(x) for x in re.findall(r"volume \((\d+\.\d)s\)", stderr)]
    assert elapsed and max(elapsed) >= HANG_SECONDS - 0.5, stderr
    assert elapsed == sorted(elapsed)
    assert "waiting for /queue/" in stderr
    # the spinner cleans up after itself: the last thing written clears the line
    assert stderr.endswith("\r\x1b[K")


def test_nothing_extra_when_piped(slow_cli):
    cli, _ = slow_cli
    result = cli.ok("volume", "create", "--size=1")
    assert result.stderr == ""
    assert result.stdout.startswith("Name: vol_")


def test_nothing_extra_with_json_on_a_terminal(slow_cli):
    _, url = slow_cli
    returncode, stdout, stderr = run_with_tty_stderr(url, "--json", "volume", "create",
                                                     "--size=1")
    assert returncode == 0
    assert stderr == ""
    assert stdout.startswith('{"size":1,')
