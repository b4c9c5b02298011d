"""Large replies as UTF-8 chunks (``/db/dump``, ``/topology``).

Text made piece by piece in a worker thread, gathered into ``bytes`` of about
``size`` each: the whole reply never exists as one string next to its bytes, and
the HTTP layer frees each chunk once it is written (``api.responses.ChunksPayload``).
"""

from __future__ import annotations

from collections.abc import Iterable

from pyketi.gc_pause import gc_paused

SIZE = 1 << 20


def utf8_chunks(pieces: Iterable[str], size: int = SIZE) -> list[bytes]:
    """``pieces`` (a generator that reads and builds as it goes) with the cyclic
    collector paused: see ``pyketi.gc_pause``."""
    out: list[bytes] = []
    buffer: list[str] = []
    held = 0
    with gc_paused():
        for piece in pieces:
            buffer.append(piece)
            held += len(piece)
            if held >= size:
                out.append("".join(buffer).encode())
                buffer, held = [], 0
    if buffer:
        out.append("".join(buffer).encode())
    return out
