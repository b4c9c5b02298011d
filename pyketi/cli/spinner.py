"""Progress for long waits: a spinner on stderr, only for people.

The spinner draws only when enabled (stderr is a terminal and ``--json`` was
not given) and only once a task has taken longer than ``delay`` seconds, so
quick commands print nothing extra.  It shows what is being waited for, the
elapsed time and the client's latest status (e.g. "server busy, retry 1/6").
Piped output never contains spinner text.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

FRAMES = "|/-\\"
CLEAR_LINE = "\r\033[K"


class Spinner:
    def __init__(self, stream: TextIO, enabled: bool, *, delay: float = 0.3,
                 interval: float = 0.1) -> None:
        self._stream = stream
        self.enabled = enabled
        self._delay = delay
        self._interval = interval
        self._label = ""
        self._status = ""
        self._started = 0.0
        self._drawn = False
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def status(self, text: str) -> None:
        """Client observer hook: the latest thing the client is doing."""
        self._status = text

    @contextmanager
    def task(self, label: str) -> Iterator[None]:
        """Show ``label`` while the body runs (if it runs long enough)."""
        if not self.enabled:
            yield
            return
        self._label, self._status = label, ""
        self._started = time.monotonic()
        self._stop.clear()
        thread = threading.Thread(target=self._run, name="spinner", daemon=True)
        thread.start()
        try:
            yield
        finally:
            self._stop.set()
            thread.join()
            self._clear()

    def _run(self) -> None:
        frame = 0
        if self._stop.wait(self._delay):
            return
        while not self._stop.is_set():
            elapsed = time.monotonic() - self._started
            line = f"{FRAMES[frame % len(FRAMES)]} {self._label} ({elapsed:.1f}s)"
            if self._status:
                line += f" - {self._status}"
            with self._lock:
                self._stream.write(CLEAR_LINE + line)
                self._stream.flush()
                self._drawn = True
            frame += 1
            self._stop.wait(self._interval)

    def _clear(self) -> None:
        with self._lock:
            if self._drawn:
                self._stream.write(CLEAR_LINE)
                self._stream.flush()
                self._drawn = False
