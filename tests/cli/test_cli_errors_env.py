"""Failures are one clear ``Error:`` line and exit 255; flags and environment
work the heketi-cli way."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from clitools import ADMIN_SECRET, Cli
from server_process import free_port, python_env


def test_unreachable_server(cli):
    url = f"http://127.0.0.1:{free_port()}"
    result = Cli(url).fails("cluster", "list")
    assert result.stderr == f"Error: unable to connect to {url}: Connection refused\n"
    assert result.stdout == ""


def test_malformed_server_url(cli):
    result = cli.fails("-s", "ftp://example.com", "cluster", "list")
    assert result.stderr.startswith("Error: invalid server URL 'ftp://example.com'")
    assert cli.fails("--server=localhost:8080", "cluster", "list").stderr.startswith(
        "Error: invalid server URL")


def test_wrong_secret_gets_the_server_message(cli):
    result = cli.fails("--secret", "not-the-secret", "cluster", "list")
    assert result.stderr.startswith("Error: Invalid JWT token: signature is invalid")


def test_unknown_user_and_user_role(server):
    assert "Unknown user" in Cli(server.url, user="bob").fails("cluster", "list").stderr
    user_cli = Cli(server.url, user="user", secret="usersecret")
    assert user_cli.fails("cluster", "list").stderr == \
        "Error: Administrator access required\n"
    assert user_cli.ok("--json", "volume", "list").json() == {"volumes": []}


def test_unknown_id_and_bad_usage(cli):
    missing = "0123456789abcdef0123456789abcdef"
    assert cli.fails("volume", "info", missing).stderr == "Error: Id not found\n"
    assert cli.fails("node", "delete", missing).stderr == "Error: Id not found\n"
    result = cli.fails("volume", "info")
    assert "VOLUME_ID" in result.stderr and "pyketi-cli volume info --help" in result.stderr
    assert "unrecognized arguments: --bogus" in cli.fails("cluster", "list", "--bogus").stderr


def test_flags_beat_environment_and_pyketi_names_beat_heketi_names(server):
    wrong = Cli(f"http://127.0.0.1:{free_port()}", secret="wrong")
    # flags override the (wrong) environment, before or after the command
    assert wrong.ok("-s", server.url, "--secret", ADMIN_SECRET, "--json",
                    "cluster", "list").json() == {"clusters": []}
    assert wrong.ok("cluster", "list", "--server", server.url, f"--secret={ADMIN_SECRET}",
                    "--json").json() == {"clusters": []}
    # PYKETI_CLI_* aliases win over HEKETI_CLI_*
    assert wrong.ok("--json", "cluster", "list", env={
        "PYKETI_CLI_SERVER": server.url, "PYKETI_CLI_KEY": ADMIN_SECRET}).json() == \
        {"clusters": []}
    only_pyketi = {"PYKETI_CLI_SERVER": server.url, "PYKETI_CLI_USER": "admin",
                   "PYKETI_CLI_KEY": ADMIN_SECRET}
    assert wrong.ok("--json", "cluster", "list", env=only_pyketi,
                    replace_env=True).json() == {"clusters": []}


def test_default_server_is_localhost_8080():
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", 8080)) == 0:
            pytest.skip("something listens on port 8080")
    result = Cli("unused").run("cluster", "list", env={}, replace_env=True)
    assert result.returncode == 255
    assert result.stderr == "Error: unable to connect to http://localhost:8080: " \
                            "Connection refused\n"


def test_secret_never_printed(cli):
    result = cli.run("--secret", "sup3r-s3cret-value", "cluster", "list")
    assert "sup3r-s3cret-value" not in result.stdout + result.stderr


def test_help_and_version(cli):
    result = cli.ok("--help")
    for group in ("cluster", "node", "device", "volume", "topology", "db", "server"):
        assert group in result.stdout
    assert cli.ok("--version").stdout.startswith("pyketi-cli ")
    assert "--expand-size" in cli.ok("volume", "expand", "--help").stdout
    assert "usage: pyketi-cli volume" in cli.ok("volume").stdout


def test_console_script_is_the_same_entry_point(server):
    script = Path(sys.executable).with_name("pyketi-cli")
    if not script.exists():
        pytest.skip("pyketi is not installed in this environment (no pyketi-cli script)")
    env = python_env({"HEKETI_CLI_SERVER": server.url, "HEKETI_CLI_USER": "admin",
                      "HEKETI_CLI_KEY": ADMIN_SECRET})
    proc = subprocess.run([str(script), "--json", "cluster", "list"], env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, '{"clusters":[]}', "")


def test_silent_server_times_out_per_pyketi_cli_timeout():
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        result = Cli(url).fails("cluster", "list", env={"PYKETI_CLI_TIMEOUT": "0.5"})
    assert result.stderr == f"Error: timed out after 0.5s waiting for {url}\n"
