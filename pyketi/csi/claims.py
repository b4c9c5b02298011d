"""One operation at a time per key (volume name, volume id, mount path).

The CO keeps one call in flight per volume, but after a timeout or a
restart it may send the same call again while the first still runs: the
second one is answered ABORTED (contract §5.4) and retried later.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Iterator
from contextlib import contextmanager

from pyketi.csi.errors import Code, CsiError


class Claims:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: set[Hashable] = set()

    @contextmanager
    def claim(self, key: Hashable, what: str) -> Iterator[None]:
        with self._lock:
            if key in self._held:
                raise CsiError(Code.ABORTED, f"an operation on {what} is already in "
                                             "progress")
            self._held.add(key)
        try:
            yield
        finally:
            with self._lock:
                self._held.discard(key)
