"""docs/migrate-from-heketi.md, run: every ``sh`` block of the page in order, against a
heketi-format export (tests/server/data/heketi-export.json).

The ``pyketi`` and ``pyketi-cli`` commands run for real, with the page's paths moved under a
temporary directory, heketi's port replaced by a free one and the mock executor instead of
SSH (``HEKETI_EXECUTOR=mock``).  heketi itself is not here: ``heketi db export`` is played by
copying the export where the page has it written, ``heketi db import`` by checking what
heketi's import needs of pyketi's export (only heketi's dbattribute keys, a new database file,
the same topology); ``systemctl stop pyketi`` stops the server the page started; the other
heketi, ``heketi-cli``, ``systemctl`` and ``pip`` lines are passed over.  A command the test
does not know fails it, so the page cannot grow an untested step.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from heketi_files import HEKETI_ATTRIBUTES, HEKETI_EXPORT, write_boltdb
from server_process import free_port, python_env

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "migrate-from-heketi.md"
ADMIN_KEY = "c2f1e7a8d4b94e0f8a6b3c5d7e9f1a2b"
PLACES = re.compile(r"(^|[\s=]|sqlite:///)(/etc/heketi|/var/lib/heketi|/var/lib/pyketi|/root)"
                    r"(?=/|\s|$)")
PASSED_OVER = {("heketi-cli",), ("systemctl", "stop", "heketi"), ("systemctl", "start", "heketi"),
               ("heketi", "offline"), ("pip", "install")}
START_TIMEOUT = 30.0


def blocks(kind: str) -> list[str]:
    return re.findall(rf"^```{kind}\n(.*?)^```$", DOC.read_text(), flags=re.S | re.M)


class Host:
    """The operator's host, under ``root``: heketi's files as heketi left them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.env = {"HEKETI_EXECUTOR": "mock", "HEKETI_HTTP_PORT": str(self.port)}
        self.outputs: dict[str, str] = {}
        self.passed_over: list[str] = []
        self.server: subprocess.Popen[bytes] | None = None
        self.bolt = self.path("/var/lib/heketi/heketi.db")
        for d in ("/etc/heketi", "/var/lib/heketi", "/root"):
            self.path(d).mkdir(parents=True)
        write_boltdb(self.bolt)  # heketi's database file: pyketi must never open it
        self.config = self.path("/etc/heketi/heketi.json")
        self.config.write_text(json.dumps({
            "_port_comment": "Heketi Server Port Number", "port": "8080",
            "use_auth": True,
            "jwt": {"admin": {"key": ADMIN_KEY}, "user": {"key": "u" * 32}},
            "glusterfs": {"executor": "ssh",
                          "sshexec": {"keyfile": str(self.path("/etc/heketi/heketi_key")),
                                      "user": "root", "port": "22", "fstab": "/etc/fstab"},
                          "db": str(self.bolt), "loglevel": "debug",
                          "brick_min_size_gb": 1, "max_bricks_per_volume": 33}}, indent=2))

    def path(self, where: str) -> Path:
        return self.root / where.lstrip("/")

    def moved(self, text: str) -> str:
        text = PLACES.sub(lambda m: m.group(1) + str(self.root) + m.group(2), text)
        return text.replace(":8080", f":{self.port}").replace("ADMIN-KEY", ADMIN_KEY)

    # -- the commands ----------------------------------------------------------
    def run_line(self, line: str) -> None:
        argv = shlex.split(self.moved(line), comments=True)
        if not argv:
            return
        redirect = None
        if ">" in argv:
            argv, redirect = argv[:argv.index(">")], argv[argv.index(">") + 1]
        if any(tuple(argv[:len(p)]) == p for p in PASSED_OVER):
            self.passed_over.append(line)
        elif argv[0] == "heketi" and argv[1:3] == ["db", "export"]:
            shutil.copy(HEKETI_EXPORT, option(argv, "--jsonfile"))
        elif argv[0] == "heketi" and argv[1:3] == ["db", "import"]:
            heketi_would_import(option(argv, "--jsonfile"), option(argv, "--dbfile"))
            self.passed_over.append(line)
        elif argv == ["systemctl", "stop", "pyketi"]:
            self.stop()
        elif argv[0] == "install" and argv[1] == "-d":
            Path(argv[-1]).mkdir(mode=int(argv[argv.index("-m") + 1], 8), parents=True)
        elif argv[0] == "mv":
            os.rename(argv[1], argv[2])
        elif argv[0] == "export":
            self.env.update(a.split("=", 1) for a in argv[1:])
        elif argv[:2] == ["pyketi", "serve"]:
            self.start(argv[1:])
        elif argv[0] in ("pyketi", "pyketi-cli"):
            module = "pyketi" if argv[0] == "pyketi" else "pyketi.cli"
            proc = subprocess.run([sys.executable, "-m", module, *argv[1:]],
                                  env=python_env(self.env), capture_output=True, text=True,
                                  timeout=120, stdin=subprocess.DEVNULL)
            assert proc.returncode == 0, f"{line}\n{proc.stdout}\n{proc.stderr}"
            if redirect:
                Path(redirect).write_text(proc.stdout)
            self.outputs[" ".join(argv[:3])] = proc.stdout
        else:
            raise AssertionError(f"the page runs a command this test does not know: {line}")

    def start(self, args: list[str]) -> None:
        log = open(self.root / "pyketi.log", "wb")
        self.server = subprocess.Popen([sys.executable, "-m", "pyketi", *args],
                                       env=python_env(self.env), stdout=log,
                                       stderr=subprocess.STDOUT, cwd=self.root)
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            assert self.server.poll() is None, (self.root / "pyketi.log").read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/hello", timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("pyketi serve did not answer:\n"
                             + (self.root / "pyketi.log").read_text())

    def stop(self) -> None:
        server, self.server = self.server, None
        if server is not None and server.poll() is None:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(10)


