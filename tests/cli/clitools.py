"""Running pyketi-cli in a subprocess, and checking how it ended."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

import server_process

ADMIN_SECRET = server_process.ADMIN_SECRET
TOPOLOGY_DIR = server_process.REPO / "topology"
CLI_TIMEOUT = 120


@dataclass
class CliResult:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    def __str__(self) -> str:
        return (f"pyketi-cli {' '.join(self.args)} -> {self.returncode}\n"
                f"--- stdout\n{self.stdout}--- stderr\n{self.stderr}")


class Cli:
    """Runs ``python -m pyketi.cli`` (the ``pyketi-cli`` entry point) against
    a server, configured through heketi-cli's environment variables."""

    def __init__(self, url: str, user: str = "admin", secret: str = ADMIN_SECRET) -> None:
        self.env = {"HEKETI_CLI_SERVER": url, "HEKETI_CLI_USER": user,
                    "HEKETI_CLI_KEY": secret}

    def run(self, *args: str, env: dict[str, str] | None = None,
            replace_env: bool = False) -> CliResult:
        child_env = dict(env or {}) if replace_env else {**self.env, **(env or {})}
        proc = subprocess.run([sys.executable, "-m", "pyketi.cli", *args],
                              env=server_process.python_env(child_env),
                              capture_output=True, text=True, timeout=CLI_TIMEOUT, check=False,
                              stdin=subprocess.DEVNULL)
        return CliResult(args, proc.returncode, proc.stdout, proc.stderr)

    def ok(self, *args: str, **kwargs: Any) -> CliResult:
        result = self.run(*args, **kwargs)
        assert result.returncode == 0, str(result)
        return result

    def fails(self, *args: str, **kwargs: Any) -> CliResult:
        """Runs a command that must fail the heketi-cli way: exit 255 and
        exactly one ``Error: ...`` line on stderr."""
        result = self.run(*args, **kwargs)
        assert result.returncode == 255, str(result)
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: "), str(result)
        return result

    def json(self, *args: str) -> Any:
        return self.ok("--json", *args).json()


def load_sample(cli: Cli, name: str) -> CliResult:
    return cli.ok("topology", "load", f"--json={TOPOLOGY_DIR / name}")


def start_cli(cli: Cli, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """pyketi-cli in the background (stdout and stderr piped), for tests that
    act while it waits."""
    return subprocess.Popen([sys.executable, "-m", "pyketi.cli", *args],
                            env=server_process.python_env({**cli.env, **(env or {})}),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_in_flight(cli: Cli, count: int = 1, timeout: float = 30.0) -> None:
    """Until the server runs ``count`` operations (bounded)."""
    deadline = time.monotonic() + timeout
    while cli.json("server", "operations", "info")["in_flight"] < count:
        assert time.monotonic() < deadline, f"{count} operation(s) never became in-flight"
        time.sleep(0.05)


def finish(proc: subprocess.Popen[str], timeout: float = 60.0) -> tuple[str, str]:
    """stdout and stderr of a background pyketi-cli; killed if it outlives ``timeout``."""
    try:
        return proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
