"""Readiness of the database: it answers, and its schema is at this pyketi's Alembic head.

One cheap round trip (Alembic's ``alembic_version`` read); the migration scripts
are read once per process.
"""

from __future__ import annotations

import logging
from functools import lru_cache

from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from pyketi.db.migrate import alembic_config, current_revision

log = logging.getLogger("pyketi.db")


@lru_cache(maxsize=1)
def _revisions() -> tuple[str, frozenset[str]]:
    """(head, every known revision) of the installed migration scripts."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return script.get_current_head(), frozenset(r.revision for r in script.walk_revisions())


_DBAPI_ERRORS = ("OperationalError", "InterfaceError", "ProgrammingError", "InternalError",
                 "IntegrityError", "DataError", "NotSupportedError", "DatabaseError")


def _dbapi_class(cause: BaseException) -> str:
    """The DB-API class of a driver error (psycopg's ``AdminShutdown`` is an
    ``OperationalError``): the reason does not depend on which way a connection died."""
    for cls in type(cause).__mro__:
        if cls.__name__ in _DBAPI_ERRORS:
            return cls.__name__
    return type(cause).__name__


def schema_problem(engine: Engine) -> str | None:
    """None when the database is reachable and at head, else a one-line reason.

    The reason never holds the driver's message (host, user, database name):
    that goes to the log only.
    """
    try:
        current = current_revision(engine)
    except SQLAlchemyError as e:
        cause = getattr(e, "orig", None) or e
        log.warning("readiness: database unreachable: %s", cause)
        return f"database unreachable ({_dbapi_class(cause)})"
    head, known = _revisions()
    if current == head:
        return None
    if current is None:
        return "database schema not initialized (run: pyketi db upgrade)"
    if current in known:
        return (f"database schema at revision {current}, this pyketi needs {head} "
                f"(run: pyketi db upgrade)")
    return f"database schema revision {current} is newer than this pyketi (head {head})"
