"""A stand-in for the kernel's mount table: ``FakeMounter`` runs the node
service's argv lists against an in-memory table, as ``mount``/``umount``
would (the target directory must exist, unmounting nothing fails, a bind
mount copies its source, ``remount,bind,ro`` makes the top mount read-only).
``stale`` paths answer ENOTCONN like a FUSE mount whose client died."""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Sequence

from pyketi.csi.mounter import MountEntry, MountError


class FakeMounter:
    def __init__(self) -> None:
        self.table: list[MountEntry] = []
        self.calls: list[list[str]] = []
        self.stale: set[str] = set()
        self.fail_next: str = ""           # a program name whose next run fails
        self._lock = threading.Lock()

    def mounts(self) -> list[MountEntry]:
        with self._lock:
            return list(self.table)

    def at(self, path: str) -> list[MountEntry]:
        return [e for e in self.mounts() if e.target == path]

    def probe(self, path: str) -> None:
        if path in self.stale:
            raise OSError(errno.ENOTCONN, "Transport endpoint is not connected", path)
        os.stat(path)

    def run(self, argv: Sequence[str]) -> None:
        argv = list(argv)
        with self._lock:
            self.calls.append(argv)
            if self.fail_next and argv[0] == self.fail_next:
                self.fail_next = ""
                raise MountError(f"{argv[0]} exited with 32: injected failure")
            operands = argv[argv.index("--") + 1:]
            if argv[0] == "umount":
                (target,) = operands
                tops = [i for i, e in enumerate(self.table) if e.target == target]
                if not tops:
                    raise MountError(f"umount: {target}: not mounted")
                del self.table[tops[-1]]
                self.stale.discard(target)
            elif "--bind" in argv:
                source, target = operands
                self._need_dir(target)
                src = [e for e in self.table if e.target == source][-1]
                self.table.append(MountEntry(target, src.source, src.fstype,
                                             frozenset({"rw"})))
            elif "remount,bind,ro" in argv:
                (target,) = operands
                i = [i for i, e in enumerate(self.table) if e.target == target][-1]
                e = self.table[i]
                self.table[i] = MountEntry(e.target, e.source, e.fstype, frozenset({"ro"}))
            elif argv[1:3] == ["-t", "glusterfs"]:
                source, target = operands
                self._need_dir(target)
                ro = "-o" in argv and "ro" in argv[argv.index("-o") + 1].split(",")
                self.table.append(MountEntry(target, source, "fuse.glusterfs",
                                             frozenset({"ro" if ro else "rw"})))
            else:
                raise MountError(f"fake mounter: unexpected argv {argv}")

    @staticmethod
    def _need_dir(path: str) -> None:
        if not os.path.isdir(path):
            raise MountError(f"mount: {path}: mount point does not exist")
