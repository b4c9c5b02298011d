"""SQLite: the hot path's prepared Core statements run through the driver's cursor.

``conn.execute(stmt, params)`` costs ~80 µs of CPU per statement on a slow core, for
~4 µs of SQLite work: the execution context, parameter construction and the result
object around every call.  ``run(conn, stmt, params)`` compiles a statement once (per
dialect and parameter keys), then hands the SQL and the positional parameters straight
to ``sqlite3``, inside the connection's transaction, and returns the rows as named
tuples.

It does so only when that gives exactly what SQLAlchemy would: SQLite, a transaction
begun, no type conversion on any parameter or result column (strings, numbers,
``None``: no JSON, boolean or date columns), no Python-side column default to fill in,
no post-compile parameter (``IN`` lists), no statement listener (``before/after_cursor_execute``) on the engine.
Anything else, and every other database,
goes through ``conn.execute`` as before: the result has the same ``first()``,
``scalar()``, ``rowcount``, iteration and attribute access either way.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any, Iterator, Sequence

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

_UNSUITABLE = object()
# (statement, parameter keys) -> plan; statements are built once, at import (a statement
# built per call would be compiled again every time, and kept)
_plans: dict[tuple[Any, frozenset[str]], Any] = {}


class Rows:
    """The part of SQLAlchemy's ``CursorResult`` the hot path uses."""

    __slots__ = ("rows", "rowcount", "lastrowid")

    def __init__(self, rows: list, rowcount: int, lastrowid: int | None):
        self.rows, self.rowcount, self.lastrowid = rows, rowcount, lastrowid

    def first(self) -> Any:
        return self.rows[0] if self.rows else None

    def scalar(self) -> Any:
        return self.rows[0][0] if self.rows else None

    def scalars(self) -> Iterator[Any]:
        return (row[0] for row in self.rows)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.rows)


class _Plan:
    __slots__ = ("sql", "names", "defaults", "bind_procs", "row", "row_procs", "returns")

    def __init__(self, sql: str, names: Sequence[str], defaults: dict[str, Any],
                 bind_procs: list, columns: list[str], row_procs: list):
        self.sql, self.names, self.defaults = sql, tuple(names), defaults
        self.bind_procs = tuple(bind_procs) if any(bind_procs) else None
        self.row = namedtuple("Row", columns, rename=True) if columns else None
        self.row_procs = tuple(row_procs) if any(row_procs) else None
        self.returns = bool(columns)

    def args(self, params: dict[str, Any]) -> tuple:
        defaults = self.defaults
        values = tuple(params[n] if n in params else defaults[n] for n in self.names)
        if self.bind_procs is None:
            return values
        return tuple(v if p is None else p(v) for p, v in zip(self.bind_procs, values))

    def rows(self, fetched: list) -> list:
        make = self.row._make
        if self.row_procs is None:
            return [make(r) for r in fetched]
        procs = self.row_procs
        return [make(v if p is None else p(v) for p, v in zip(procs, r)) for r in fetched]


def _plan(conn: Connection, stmt: Any, keys: frozenset[str]) -> Any:
    dialect = conn.dialect
    try:
        compiled = stmt.compile(dialect=dialect, column_keys=sorted(keys))
        if compiled.insert_prefetch or compiled.update_prefetch \
                or "POSTCOMPILE" in compiled.string or dialect.paramstyle != "qmark":
            return _UNSUITABLE
        names = list(compiled.positiontup or [])
        defaults: dict[str, Any] = {}
        bind_procs = []
        for name in names:
            bind = compiled.binds[name]
            if name not in keys:
                if bind.required or bind.callable is not None:
                    return _UNSUITABLE
                defaults[name] = bind.value
            bind_procs.append(bind.type._cached_bind_processor(dialect))
        columns, row_procs = [], []
        for col in compiled._result_columns:  # (keyname, name, objects, type)
            columns.append(col[0])
            row_procs.append(col[3]._cached_result_processor(dialect, None))
        return _Plan(compiled.string, names, defaults, bind_procs, columns, row_procs)
    except Exception:  # noqa: BLE001 - anything unexpected: SQLAlchemy runs it
        return _UNSUITABLE


def inserted_id(result: Any) -> Any:
    """The primary key of the row an INSERT (``run``) wrote."""
    if isinstance(result, Rows):
        return result.lastrowid
    return result.inserted_primary_key[0]


def _watched(target: Any) -> bool:
    """A statement listener (``before/after_cursor_execute``) is registered."""
    dispatch = target.dispatch
    return bool(dispatch.before_cursor_execute) or bool(dispatch.after_cursor_execute)


def run(conn: Connection, stmt: Any, params: dict[str, Any] | list[dict[str, Any]]) -> Any:
    """``conn.execute(stmt, params)``, through the driver when that is the same thing."""
    if conn.dialect.name != "sqlite" or not conn.in_transaction() \
            or _watched(conn) or _watched(conn.engine):
        # event listeners (statement counters, tracing) see every statement: SQLAlchemy
        # runs it and fires them
        return conn.execute(stmt, params)
    many = isinstance(params, list)
    first = params[0] if many else params
    key = (stmt, frozenset(first))
    plan = _plans.get(key)
    if plan is None:
        plan = _plans[key] = _plan(conn, stmt, key[1])
    if plan is _UNSUITABLE or (many and plan.returns):
        return conn.execute(stmt, params)
    cursor = conn.connection.driver_connection.cursor()
    args: Any = None
    try:
        if many:
            args = [plan.args(p) for p in params]
            cursor.executemany(plan.sql, args)
            return Rows([], cursor.rowcount, None)
        args = plan.args(params)
        cursor.execute(plan.sql, args)
        rows = plan.rows(cursor.fetchall()) if plan.returns else []
        return Rows(rows, cursor.rowcount, cursor.lastrowid)
    except conn.dialect.loaded_dbapi.Error as e:
        # the exception SQLAlchemy raises for it (IntegrityError, OperationalError...)
        raise DBAPIError.instance(plan.sql, args, e, conn.dialect.loaded_dbapi.Error,
                                  dialect=conn.dialect) from e
    finally:
        cursor.close()
