"""Recognise heketi's own database file (BoltDB), which pyketi does not read.

heketi.json's ``glusterfs.db`` names heketi's BoltDB file; pyketi would take that path
for an SQLite database and fail obscurely.  A Bolt file starts with a meta page: a
16-byte page header, then the magic ``0xED0CDAED`` (little-endian on every platform
heketi ships for).  The way across is heketi's JSON export.
"""

from __future__ import annotations

import os

BOLT_MAGIC_OFFSET = 16
BOLT_MAGIC = (0xED0CDAED).to_bytes(4, "little")
HOW_TO_MOVE = ("export it with `heketi db export` and load it with `pyketi db import` "
               "(docs/migrate-from-heketi.md)")


def is_heketi_database(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is a BoltDB file; a missing or unreadable file is not one."""
    try:
        with open(path, "rb") as f:
            head = f.read(BOLT_MAGIC_OFFSET + len(BOLT_MAGIC))
    except OSError:
        return False
    return head[BOLT_MAGIC_OFFSET:] == BOLT_MAGIC
