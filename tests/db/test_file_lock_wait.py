"""SQLite shared by several processes (``workers``, a second server): while another
process holds the write lock, a write waits for it off the event loop, so the process
keeps answering everything else meanwhile, and the write then runs."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from sqlalchemy import text

from pyketi.db.migrate import ensure_schema
from pyketi.db.session import Database, FileLock


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path}/heketi.db"


async def test_write_waits_for_another_process_without_stalling_the_loop(sqlite_url):
    db = Database(sqlite_url)
    ensure_schema(db.engine, db.url)
    other = FileLock(db._file_lock.path)  # another open file: as another process's lock
    try:
        other.__enter__()
        release = threading.Timer(0.6, other.__exit__)  # the other process ends its write
        release.start()
        write = asyncio.ensure_future(db.write(lambda s: s.execute(text("SELECT 1")).scalar()))
        started = time.monotonic()
        ticks = 0
        while time.monotonic() - started < 0.3:  # the loop still turns while the write waits
            await asyncio.sleep(0.01)
            ticks += 1
        assert not write.done()
        assert ticks >= 10
        assert await asyncio.wait_for(write, 5) == 1
        release.join()
        # and the lock is free again for the other process
        assert other.taken()
        other.__exit__()
    finally:
        other.close()
        db.dispose()


async def test_a_cancelled_wait_gives_the_lock_back(sqlite_url):
    db = Database(sqlite_url)
    ensure_schema(db.engine, db.url)
    other = FileLock(db._file_lock.path)
    try:
        other.__enter__()
        write = asyncio.ensure_future(db.write(lambda s: s.execute(text("SELECT 1")).scalar()))
        await asyncio.sleep(0.1)
        write.cancel()
        other.__exit__()  # the waiting thread now gets the lock, and must let it go
        with pytest.raises(asyncio.CancelledError):
            await write
        for _ in range(100):
            if other.taken():
                break
            await asyncio.sleep(0.02)
        else:
            pytest.fail("the cancelled write kept the file lock")
        other.__exit__()
        assert await db.write(lambda s: s.execute(text("SELECT 2")).scalar()) == 2
    finally:
        other.close()
        db.dispose()
