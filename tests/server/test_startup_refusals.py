"""A heketi.json key pyketi cannot honour stops ``pyketi serve`` with one clear line on
stderr and exit status 1, never a traceback (the real process, as an operator starts it)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from heketi_files import write_boltdb
from server_process import free_port, python_env

JWT = {"admin": {"key": "a" * 32}, "user": {"key": "u" * 32}}


def serve(tmp_path: Path, glusterfs: dict, port: int | None = None, env: dict | None = None,
          **top) -> subprocess.CompletedProcess:
    glusterfs = {"db": str(tmp_path / "pyketi.db"), **glusterfs}
    config = {"port": str(port or free_port()), "jwt": JWT, "glusterfs": glusterfs, **top}
    path = tmp_path / "heketi.json"
    path.write_text(json.dumps(config))
    return subprocess.run([sys.executable, "-m", "pyketi", "serve", "--config", str(path)],
                          cwd=tmp_path, env=python_env(env), capture_output=True, text=True,
                          timeout=60)


def refused(proc: subprocess.CompletedProcess) -> str:
    """The one ERROR line; nothing on stdout (the server never said it listens)."""
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    (line,) = [ln for ln in proc.stderr.splitlines() if "ERROR" in ln]
    assert line.startswith("ERROR: ") and "Listening" not in proc.stdout
    return line


@pytest.mark.parametrize("name", ["kubernetes", "kube"])
def test_kubernetes_executor_is_refused(tmp_path, name):
    line = refused(serve(tmp_path, {"executor": name}))
    assert line == f"ERROR: glusterfs.executor: {name} is not supported: use ssh"


def test_kubernetes_executor_from_the_environment_too(tmp_path):
    line = refused(serve(tmp_path, {"executor": "mock"}, env={"HEKETI_EXECUTOR": "kubernetes"}))
    assert "kubernetes is not supported: use ssh" in line


def test_backup_db_to_kube_secret_is_refused(tmp_path):
    line = refused(serve(tmp_path, {"executor": "mock"}, backup_db_to_kube_secret=True))
    assert "backup_db_to_kube_secret is not supported" in line and "/backup/db" in line


def test_heketi_boltdb_file_is_recognised(tmp_path):
    bolt = tmp_path / "heketi.db"
    content = write_boltdb(bolt)
    line = refused(serve(tmp_path, {"executor": "mock", "db": str(bolt)}))
    assert line.startswith(f"ERROR: {bolt} is a heketi database: export it with "
                           "`heketi db export` and load it with `pyketi db import`")
    assert bolt.read_bytes() == content  # untouched


def test_port_already_in_use(tmp_path):
    with socket.socket() as busy:
        busy.bind(("0.0.0.0", 0))
        busy.listen()
        port = busy.getsockname()[1]
        line = refused(serve(tmp_path, {"executor": "mock"}, port=port))
    assert line == (f"ERROR: cannot listen on 0.0.0.0:{port}: port already in use "
                    "(is heketi or another pyketi running?)")
    assert not (tmp_path / "pyketi.db").exists()  # refused before the database was touched


def test_missing_ssh_key_file(tmp_path):
    missing = tmp_path / "no-such-key"
    line = refused(serve(tmp_path, {"executor": "ssh", "sshexec": {"keyfile": str(missing)}}))
    assert line == f"ERROR: ssh private key file {missing} does not exist"
    line = refused(serve(tmp_path, {"executor": "ssh", "sshexec": {"user": "root"}}))
    assert line == "ERROR: Missing ssh private key file in configuration"


def test_invalid_loglevel(tmp_path):
    line = refused(serve(tmp_path, {"executor": "mock", "loglevel": "verbose"}))
    assert line == ("ERROR: glusterfs.loglevel: invalid log level 'verbose' "
                    "(none|critical|error|warning|info|debug)")


def test_unopenable_log_file(tmp_path):
    where = tmp_path / "no-such-dir" / "pyketi.log"
    line = refused(serve(tmp_path, {"executor": "mock"}, log_file=str(where)))
    assert line == f"ERROR: unable to open log_file {where}: No such file or directory"


def test_database_that_does_not_answer_is_one_line_without_its_password(tmp_path):
    url = f"postgresql://pyketi:s3cret-pw@127.0.0.1:{free_port()}/pyketi"
    line = refused(serve(tmp_path, {"executor": "mock"}, database_url=url))
    assert line.startswith(f"ERROR: unable to open database postgresql://pyketi:***@127.0.0.1:")
    assert "Connection refused" in line and "s3cret-pw" not in line


@pytest.mark.parametrize("url,expected", [
    ("postgresql://u:pw@host:notaport/x", "ERROR: database_url is not a valid database URL"),
    ("mongodb://host/x", "ERROR: unable to use database mongodb://host/x: Can't load plugin: "
                         "sqlalchemy.dialects:mongodb"),
])
def test_database_url_that_cannot_be_used(tmp_path, url, expected):
    assert refused(serve(tmp_path, {"executor": "mock"}, database_url=url)) == expected


def test_a_file_that_is_not_a_database(tmp_path):
    other = tmp_path / "notes.txt"
    other.write_text("not a database, " * 100)
    line = refused(serve(tmp_path, {"executor": "mock", "db": str(other)}))
    assert line == f"ERROR: unable to open database sqlite:///{other}: file is not a database"
