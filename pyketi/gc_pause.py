"""``gc_paused()``: the cyclic garbage collector held off while a bulk reply is built
or parsed.

A topology or dump of 10,000 volumes is hundreds of thousands of dicts, lists and
rows, all acyclic; the collector, triggered every few hundred allocations, walked
the growing heap again and again without finding anything to free (a quarter to a
third of the CPU of ``GET /topology`` and of parsing its reply).  Reference counting
still frees everything as before; cycles made meanwhile wait for the next collection.
Nested and concurrent pauses (worker threads) end when the last one does.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_holders = 0
_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    global _holders, _was_enabled
    with _lock:
        if _holders == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _was_enabled:
                gc.enable()
