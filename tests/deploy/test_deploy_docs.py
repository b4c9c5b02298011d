"""``docs/deploy.md`` names every file of ``deploy/``, every path it names exists, and the
``/readyz`` reasons it lists are the ones the server gives."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "deploy.md"


def test_every_deploy_file_is_on_the_page():
    text = PAGE.read_text()
    for path in sorted((ROOT / "deploy").rglob("*")):
        if path.is_file():
            rel = path.relative_to(ROOT)
            parent = str(rel.parent) + "/"
            assert str(rel) in text or (parent in text and path.name in text), rel


def test_every_path_on_the_page_exists():
    text = PAGE.read_text()
    for ref in set(re.findall(r"(?<![\w/.])deploy/[\w./-]+", text)):
        ref = ref.rstrip(".")
        assert (ROOT / ref).exists(), ref
    assert (ROOT / "Dockerfile").exists()


def database_reasons(tmp_path: Path) -> set[str]:
    """What ``schema_problem`` says for an unreachable, empty, older and newer SQLite DB."""
    from sqlalchemy import text

    from pyketi.db.health import schema_problem
    from pyketi.db.migrate import ensure_schema
    from pyketi.db.session import Database

    reasons = set()
    gone = Database(f"sqlite:///{tmp_path}/no-such-dir/x.db")
    empty = Database(f"sqlite:///{tmp_path}/empty.db")
    reasons |= {schema_problem(gone.engine), schema_problem(empty.engine)}
    ensure_schema(empty.engine, empty.url)
    for stamp in ("0001", "9999"):
        with empty.engine.begin() as conn:
            conn.execute(text("update alembic_version set version_num = :v"), {"v": stamp})
        reasons.add(schema_problem(empty.engine))
    for db in (gone, empty):
        db.dispose()
    return {f"not ready: {r}" for r in reasons}


def test_readiness_reasons_are_the_servers(tmp_path):
    block = re.search(r"```text\n(.*?)```", PAGE.read_text(), re.S).group(1)
    numbers = re.compile(r"\b\d{4}\b")
    shown = {numbers.sub("N", line) for line in block.splitlines()}
    given = {numbers.sub("N", r) for r in database_reasons(tmp_path)}
    api = (ROOT / "pyketi" / "api" / "health.py").read_text()
    given |= {line for line in shown if line in (
        "not ready: executor not configured", "not ready: database did not answer within 5 s")
        and line.split(": ", 1)[1].split(" within")[0] in api}
    assert shown == given
