"""Packaging: psycopg is the optional extra ``pyketi[postgres]``; without it a
PostgreSQL URL gets one clear line instead of a traceback."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# run pyketi as if psycopg were not installed (an import of it fails)
NO_PSYCOPG = ("import sys; sys.modules['psycopg'] = None; from pyketi.main import main; "
              "sys.exit(main(sys.argv[1:]))")
PG_URL = "postgresql://postgres@127.0.0.1:5432/pyketi_never_created"
MESSAGE = "ERROR: PostgreSQL support needs: pip install pyketi[postgres]"


def run_without_psycopg(*argv: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", NO_PSYCOPG, *argv], capture_output=True,
                          text=True, timeout=60, env={**os.environ, **(env or {})})


def test_db_upgrade_without_psycopg_says_which_extra():
    p = run_without_psycopg("db", "upgrade", "--database-url", PG_URL)
    assert p.returncode == 1
    assert p.stderr.startswith(MESSAGE), p.stderr
    assert "Traceback" not in p.stderr


def test_serve_without_psycopg_says_which_extra(tmp_path):
    p = run_without_psycopg("serve", "--port", "0", "--bind", "127.0.0.1",
                            env={"PYKETI_DATABASE_URL": PG_URL, "HEKETI_ADMIN_KEY": "a" * 32,
                                 "HEKETI_USER_KEY": "u" * 32})
    assert p.returncode == 1
    assert MESSAGE in p.stderr and "Traceback" not in p.stderr, p.stderr


def test_sqlite_does_not_need_psycopg(tmp_path):
    p = run_without_psycopg("db", "upgrade", "--database-url", f"sqlite:///{tmp_path}/p.db")
    assert p.returncode == 0, p.stderr
    assert "database at revision" in p.stdout


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_psycopg_is_an_extra_and_majors_are_bounded():
    deps = project()["dependencies"]
    assert not any(d.startswith("psycopg") for d in deps)
    assert any(d.startswith("psycopg[binary]") for d in project()["optional-dependencies"]
               ["postgres"])
    for name, bound in (("PyJWT", "<3"), ("paramiko", "<6")):
        spec = next(d for d in deps if d.startswith(name))
        assert bound in spec, spec
    assert any(d.startswith("defusedxml") for d in deps)
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    assert re.search(r"\.\[test,postgres[],]", setup)  # the test environment keeps the driver


def test_license_is_the_apache_2_text():
    text = (ROOT / "LICENSE").read_text()
    assert project()["license"] == "Apache-2.0"
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text
