"""Private files: database exports, SQLite databases and backups are created 0600.

A new file is created with ``O_CREAT | O_EXCL | O_NOFOLLOW`` and mode 0600, so an existing
file or a symbolic link planted at the path (even a dangling one) is never followed or
overwritten, and the data never sits in a file others can read.
"""

from __future__ import annotations

import os

PRIVATE_MODE = 0o600
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class UnsafePath(Exception):
    """The path exists already or is a symbolic link."""


def create_private(path: str | os.PathLike[str]) -> int:
    """A new, empty 0600 file at ``path``; returns a descriptor open for writing."""
    if os.path.islink(path):
        raise UnsafePath(f"{os.fspath(path)} is a symbolic link; refusing to write through it")
    try:
        fd = os.open(path, _CREATE, PRIVATE_MODE)
    except FileExistsError:
        raise UnsafePath(f"{os.fspath(path)} already exists; refusing to overwrite it") from None
    os.fchmod(fd, PRIVATE_MODE)  # whatever the umask
    return fd


def write_private_text(path: str | os.PathLike[str], text: str) -> None:
    with os.fdopen(create_private(path), "w", encoding="utf-8") as f:
        f.write(text)


def precreate_sqlite(path: str | None) -> None:
    """Create a missing SQLite database file 0600 before SQLite does (its WAL and SHM
    files take the database file's mode)."""
    if not path or path == ":memory:" or path.startswith("file:") or os.path.lexists(path):
        return
    try:
        os.close(create_private(path))
    except (UnsafePath, OSError):
        pass  # created meanwhile, no directory, no permission: SQLite reports it itself
