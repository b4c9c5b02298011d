"""``enable_tls`` serves HTTPS with heketi's ``cert_file``/``key_file``; ``pyketi-cli
--tls-cert`` verifies it; a server with unusable TLS files refuses to start."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from clitools import Cli
from server_process import ServerProcess, python_env
from tlscert import self_signed


def test_enable_tls_serves_https_verified_with_tls_cert(server_factory, tmp_path):
    cert, key = self_signed(tmp_path)
    server = server_factory(config={"enable_tls": True, "cert_file": str(cert),
                                    "key_file": str(key)})
    assert server.url.startswith("https://")
    cli = Cli(server.url)
    created = cli.json("cluster", "create", "--tls-cert", str(cert))
    assert cli.json("cluster", "list", "-C", str(cert))["clusters"] == [created["id"]]
    # without the certificate the client does not trust the server
    untrusted = cli.fails("cluster", "list")
    assert "certificate" in untrusted.stderr.lower()
    # plain HTTP to the TLS port gets no answer
    plain = cli.fails("cluster", "list", "--server", server.url.replace("https", "http"))
    assert "Error: " in plain.stderr


def serve_fails(tmp_path: Path, **tls: str) -> subprocess.CompletedProcess[str]:
    config = ServerProcess(tmp_path, config={"enable_tls": True, **tls}).config_path
    return subprocess.run([sys.executable, "-m", "pyketi", "serve", "--config", str(config)],
                          env=python_env(), capture_output=True, text=True, timeout=60,
                          check=False, stdin=subprocess.DEVNULL)


def assert_refused(proc: subprocess.CompletedProcess[str], *words: str) -> None:
    assert proc.returncode != 0, proc
    lines = proc.stderr.strip().splitlines()
    assert "Traceback" not in proc.stderr and lines, proc.stderr
    assert lines[-1].startswith("ERROR: "), proc.stderr
    for word in words:
        assert word in lines[-1], proc.stderr
    assert "Listening" not in proc.stdout


def test_missing_or_unreadable_tls_files_refuse_to_start(tmp_path):
    cert, key = self_signed(tmp_path)
    missing = tmp_path / "missing.key"
    assert_refused(serve_fails(tmp_path, cert_file=str(cert), key_file=str(missing)),
                   str(missing))
    garbage = tmp_path / "garbage.key"
    garbage.write_text("not a key\n")
    assert_refused(serve_fails(tmp_path, cert_file=str(cert), key_file=str(garbage)),
                   str(garbage))
    assert_refused(serve_fails(tmp_path, cert_file=str(tmp_path), key_file=str(key)))
    assert_refused(serve_fails(tmp_path), "cert_file")
