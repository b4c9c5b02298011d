"""Open the configured database, or say in one line why not (no traceback at start-up).

Refused before anything is opened: heketi's BoltDB file named as the SQLite database
(``glusterfs.db``).  Reported in one line: a URL SQLAlchemy cannot use, a database that
does not answer or is not a database, a schema newer than this pyketi.  The URL in a
message never shows its password.
"""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from pyketi.config import ConfigError
from pyketi.db.boltdb import HOW_TO_MOVE, is_heketi_database
from pyketi.db.migrate import SchemaTooNew, ensure_schema
from pyketi.db.session import Database


def shown(url: str) -> str:
    """The URL with its password hidden (``***``)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "(not a valid database URL)"


def reason(error: Exception) -> str:
    """The driver's own first line (``unable to open database file``), else SQLAlchemy's."""
    text = str(error.orig) if isinstance(error, DBAPIError) and error.orig else str(error)
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__


def refuse_heketi_database(url: str) -> None:
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return  # reported when the engine is made
    if parsed.get_backend_name() == "sqlite" and parsed.database \
            and is_heketi_database(parsed.database):
        raise ConfigError(f"ERROR: {parsed.database} is a heketi database: {HOW_TO_MOVE}; "
                          f"point database_url at pyketi's own database")


def open_database(url: str, upgrade: bool = True) -> Database:
    """The database at ``url``, its schema created or upgraded when ``upgrade``."""
    refuse_heketi_database(url)
    try:
        db = Database(url)
    except (SQLAlchemyError, ValueError) as e:
        try:
            make_url(url)
        except (ArgumentError, ValueError):  # its message would repeat the URL, password and all
            raise ConfigError("ERROR: database_url is not a valid database URL") from None
        raise ConfigError(f"ERROR: unable to use database {shown(url)}: {reason(e)}") from None
    try:
        if upgrade:
            ensure_schema(db.engine, db.url)
    except SchemaTooNew as e:
        db.dispose()
        raise ConfigError(f"ERROR: {e}") from None
    except SQLAlchemyError as e:
        db.dispose()
        raise ConfigError(f"ERROR: unable to open database {shown(url)}: {reason(e)}") from None
    return db
