"""`pyketi db upgrade|export|import` and the schema guard of `serve`."""

import json
import subprocess
import sys

from sqlalchemy import text

from pyketi.db.session import Database


def run(*args, check=True):
    proc = subprocess.run([sys.executable, "-m", "pyketi", *args], capture_output=True,
                          text=True, timeout=60)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


async def test_export_import_round_trip_is_lossless(api, tmp_path, db_url):
    topo = await api.topology(nodes=3, devices=2)
    await api.volume(5, gid=2001, glustervolumeoptions=["performance.rda-cache-limit 10MB"])
    await api.volume(3, durability={"type": "none"})
    before = (await api.get("/db/dump")).json()
    exported = tmp_path / "export.json"
    run("db", "export", "--database-url", db_url, "--jsonfile", str(exported))
    assert json.loads(exported.read_text()) == before
    # refuses to overwrite an existing file
    again = run("db", "export", "--database-url", db_url, "--jsonfile", str(exported), check=False)
    assert again.returncode != 0 and "exists" in again.stderr

    fresh = f"sqlite:///{tmp_path}/imported.db"
    out = run("db", "import", "--database-url", fresh, "--jsonfile", str(exported))
    assert "2 volumes" in out.stdout and "3 nodes" in out.stdout
    second = tmp_path / "second.json"
    run("db", "export", "--database-url", fresh, "--jsonfile", str(second))
    after = json.loads(second.read_text())
    gen_before = before["dbattributeentries"].pop("DB_GENERATION_ID", None)
    gen_after = after["dbattributeentries"].pop("DB_GENERATION_ID")
    after["dbattributeentries"].pop("IMPORTED_AT")
    assert gen_after != gen_before
    assert after == before
    assert len(topo["devices"]) == 6

    # importing into a database that already holds a topology is refused, nothing written
    refused = run("db", "import", "--database-url", fresh, "--jsonfile", str(exported),
                  check=False)
    assert refused.returncode != 0 and "not empty" in refused.stderr


def test_upgrade_creates_schema_and_serve_refuses_a_newer_database(tmp_path):
    url = f"sqlite:///{tmp_path}/p.db"
    out = run("db", "upgrade", "--database-url", url)
    assert "revision" in out.stdout
    db = Database(url)
    with db.engine.begin() as conn:
        conn.execute(text("update alembic_version set version_num = '9999_future'"))
    db.dispose()
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"port": "1", "database_url": url}))
    proc = run("serve", "--config", str(config), "--disable-auth", check=False)
    assert proc.returncode == 1
    assert "newer than this pyketi knows" in proc.stderr


def test_import_of_malformed_export_writes_nothing(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"clusterentries": {"not-an-id": {"Info": {}}}}))
    url = f"sqlite:///{tmp_path}/p.db"
    proc = run("db", "import", "--database-url", url, "--jsonfile", str(bad), check=False)
    assert proc.returncode == 1 and "invalid id" in proc.stderr
    db = Database(url)
    with db.engine.connect() as conn:
        assert conn.execute(text("select count(*) from clusters")).scalar() == 0
    db.dispose()

