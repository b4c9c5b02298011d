"""Key and file hygiene: ``db export --jsonfile`` refuses symbolic links and writes 0600;
SQLite databases, their WAL/SHM files and backups are created 0600 whatever the umask."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest
from sqlalchemy import text

from pyketi.api.dbroutes import backup_file
from pyketi.db.migrate import ensure_schema
from pyketi.db.session import Database


def mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def loose_umask():
    old = os.umask(0o022)
    yield
    os.umask(old)


def export(db_url: str, jsonfile) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pyketi", "db", "export", "--database-url",
                           db_url, "--jsonfile", str(jsonfile)], capture_output=True, text=True,
                          timeout=60, check=False, stdin=subprocess.DEVNULL)


def migrated(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'pyketi.db'}"
    db = Database(url)
    ensure_schema(db.engine, db.url)
    db.dispose()
    return url


def test_sqlite_database_wal_and_shm_are_created_0600(tmp_path, loose_umask):
    db = Database(f"sqlite:///{tmp_path / 'new.db'}")
    try:
        ensure_schema(db.engine, db.url)
        db.write_sync(lambda s: s.execute(text("select 1")))
        files = sorted(p.name for p in tmp_path.iterdir())
        assert {"new.db", "new.db-wal", "new.db-shm"} <= set(files), files
        for name in files:
            assert mode(tmp_path / name) == 0o600, (name, oct(mode(tmp_path / name)))
    finally:
        db.dispose()


def test_backup_file_is_created_0600(tmp_path, loose_umask):
    url = migrated(tmp_path)
    target = tmp_path / "backup.db"
    backup_file(url.removeprefix("sqlite:///"), str(target))
    assert mode(target) == 0o600 and target.stat().st_size > 0


def test_export_writes_0600(tmp_path, loose_umask):
    url = migrated(tmp_path)
    out = tmp_path / "export.json"
    done = export(url, out)
    assert done.returncode == 0, done.stderr
    assert mode(out) == 0o600 and '"clusterentries"' in out.read_text()


def test_export_refuses_a_planted_symlink(tmp_path):
    url = migrated(tmp_path)
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    dangling_target = tmp_path / "created-through-link"
    for target in (victim, dangling_target):
        link = tmp_path / f"link-to-{target.name}"
        link.symlink_to(target)
        refused = export(url, link)
        assert refused.returncode != 0
        assert "symbolic link" in refused.stderr and "Traceback" not in refused.stderr
    assert victim.read_text() == "precious\n"
    assert not dangling_target.exists()
