"""`pyketi db upgrade|export|import` and the schema guard of `serve`."""

import json
import subprocess
import sys
from heketi_files import HEKETI_ATTRIBUTES, HEKETI_EXPORT, write_boltdb
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



def test_heketi_export_goes_through_pyketi_and_back_to_heketi_unchanged(tmp_path):
    """heketi -> ``pyketi db import`` -> ``pyketi db export`` gives heketi's export back
    (but the generation id, renewed on import as heketi does): heketi's ``db import``
    takes it, no "unknown dbattribute key"."""
    url = f"sqlite:///{tmp_path}/p.db"
    out = run("db", "import", "--database-url", url, "--jsonfile", str(HEKETI_EXPORT))
    assert "1 clusters, 3 nodes, 3 devices, 2 volumes, 4 bricks" in out.stdout
    back = tmp_path / "back.json"
    run("db", "export", "--database-url", url, "--jsonfile", str(back))
    original, exported = json.loads(HEKETI_EXPORT.read_text()), json.loads(back.read_text())
    assert set(exported["dbattributeentries"]) == HEKETI_ATTRIBUTES
    old = original["dbattributeentries"].pop("DB_GENERATION_ID")["Value"]
    new = exported["dbattributeentries"].pop("DB_GENERATION_ID")["Value"]
    assert new != old and len(new) == 32
    assert exported == original


def test_export_leaves_out_what_heketi_does_not_know(tmp_path):
    """A database imported by an older pyketi holds an ``IMPORTED_AT`` attribute: it stays
    out of the export, which heketi would otherwise refuse."""
    url = f"sqlite:///{tmp_path}/p.db"
    run("db", "import", "--database-url", url, "--jsonfile", str(HEKETI_EXPORT))
    db = Database(url)
    with db.engine.begin() as conn:
        conn.execute(text("insert into attributes (key, value) values ('IMPORTED_AT', '1')"))
    db.dispose()
    exported = json.loads(run("db", "export", "--database-url", url, "--jsonfile", "-").stdout)
    assert set(exported["dbattributeentries"]) == HEKETI_ATTRIBUTES


def test_db_check_reports_heketis_sections_and_fails_on_inconsistency(tmp_path):
    url = f"sqlite:///{tmp_path}/p.db"
    run("db", "import", "--database-url", url, "--jsonfile", str(HEKETI_EXPORT))
    report = json.loads(run("db", "check", "--database-url", url).stdout)
    assert report["totalinconsistencies"] == 0
    assert (report["volumes"]["total"], report["bricks"]["ok"]) == (2, 4)
    assert list(report) == ["clusters", "volumes", "bricks", "nodes", "devices", "blockvolumes",
                            "dbattributes", "pendingoperations", "totalinconsistencies"]
    db = Database(url)
    with db.engine.begin() as conn:  # a device that claims less space than its bricks take
        conn.execute(text("update devices set used = 0, free = total"))
    db.dispose()
    bad = run("db", "check", "--database-url", url, check=False)
    assert bad.returncode == 1 and "inconsistencies in the database" in bad.stderr
    assert json.loads(bad.stdout)["totalinconsistencies"] == 3


def test_export_with_pending_operations_says_to_clean_them_up_first(tmp_path):
    from pyketi.db.models import Operation
    from pyketi.ids import new_id

    url = f"sqlite:///{tmp_path}/p.db"
    run("db", "import", "--database-url", url, "--jsonfile", str(HEKETI_EXPORT))
    clean = run("db", "export", "--database-url", url, "--jsonfile", "-")
    assert clean.stderr == ""
    db = Database(url)
    db.write_sync(lambda s: s.add(Operation(id=new_id(), type="add-node", owner=new_id())))
    db.dispose()
    proc = run("db", "export", "--database-url", url, "--jsonfile", "-")
    assert len(json.loads(proc.stdout)["pendingoperations"]) == 1  # heketi's export shows them
    assert proc.stderr.startswith("WARNING: the export holds 1 pending operation(s); finish "
                                  "or clean them up in pyketi first")


def test_import_of_heketis_database_file_says_to_export_it_first(tmp_path):
    bolt = tmp_path / "heketi.db"
    write_boltdb(bolt)
    url = f"sqlite:///{tmp_path}/p.db"
    proc = run("db", "import", "--database-url", url, "--jsonfile", str(bolt), check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr == (f"ERROR: {bolt} is heketi's database file, not its JSON export: "
                           "export it with `heketi db export` and load it with `pyketi db "
                           "import` (docs/migrate-from-heketi.md)\n")
