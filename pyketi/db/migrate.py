"""Schema management through Alembic (the only way the schema is created or changed)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine


class SchemaTooNew(Exception):
    pass


def _script_location() -> str:
    import pyketi.migrations  # installed copy (package-dir mapping of migrations/)
    return str(Path(pyketi.migrations.__file__).parent)


def alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", _script_location())
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return script.get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, url: str) -> None:
    cfg = alembic_config(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def ensure_schema(engine: Engine, url: str) -> str:
    """Upgrade an empty or older database; refuse one newer than this pyketi."""
    current = current_revision(engine)
    script = ScriptDirectory.from_config(alembic_config(url))
    known = {rev.revision for rev in script.walk_revisions()}
    if current is not None and current not in known:
        raise SchemaTooNew(
            f"database schema revision {current} is newer than this pyketi knows "
            f"(head {script.get_current_head()}); upgrade pyketi")
    if current != script.get_current_head():
        upgrade(engine, url)
    return script.get_current_head()
