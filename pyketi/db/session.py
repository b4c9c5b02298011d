"""Database engine and transactions.

All database work is synchronous SQLAlchemy behind ``await db.read(fn)`` /
``await db.write(fn)``.  Write transactions are serialized:

* SQLite: transactions run on the calling thread (the event loop), one after
  the other, with ``BEGIN IMMEDIATE`` (a second process waits on the file
  lock, ``busy_timeout``).  A local SQLite transaction is CPU work of well under
  a millisecond; handing it to worker threads cost more than the work itself,
  and under the GIL the threads queued on the write lock took turns with the
  thread holding it, so 8 clients were slower than 1.  Reads that may be large
  (``db.read_bulk``: dumps, lists of every object) run in a worker thread (WAL:
  they see a snapshot and do not hold up writes) once they cost more than a few
  milliseconds; on a small database they stay on the loop.
* PostgreSQL: every transaction runs in a worker thread (it waits on the
  network, not on the CPU); callers take row locks (``lock_cluster``/
  ``lock_row`` = ``SELECT ... FOR UPDATE``) on the rows their decision depends
  on.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, TypeVar

from sqlalchemy import create_engine, event, make_url, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.orm import Session

from pyketi.config import ConfigError
from pyketi.db.files import precreate_sqlite

T = TypeVar("T")
PG_RETRIES = 3
SQLITE_READERS = 2
BULK_ON_LOOP = 0.005  # seconds of CPU: a bulk read cheaper than this runs on the loop
RETRY_SQLSTATES = {"40P01", "40001"}  # deadlock_detected, serialization_failure


def normalize_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and use psycopg 3 for them."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


class DriverMissing(ConfigError):
    """The URL names a database whose Python driver is not installed."""


def make_engine(url: str) -> Engine:
    url = normalize_url(url)
    if url.startswith("postgresql"):
        try:
            import psycopg  # noqa: F401 - the optional extra pyketi[postgres]
        except ImportError as e:
            raise DriverMissing(f"ERROR: PostgreSQL support needs: pip install pyketi[postgres] "
                                f"({e})") from None
    if url.startswith("sqlite"):
        precreate_sqlite(make_url(url).database)  # 0600, before SQLite creates it
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               pool_size=8, max_overflow=8)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):  # pragma: no cover - trivial
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn):  # pragma: no cover - trivial
            # straight to the driver: the same statement, without SQLAlchemy's execution
            # machinery (a third of a short transaction's CPU)
            conn.connection.driver_connection.execute(
                "BEGIN IMMEDIATE" if conn.get_execution_options().get("immediate")
                else "BEGIN")

        return engine
    engine = create_engine(url, pool_size=10, max_overflow=20)
    _ping_when_idle(engine)
    return engine


PING_AFTER_IDLE_SECONDS = 1.0
_LAST_USED = "pyketi_last_used"


def _ping_when_idle(engine: Engine) -> None:
    """SQLAlchemy's ``pool_pre_ping`` for connections idle for a while only.

    ``pool_pre_ping`` costs a round trip (``SELECT 1``) per transaction, a tenth of
    the time a create spends waiting on PostgreSQL (four transactions).  A connection
    back in the pool less than ``PING_AFTER_IDLE_SECONDS`` ago was working then; an
    older one (a server restart, an idle timeout) is pinged and, when dead, replaced
    before use (``DisconnectionError``: the pool retries with a new connection)."""

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_conn, record, _proxy):  # pragma: no cover - trivial
        if time.monotonic() - record.info.get(_LAST_USED, 0.0) > PING_AFTER_IDLE_SECONDS:
            try:
                engine.dialect.do_ping(dbapi_conn)
            except Exception as e:  # noqa: BLE001 - any failure: a new connection
                raise DisconnectionError(f"connection failed its ping: {e}") from e

    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi_conn, record):  # pragma: no cover - trivial
        record.info[_LAST_USED] = time.monotonic()


class FileLock:
    """An exclusive ``flock`` on a file next to the SQLite database, held for each write
    transaction: processes sharing the file (``workers``, a second server) take turns
    in the kernel's queue, woken as soon as the holder is done, where SQLite's own busy
    handler would sleep 1, 2, 5, 10... ms between tries (on the event loop)."""

    def __init__(self, path: str):
        self.path = path
        self.fd: int | None = None  # opened at the first write: the directory may not
        # exist yet (readiness then reports the database, not a start-up traceback)

    def _fd(self) -> int:
        if self.fd is None:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        return self.fd

    def __enter__(self) -> None:
        fcntl.flock(self._fd(), fcntl.LOCK_EX)

    def taken(self) -> bool:
        """Take the lock if no other process holds it (without waiting)."""
        try:
            fcntl.flock(self._fd(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def __exit__(self, *_exc: object) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _sqlite_file(url: str) -> str | None:
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database


class Database:
    def __init__(self, url: str, workers: int = 8):
        self.url = normalize_url(url)
        self.engine = make_engine(url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._write_lock = threading.Lock()
        path = _sqlite_file(self.url) if self.is_sqlite else None
        self._file_lock: FileLock | contextlib.nullcontext = (
            FileLock(path + "-pyketi-lock") if path else contextlib.nullcontext())
        self._bulk_cpu: dict[Callable, float] = {}  # read_bulk fn -> CPU seconds last time
        # SQLite: one connection kept for the writes (taken under the write lock) and one
        # for the reads on the event loop (``read``), instead of a pool checkout and
        # checkin per transaction (a third of a short transaction's CPU)
        self._kept: dict[str, Connection] = {}
        self._read_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=SQLITE_READERS if self.is_sqlite else workers,
                                        thread_name_prefix="pyketi-db")
        # SQLite shared by processes: the thread that waits for another process's write
        # transaction (the event loop goes on serving meanwhile), one waiter at a time
        self._lock_waiter: ThreadPoolExecutor | None = None
        self._lock_queue: asyncio.Lock | None = None

    # -- synchronous ---------------------------------------------------------
    def read_sync(self, fn: Callable[[Session], T]) -> T:
        with Session(self.engine, expire_on_commit=False) as s:
            with s.begin():
                return fn(s)

    def _kept_connection(self, role: str) -> Connection:
        """SQLite: the connection kept for ``role`` (``write``: taken under the write
        locks; ``read``: under ``_read_lock``); opened again if it was closed or
        invalidated (a failed statement may invalidate it)."""
        conn = self._kept.get(role)
        if conn is None or conn.closed or conn.invalidated:
            if conn is not None:
                conn.close()
            conn = self.engine.connect()
            if role == "write":
                conn = conn.execution_options(immediate=True)
            self._kept[role] = conn
        return conn

    def _sqlite_session(self, role: str, fn: Callable[[Session], T]) -> T:
        with Session(bind=self._kept_connection(role), expire_on_commit=False) as s:
            with s.begin():
                return fn(s)

    def write_sync(self, fn: Callable[[Session], T]) -> T:
        if self.is_sqlite:
            with self._write_lock, self._file_lock:
                return self._sqlite_session("write", fn)
        return self._pg_retried(lambda: self._pg_session(fn))

    def write_conn_sync(self, fn: Callable[[Connection], T]) -> T:
        """A write transaction of Core statements only: ``fn`` gets the ``Connection``
        (no ORM ``Session`` to set up and tear down; the hot path's small writes)."""
        if self.is_sqlite:
            with self._write_lock, self._file_lock:
                conn = self._kept_connection("write")
                with conn.begin():
                    return fn(conn)

        def run() -> T:
            with self.engine.begin() as conn:
                return fn(conn)
        return self._pg_retried(run)

    def _pg_session(self, fn: Callable[[Session], T]) -> T:
        with Session(self.engine, expire_on_commit=False) as s:
            with s.begin():
                return fn(s)

    @staticmethod
    def _pg_retried(run: Callable[[], T]) -> T:
        for attempt in range(1, PG_RETRIES + 1):
            try:
                return run()
            except OperationalError as e:
                # safety net: the lock order (cluster, volume, devices) should make
                # deadlocks impossible; if PostgreSQL still picks us as a victim,
                # the whole transaction is re-run from scratch.
                if attempt == PG_RETRIES or getattr(e.orig, "sqlstate", "") not in RETRY_SQLSTATES:
                    raise
                time.sleep(0.01 * attempt)
        raise AssertionError("unreachable")

    # -- asynchronous --------------------------------------------------------
    async def read(self, fn: Callable[[Session], T]) -> T:
        """A short read transaction (a few rows)."""
        if self.is_sqlite:
            if self._read_lock.acquire(blocking=False):  # else: a read within a read
                try:
                    return self._sqlite_session("read", fn)
                finally:
                    self._read_lock.release()
            return self.read_sync(fn)
        return await asyncio.get_running_loop().run_in_executor(self._pool, self.read_sync, fn)

    async def read_bulk(self, fn: Callable[[Session], T]) -> T:
        """A read transaction that may return every row of a table: in a worker thread,
        except on SQLite when the same read (``fn``) last cost under ``BULK_ON_LOOP``
        seconds of CPU (a small database): a thread hop then costs more than the read,
        and its wake-ups, queued behind the GIL, add milliseconds to every answer."""
        if self.is_sqlite and self._bulk_cpu.get(fn, BULK_ON_LOOP) < BULK_ON_LOOP:
            return self._read_timed(fn)
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._read_timed,
                                                                fn)

    def _read_timed(self, fn: Callable[[Session], T]) -> T:
        started = time.thread_time()
        out = self.read_sync(fn)
        self._bulk_cpu[fn] = time.thread_time() - started
        return out

    async def _file_lock_turn(self) -> None:
        """SQLite: wait, off the event loop, while another process (a worker, a second
        server) holds the file lock; the transaction itself then runs on the loop, which
        takes the lock again (free or already ours: at once; taken meanwhile by another
        process: it waits there, as before).  Without this, a worker stalled its whole
        event loop - every request it was serving - on the other worker's transaction,
        and two workers served no more than one."""
        lock = self._file_lock
        if not isinstance(lock, FileLock) or lock.taken():
            return
        if self._lock_queue is None:
            self._lock_queue = asyncio.Lock()
            self._lock_waiter = ThreadPoolExecutor(max_workers=1,
                                                   thread_name_prefix="pyketi-db-lock")
        async with self._lock_queue:
            if lock.taken():
                return
            wait = asyncio.get_running_loop().run_in_executor(self._lock_waiter, lock.__enter__)
            try:
                await asyncio.shield(wait)
            except asyncio.CancelledError:
                # the caller is gone: give the lock back once the waiter has it
                wait.add_done_callback(lambda _f: lock.__exit__())
                raise

    async def write(self, fn: Callable[[Session], T]) -> T:
        if self.is_sqlite:
            await self._file_lock_turn()
            return self.write_sync(fn)
        return await asyncio.get_running_loop().run_in_executor(self._pool, self.write_sync, fn)

    async def write_conn(self, fn: Callable[[Connection], T]) -> T:
        """``write_conn_sync`` from the event loop (PostgreSQL: in a worker thread)."""
        if self.is_sqlite:
            await self._file_lock_turn()
            return self.write_conn_sync(fn)
        return await asyncio.get_running_loop().run_in_executor(self._pool,
                                                                self.write_conn_sync, fn)

    async def run_sync(self, fn: Callable[[], T]) -> T:
        """Run blocking code that does its own database reads in the worker pool."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn)

    def dispose(self) -> None:
        self._pool.shutdown(wait=True)
        if self._lock_waiter is not None:
            self._lock_waiter.shutdown(wait=True)
        with self._write_lock, self._read_lock:
            for conn in self._kept.values():
                conn.close()
            self._kept.clear()
        self.engine.dispose()
        if isinstance(self._file_lock, FileLock):
            self._file_lock.close()
            self._file_lock = contextlib.nullcontext()


def lock_row(session: Session, model: Any, key: str) -> Any:
    """Load one row, locked ``FOR UPDATE`` on PostgreSQL (SQLite: writes are serialized)."""
    # populate_existing: an object already in the session (read before the lock)
    # must be refreshed with the row as it is once we hold the lock
    stmt = select(model).where(model.id == key).execution_options(populate_existing=True)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return session.execute(stmt).scalar_one_or_none()
