"""Running pyketi-cli in a subprocess, and checking how it ended."""

from __future__ import annotations

import json
import subprocess
import sys
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
