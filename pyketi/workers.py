"""Several server processes on one port (``workers`` > 1): the supervisor.

One Python process runs on one core at a time.  With ``workers`` = N the ``serve``
process becomes a supervisor: it creates or upgrades the schema, opens the listening
socket(s), maps the state the workers share (``shared_state``), forks N workers and
then only relays signals and watches them.  Each worker is a whole pyketi server: its
own event loop, database connections, executor, job queue and background cleaner,
registered as an instance of its own (``instances``), exactly as two pyketi servers
sharing one database are.  What makes that safe is what already makes several servers
on one database safe: every decision is taken inside a database write transaction
(SQLite: ``BEGIN IMMEDIATE`` under a cross-process lock, ``db.session``;
PostgreSQL: row locks), jobs and operations live in the database, and a worker that
dies is cleaned up by the others (its process id is gone: its operations are stale).

Signals to the supervisor: SIGTERM/SIGINT are passed to every worker (each drains its
running operations, ``shutdown_timeout``) and the supervisor exits when all have;
SIGHUP is passed on (each worker reopens its log and re-reads the file); SIGUSR2 sets
the shared ``/admin`` state back to normal.  A worker that exits unexpectedly is
restarted after ``RESTART_PAUSE`` seconds, unless it did so before it started serving
(a start-up failure, such as a database that does not answer: the supervisor stops the
others and exits 1).  Every worker dies with its supervisor (``PR_SET_PDEATHSIG``), so
killing the supervisor is killing the server, as with one process.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import socket
import sys
import time
import traceback
from dataclasses import dataclass
from typing import Callable

from pyketi import __version__
from pyketi.config import Config, ConfigError
from pyketi.logging_setup import LogOutput
from pyketi.shared_state import SharedState

log = logging.getLogger("pyketi.workers")

SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR2, signal.SIGCHLD}
RESTART_PAUSE = 1.0
PR_SET_PDEATHSIG = 1
LISTEN_BACKLOG = 512


@dataclass
class Worker:
    """What a worker process gets from its supervisor."""

    index: int
    sockets: list[socket.socket]
    shared: SharedState


def listening_sockets(cfg: Config) -> list[socket.socket]:
    """The listening sockets of ``bind``:``port`` (as ``loop.create_server`` opens them),
    non-blocking, shared by the workers."""
    infos = socket.getaddrinfo(cfg.bind or None, cfg.port, type=socket.SOCK_STREAM,
                               flags=socket.AI_PASSIVE)
    sockets: list[socket.socket] = []
    seen: set = set()
    for family, kind, proto, _, address in infos:
        if (family, address) in seen:
            continue
        seen.add((family, address))
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(LISTEN_BACKLOG)
            sock.setblocking(False)
        except OSError as e:
            sock.close()
            for other in sockets:
                other.close()
            raise ConfigError(f"ERROR: cannot listen on {cfg.bind}:{cfg.port}: "
                              f"{e.strerror}") from None
        sockets.append(sock)
    return sockets


def _die_with_parent(parent: int) -> None:
    """SIGKILL this process when its supervisor dies (Linux ``prctl``)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass
    if os.getppid() != parent:  # it died before the prctl
        os._exit(1)


class Supervisor:
    def __init__(self, cfg: Config, serve: Callable[[Worker], None], log_output: LogOutput):
        self.cfg = cfg
        self.serve = serve
        self.log_output = log_output
        self.children: dict[int, int] = {}  # pid -> worker index
        self.restarts: dict[int, float] = {}  # worker index -> when to start it again
        self.stopping = False
        self.failed = False
        self.sockets: list[socket.socket] = []
        self.shared = SharedState(cfg.workers, cfg.default_state)

    def run(self) -> int:
        signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
        self.sockets = listening_sockets(self.cfg)
        for index in range(self.cfg.workers):
            self._spawn(index)
        print(f"Heketi-compatible pyketi {__version__}", flush=True)
        print(f"Listening on port {self.cfg.port}", flush=True)
        log.info("serving with %d worker processes (pids %s)", self.cfg.workers,
                 " ".join(str(pid) for pid in sorted(self.children)))
        while self.children or (self.restarts and not self.stopping):
            self._wait()
        for sock in self.sockets:
            sock.close()
        return 1 if self.failed else 0

    # -- children ------------------------------------------------------------------------
    def _spawn(self, index: int) -> None:
        parent = os.getpid()
        pid = os.fork()
        if pid:
            self.children[pid] = index
            return
        code = 1
        try:
            _die_with_parent(parent)
            for sig in SIGNALS:
                signal.signal(sig, signal.SIG_DFL)
            signal.signal(signal.SIGHUP, signal.SIG_IGN)  # until the worker's loop handles it
            signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)
            self.serve(Worker(index, self.sockets, self.shared))
            code = 0
        except ConfigError as e:
            print(str(e), file=sys.stderr)
        except BaseException:  # noqa: BLE001 - the worker's last words, then exit
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)

    def _signal_all(self, sig: int) -> None:
        for pid in list(self.children):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    def _wait(self) -> None:
        timeout = None
        if self.restarts:
            timeout = max(0.0, min(self.restarts.values()) - time.monotonic())
        info = (signal.sigtimedwait(SIGNALS, timeout) if timeout is not None
                else signal.sigwaitinfo(SIGNALS))
        if info is None:
            self._restart_due()
            return
        sig = info.si_signo
        if sig in (signal.SIGTERM, signal.SIGINT):
            if not self.stopping:
                log.info("shutting down: stopping %d worker processes", len(self.children))
            self.stopping = True
            self.restarts.clear()
            self._signal_all(signal.SIGTERM)
        elif sig == signal.SIGHUP:
            try:
                self.log_output.apply(self.cfg.log_file, self.cfg.log_format, self.cfg.loglevel)
            except OSError as e:
                log.error("SIGHUP: unable to reopen log_file %s: %s", self.cfg.log_file,
                          e.strerror)
            self._signal_all(signal.SIGHUP)
        elif sig == signal.SIGUSR2:
            self.shared.admin_state = "normal"
        self._reap()

    def _reap(self) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            index = self.children.pop(pid, None)
            if index is None:
                continue
            served = self.shared.ready(index)
            self.shared.set_connections(index, 0)
            self.shared.set_ready(index, False)
            if self.stopping:
                continue
            how = (f"signal {-os.waitstatus_to_exitcode(status)}" if os.WIFSIGNALED(status)
                   else f"exit code {os.waitstatus_to_exitcode(status)}")
            if not served:
                log.error("worker %d (pid %d) stopped before it served (%s): stopping the "
                          "server", index, pid, how)
                self.failed = self.stopping = True
                self.restarts.clear()
                self._signal_all(signal.SIGTERM)
                continue
            log.error("worker %d (pid %d) stopped (%s); starting it again in %g s (its "
                      "running operations are taken over by the background cleaner)",
                      index, pid, how, RESTART_PAUSE)
            self.restarts[index] = time.monotonic() + RESTART_PAUSE

    def _restart_due(self) -> None:
        now = time.monotonic()
        for index, when in sorted(self.restarts.items()):
            if when <= now and not self.stopping:
                del self.restarts[index]
                self._spawn(index)
