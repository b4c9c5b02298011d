"""Running mount commands and reading the mount table (the node's I/O).

``Mounter`` is what the node service needs: the mounts in place, one argv
run, and whether a path still answers.  ``SystemMounter`` does it for real
(``/proc/self/mountinfo``, ``subprocess`` without a shell, a time limit);
tests use a fake with the same three methods.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

RUN_TIMEOUT = 120.0                     # a glusterfs mount waits for volfile servers
STALE_ERRNOS = frozenset({errno.ENOTCONN, errno.EIO, errno.ESTALE, errno.EHOSTDOWN})


class MountError(Exception):
    pass


@dataclass(frozen=True)
class MountEntry:
    target: str
    source: str
    fstype: str
    options: frozenset[str]

    @property
    def read_only(self) -> bool:
        return "ro" in self.options


class Mounter(Protocol):
    def mounts(self) -> list[MountEntry]: ...

    def run(self, argv: Sequence[str]) -> None: ...

    def probe(self, path: str) -> None:
        """Raise ``OSError`` when ``path`` does not answer (stale FUSE mount)."""


def is_stale(err: OSError) -> bool:
    return err.errno in STALE_ERRNOS


def _unescape(field: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as ``\\ooo``."""
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and i + 4 <= len(field) and field[i + 1:i + 4].isdigit():
            out.append(chr(int(field[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def parse_mountinfo(text: str) -> list[MountEntry]:
    entries = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        fields, tail = left.split(), right.split()
        if len(fields) < 6 or len(tail) < 2:
            continue
        entries.append(MountEntry(target=_unescape(fields[4]), source=_unescape(tail[1]),
                                  fstype=tail[0], options=frozenset(fields[5].split(","))))
    return entries


class SystemMounter:
    def __init__(self, mountinfo: str = "/proc/self/mountinfo") -> None:
        self.mountinfo = mountinfo

    def mounts(self) -> list[MountEntry]:
        with open(self.mountinfo, encoding="utf-8", errors="surrogateescape") as f:
            return parse_mountinfo(f.read())

    def run(self, argv: Sequence[str]) -> None:
        try:
            done = subprocess.run(list(argv), capture_output=True, timeout=RUN_TIMEOUT,
                                  check=False, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as err:
            raise MountError(f"{argv[0]}: {err}") from None
        if done.returncode != 0:
            text = (done.stderr or done.stdout).decode(errors="replace").strip()
            raise MountError(f"{argv[0]} exited with {done.returncode}: {text[-500:]}")

    def probe(self, path: str) -> None:
        os.stat(path)


def missing_tools() -> str:
    """'' when the programs the node runs are installed, else what is missing."""
    lacking = [t for t in ("mount", "umount", "mount.glusterfs")
               if shutil.which(t) is None and not os.path.exists(f"/sbin/{t}")]
    return f"missing programs: {', '.join(lacking)}" if lacking else ""
