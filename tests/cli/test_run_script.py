"""``scripts/run.sh --background`` waits on the port it was given, in a
scratch copy of the repository (its state files stay out of the worktree)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from server_process import REPO, free_port, python_env


@pytest.fixture
def scratch_repo(tmp_path: Path):
    venv = REPO / ".venv"
    if not (venv / "bin" / "pyketi").exists():
        pytest.skip("no .venv with pyketi installed (run scripts/setup.sh)")
    (tmp_path / "scripts").mkdir()
    for name in ("run.sh", "setup.sh"):
        shutil.copy2(REPO / "scripts" / name, tmp_path / "scripts" / name)
    shutil.copy2(REPO / "pyproject.toml", tmp_path / "pyproject.toml")  # keeps its mtime
    (tmp_path / ".venv").symlink_to(venv)
    yield tmp_path
    pid_file = tmp_path / ".pyketi.pid"
    if pid_file.exists():
        pid = int(pid_file.read_text())
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        for _ in range(100):  # bounded: 10 s
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)


def run_background(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(repo / "scripts" / "run.sh"), "--background", *args],
                          cwd=repo, env=python_env(), capture_output=True, text=True,
                          timeout=120, check=False)


def hello(url: str) -> str:
    with urllib.request.urlopen(url + "/hello", timeout=5) as reply:
        return reply.read().decode()


@pytest.mark.parametrize("style", ["--port N", "--port=N", "config"])
def test_background_waits_on_the_given_port(scratch_repo, style):
    port = free_port()
    if style == "--port N":
        args = ["--port", str(port)]
    elif style == "--port=N":
        args = [f"--port={port}"]
    else:
        config = scratch_repo / "pyketi.json"
        config.write_text(json.dumps({"port": str(port), "glusterfs": {"executor": "mock"},
                                      "database_url": f"sqlite:///{scratch_repo / 'p.db'}"}))
        args = ["--config", str(config)]
    result = run_background(scratch_repo, *args)
    url = f"http://127.0.0.1:{port}"
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"pyketi is up at {url} (PID " in result.stdout
    assert f"export HEKETI_CLI_SERVER={url} " in result.stdout
    assert hello(url) == "Hello from Heketi"


def test_a_bad_port_is_refused(scratch_repo):
    result = run_background(scratch_repo, "--port", "80x")
    assert result.returncode == 2
    assert result.stderr == "run.sh: bad port: 80x\n"
