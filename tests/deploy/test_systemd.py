"""``deploy/systemd``: the unit runs ``pyketi serve --config /etc/pyketi/heketi.json`` as a
dedicated user, hardened; ``systemd-analyze verify`` accepts it without a warning and
``systemd-analyze security`` rates it well; its example heketi.json keeps the database
where the unit lets pyketi write."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pyketi.config import load_config

ROOT = Path(__file__).resolve().parents[2]
UNIT_DIR = ROOT / "deploy" / "systemd"
UNIT = UNIT_DIR / "pyketi.service"
ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze not installed")


def directives(text: str) -> dict[str, dict[str, list[str]]]:
    """section → key → values (a key may repeat, as systemd allows)."""
    out: dict[str, dict[str, list[str]]] = {}
    section = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = out.setdefault(line[1:-1], {})
            continue
        assert section is not None and "=" in line, raw
        key, _, value = line.partition("=")
        section.setdefault(key.strip(), []).append(value.strip())
    return out


def service() -> dict[str, list[str]]:
    return directives(UNIT.read_text())["Service"]


def one(key: str) -> str:
    (value,) = service()[key]
    return value


def test_runs_pyketi_serve_with_the_etc_config_as_a_dedicated_user():
    argv = one("ExecStart").split()
    assert Path(argv[0]).name == "pyketi" and Path(argv[0]).is_absolute()
    assert argv[1:] == ["serve", "--config", "/etc/pyketi/heketi.json"]
    assert one("User") == "pyketi" and one("Group") == "pyketi"
    assert "DynamicUser" not in service()
    # the user is created by the sysusers.d file shipped next to the unit
    sysusers = [line.split() for line in (UNIT_DIR / "pyketi.sysusers.conf").read_text()
                .splitlines() if line.strip() and not line.startswith("#")]
    assert [(u[0], u[1]) for u in sysusers] == [("u", "pyketi")]
    assert "/var/lib/pyketi" in sysusers[0]


def test_hardening_and_restart():
    s = service()
    expected = {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "PrivateTmp": "yes",
                "ProtectHome": "yes", "PrivateDevices": "yes", "Restart": "on-failure",
                "KillSignal": "SIGTERM", "CapabilityBoundingSet": ""}
    assert {k: one(k) for k in expected} == expected
    assert one("ReadWritePaths").split() == ["/var/lib/pyketi"]
    assert one("StateDirectory") == "pyketi"
    assert "AF_INET" in one("RestrictAddressFamilies").split()
    assert "@system-service" in s["SystemCallFilter"]
    # the stop timeout leaves pyketi its shutdown_timeout (60 s) to finish operations
    assert int(one("TimeoutStopSec")) > 60
    assert directives(UNIT.read_text())["Install"]["WantedBy"] == ["multi-user.target"]


def test_example_config_loads_and_keeps_the_database_writable():
    cfg = load_config(str(UNIT_DIR / "heketi.json"), env={})
    db = Path(cfg.database_url.removeprefix("sqlite:///"))
    assert cfg.database_url.startswith("sqlite:///")
    writable = [Path(p) for p in one("ReadWritePaths").split()]
    assert any(db.is_relative_to(p) for p in writable), (db, writable)
    assert cfg.executor == "ssh"
    assert Path(cfg.glusterfs["sshexec"]["keyfile"]).parent == Path("/etc/pyketi")


def unit_for_this_machine(tmp_path: Path) -> Path:
    """The unit with its ExecStart binary at this environment's ``pyketi`` (verify checks
    that the program exists); nothing else changed."""
    exe = Path(sys.executable).parent / "pyketi"
    assert exe.exists(), exe
    old = "ExecStart=" + one("ExecStart").split()[0]
    text = UNIT.read_text().replace(old, f"ExecStart={exe}")
    assert text.count(f"ExecStart={exe}") == 1
    out = tmp_path / "pyketi.service"
    out.write_text(text)
    return out


@needs_analyze
def test_systemd_analyze_verify_is_silent(tmp_path):
    p = subprocess.run([ANALYZE, "verify", str(unit_for_this_machine(tmp_path))],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and not p.stderr.strip() and not p.stdout.strip(), (
        p.stdout + p.stderr)


@needs_analyze
def test_systemd_analyze_verify_reports_a_misspelt_directive(tmp_path):
    """verify exits 0 on an unknown key, so the test above relies on its silence."""
    unit = unit_for_this_machine(tmp_path)
    unit.write_text(unit.read_text().replace("NoNewPrivileges=", "NoNewPrivilege="))
    p = subprocess.run([ANALYZE, "verify", str(unit)], capture_output=True, text=True,
                       timeout=60)
    assert "Unknown key" in p.stderr and "NoNewPrivilege" in p.stderr


@needs_analyze
def test_systemd_analyze_security_rates_it_ok(tmp_path):
    unit = unit_for_this_machine(tmp_path)
    p = subprocess.run([ANALYZE, "security", "--offline=yes", "--threshold=20", str(unit)],
                       capture_output=True, text=True, timeout=60)
    if "Unknown option" in p.stderr or "unrecognized option" in p.stderr:
        pytest.skip("systemd-analyze security --offline needs systemd >= 250")
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr  # exposure at most 2.0 of 10