def option(argv: list[str], name: str) -> str:
    for i, arg in enumerate(argv):
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
        if arg == name:
            return argv[i + 1]
    raise AssertionError(f"{name} missing in {argv}")


def heketi_would_import(jsonfile: str, dbfile: str) -> None:
    """What heketi's ``db import`` and its start-up need of the file: a database file that
    does not exist yet, only dbattribute keys heketi knows, and heketi's topology back."""
    assert not Path(dbfile).exists()
    back, original = json.loads(Path(jsonfile).read_text()), json.loads(HEKETI_EXPORT.read_text())
    assert set(back["dbattributeentries"]) == HEKETI_ATTRIBUTES
    for db in (back, original):
        db["dbattributeentries"].pop("DB_GENERATION_ID")
    assert back == original


def test_the_migration_page_runs_against_a_heketi_export(tmp_path):
    host = Host(tmp_path)
    (settings,) = blocks("json")  # the one key the page adds to heketi.json
    config = json.loads(host.config.read_text())
    config.update(json.loads(host.moved(settings)))
    host.config.write_text(json.dumps(config))
    bolt_before = host.bolt.read_bytes()
    try:
        for block in blocks("sh"):
            for line in block.splitlines():
                host.run_line(line)
    finally:
        host.stop()
    assert host.server is None, "the page leaves pyketi running"

    imported = host.outputs["pyketi db import"]
    assert "DB imported: 1 clusters, 3 nodes, 3 devices, 2 volumes, 4 bricks" in imported
    assert imported.strip() in DOC.read_text()
    assert json.loads(host.outputs["pyketi db check"])["totalinconsistencies"] == 0
    after = host.path("/root/topology-after.txt").read_text()
    export = json.loads(HEKETI_EXPORT.read_text())
    for node in export["nodeentries"].values():
        assert node["Info"]["hostnames"]["manage"][0] in after
        assert node["Info"]["hostnames"]["storage"][0] in after
    for volume in export["volumeentries"].values():
        assert volume["Info"]["name"] in after
        assert volume["Info"]["id"] in host.outputs["pyketi-cli volume list"]
    for brick in export["brickentries"].values():
        assert brick["Info"]["path"] in after
    assert "Total: 0" in host.outputs["pyketi-cli server operations"]
    assert host.path("/root/pyketi-export.json").exists()
    assert host.path("/var/lib/heketi/heketi.db.before-pyketi").read_bytes() == bolt_before
    assert len(host.passed_over) == 6, host.passed_over  # heketi-cli, heketi x4, pip
