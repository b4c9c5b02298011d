"""A fake storage node: a small paramiko SSH server that records what reaches it.

It speaks just enough SSH for ``pyketi.executors.transports.ssh.SshTransport``: public-key
auth with one client key, one ``exec`` per batch. The batch
(``/bin/bash -c <script>``, built by ``SshTransport.build_script``) is parsed
back into one argv per command with ``shlex`` - nothing is executed - each argv
is RECORDED, and answered from rules (``node.on(pattern, ...)``, first match
wins; ``pattern`` is searched in the ``shlex.join``-ed line) or from defaults
that let a device add and a volume create succeed (LVM reports for the VGs it
was asked to create). The per-command markers are sent on both streams exactly
as the real script prints them, and a failed ``check`` command ends the batch.

Usage (see the ``fake_node`` fixture in ``tests/api/test_fake_node.py``)::

    node = FakeNode(tmp_path).start()          # 127.0.0.1, a free port
    node.sshexec()                             # the ``sshexec`` config section
    node.argvs()                               # every argv received, in order
    node.stop()                                # joins every thread it started

Several addresses (``FakeNode(tmp, addresses=["127.0.0.1", "127.0.0.2"])``)
share one port, so nodes of one topology can have distinct manage hostnames.
"""

from __future__ import annotations

import json
import queue
import re
import shlex
import socket
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import paramiko

SCRIPT_HEAD = "exec </dev/null"
MARK_RE = re.compile(r"""printf '\\n%s\\n' "@@PYKETI-([0-9a-f]+) (\d+) \$__rc@@\"""")
CHECK_LINE = '[ "$__rc" -eq 0 ] || exit 0'
EXTENT_KIB = 4096
EXTENTS = 511996  # ~2 TiB devices

Answer = tuple[int, str, str]  # exit status, stdout, stderr


@dataclass
class Received:
    """One command as the node received it."""

    host: str          # the address the client connected to
    argv: list[str]
    check: bool
    sudo: bool         # the line was prefixed by "sudo -n"

    @property
    def line(self) -> str:
        return shlex.join(self.argv)


@dataclass
class _Rule:
    pattern: re.Pattern[str]
    answer: Answer | Callable[[list[str]], Answer]
    times: int | None


def parse_script(script: str) -> list[tuple[list[str], bool, str, int]]:
    """(argv, check, nonce, index) of every command of a batch script.

    A command line may span several lines (a quoted token holding a newline):
    lines are joined until ``shlex`` closes every quote.
    """
    lines = script.split("\n")
    if lines[0] != SCRIPT_HEAD or not lines[1].startswith("export PATH="):
        raise ValueError(f"not a pyketi batch script: {script[:80]!r}")
    out, i = [], 2
    while i < len(lines):
        if lines[i] in ("exit 0", ""):
            i += 1
            continue
        buf = lines[i]
        while True:
            try:
                argv = shlex.split(buf)
                break
            except ValueError:
                i += 1
                buf += "\n" + lines[i]
        if lines[i + 1] != "__rc=$?":
            raise ValueError(f"no exit status capture after {buf!r}")
        mark = MARK_RE.fullmatch(lines[i + 2])
        if not mark or lines[i + 3] != lines[i + 2] + " >&2":
            raise ValueError(f"no marker after {buf!r}")
        i += 4
        check = i < len(lines) and lines[i] == CHECK_LINE
        i += check
        out.append((argv, check, mark.group(1), int(mark.group(2))))
    return out


@dataclass
class _Lvm:
    """What the node's LVM holds: VG name -> (PV path, PV uuid), and the thin
    pools ``vg/pool`` -> names of their thin LVs (``lvcreate --thin``,
    ``lvremove``, ``lvremove --select thin_count=0``, ``lvs ... thin_count``)."""

    vgs: dict[str, tuple[str, str]] = field(default_factory=dict)
    pools: dict[str, set[str]] = field(default_factory=dict)

    def _lv_answer(self, words: list[str]) -> Answer | None:
        target = words[-1]
        if words[0] == "lvcreate" and "--thin" in words:
            vg = target.split("/")[0]
            self.pools.setdefault(target, set()).add(f"{vg}/{words[words.index('--name') + 1]}")
            return 0, "", ""
        if words[0] == "lvremove":
            gone = (5, "", f'  Failed to find logical volume "{target}"')
            if target in self.pools:
                if "--select" in words and self.pools[target]:
                    return 0, "", ""  # thin_count=0 does not select it
                del self.pools[target]
                return 0, "", ""
            for lvs in self.pools.values():
                if target in lvs:
                    lvs.discard(target)
                    return 0, "", ""
            return gone
        if words[0] == "lvs" and "--options=thin_count" in words:
            if target not in self.pools:
                return 5, "", f'  Failed to find logical volume "{target}"'
            return 0, f"  {len(self.pools[target])}\n", ""
        return None

    def uuid(self, n: int) -> str:
        return f"fake00-PV{n:02d}-uuid-0000-0000-0000-{n:06d}"

    def report(self, key: str, rows: list[tuple[str, str, str]]) -> str:
        return json.dumps({"report": [{key: [{"pv_name": p, "pv_uuid": u, "vg_name": v}
                                             for v, p, u in rows]}]})

    def answer(self, argv: list[str]) -> Answer | None:
        if "/usr/sbin/lvm" not in argv:
            return None
        words = argv[argv.index("/usr/sbin/lvm") + 1:]
        target = words[-1]
        lv = self._lv_answer(words)
        if lv is not None:
            return lv
        if words[0] == "vgcreate":
            self.vgs[words[-2]] = (target, self.uuid(len(self.vgs) + 1))
            return 0, "", ""
        if words[0] == "pvs":
            rows = [(v, p, u) for v, (p, u) in self.vgs.items()
                    if target in (p, f"/dev/disk/by-id/lvm-pv-uuid-{u}")]
            return (0, self.report("pv", rows), "") if rows else (
                5, "", f"  Failed to find physical volume \"{target}\".")
        if words[0] == "vgs":
            if target not in self.vgs:
                return 5, "", f'  Volume group "{target}" not found'
            return 0, self.report("vg", [(target, *self.vgs[target])]), ""
        if words[0] == "vgdisplay":
            free = EXTENTS
            return 0, (f"  {target}:r/w:772:-1:0:0:0:-1:0:1:1:{EXTENTS * EXTENT_KIB}:"
                       f"{EXTENT_KIB}:{EXTENTS}:0:{free}:fakeVG-uuid\n"), ""
        if words[0] == "lvs":
            return 0, "  0\n", ""
        return None


class _Server(paramiko.ServerInterface):
    def __init__(self, node: "FakeNode"):
        self.node = node
        self.execs: queue.Queue = queue.Queue()

    def get_allowed_auths(self, username: str) -> str:
        return "publickey"

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        ok = username == self.node.user and key.asbytes() == self.node.client_key.asbytes()
        return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        return (paramiko.OPEN_SUCCEEDED if kind == "session"
                else paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED)

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        self.execs.put((channel, command))
        return True


class FakeNode:
    def __init__(self, directory: Path, addresses: list[str] | None = None,
                 user: str = "heketi"):
        self.dir = Path(directory)
        self.addresses = addresses or ["127.0.0.1"]
        self.user = user
        self.host_key = paramiko.ECDSAKey.generate()
        self.client_key = paramiko.ECDSAKey.generate()
        self.keyfile = self.dir / "fakenode_id_ecdsa"
        self.known_hosts = self.dir / "fakenode_known_hosts"
        self.port = 0
        self.received: list[Received] = []
        self.scripts: list[str] = []
        self.batches: list[str] = []       # address of each batch (one remote call)
        self.connections: list[str] = []   # address of each SSH connection accepted
        self.errors: list[str] = []
        self.rules: list[_Rule] = []
        self.lvm = _Lvm()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        # set by stop(): an ``answer`` callable that hangs should wait on it
        self.stopping = self._stop
        self._socks: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._transports: list[paramiko.Transport] = []

    # -- configuration -----------------------------------------------------
    def on(self, pattern: str, exit_status: int = 0, stdout: str = "", stderr: str = "",
           answer: Callable[[list[str]], Answer] | None = None,
           times: int | None = None) -> "FakeNode":
        """Answer commands whose joined line matches ``pattern`` (re.search)."""
        self.rules.append(_Rule(re.compile(pattern), answer or (exit_status, stdout, stderr),
                                times))
        return self

    def sshexec(self, **extra) -> dict:
        """heketi's ``sshexec`` section pointing at this node."""
        return {"keyfile": str(self.keyfile), "user": self.user, "port": self.port,
                "known_hosts": str(self.known_hosts), "connect_timeout": 5, **extra}

    # -- lifecycle -----------------------------------------------------------
    def start(self) -> "FakeNode":
        self.client_key.write_private_key_file(str(self.keyfile))
        self.keyfile.chmod(0o600)
        for address in self.addresses:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((address, self.port))
            self.port = sock.getsockname()[1]
            sock.listen(16)
            sock.settimeout(0.1)
            self._socks.append(sock)
        self.known_hosts.write_text("".join(
            f"[{a}]:{self.port} {self.host_key.get_name()} {self.host_key.get_base64()}\n"
            for a in self.addresses))
        for sock in self._socks:
            self._spawn(self._accept_loop, sock)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        accept_loops = self._threads[:len(self._socks)]
        for t in accept_loops:  # no connection thread is started after these end
            t.join(timeout)
        for t in list(self._threads):
            t.join(timeout)
        for tr in self._transports:
            tr.close()
        for sock in self._socks:
            sock.close()
        alive = [t.name for t in self._threads if t.is_alive()]
        assert not alive, f"fake node threads still running: {alive}"

    def _spawn(self, target, *args) -> None:
        t = threading.Thread(target=target, args=args, daemon=True,
                             name=f"fakenode-{target.__name__}")
        self._threads.append(t)
        t.start()

    def _accept_loop(self, sock: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = sock.accept()
            except (socket.timeout, OSError):
                continue
            self._spawn(self._serve_connection, conn, sock.getsockname()[0])

    def _serve_connection(self, conn: socket.socket, host: str) -> None:
        transport = paramiko.Transport(conn)
        with self._lock:
            self._transports.append(transport)
            self.connections.append(host)
        transport.add_server_key(self.host_key)
        server = _Server(self)
        try:
            transport.start_server(server=server)
        except (paramiko.SSHException, EOFError, OSError):
            transport.close()
            return
        while not self._stop.is_set() and transport.is_active():
            try:
                chan, command = server.execs.get(timeout=0.1)
            except queue.Empty:
                continue
            try:
                self._run(host, chan, command.decode())
            except Exception as e:  # noqa: BLE001 - reported by errors, not a crash
                self.errors.append(f"{type(e).__name__}: {e}")
                chan.send_exit_status(255)
            finally:
                chan.close()
        transport.close()

    # -- a batch -------------------------------------------------------------
    def _run(self, host: str, chan: paramiko.Channel, command: str) -> None:
        outer = shlex.split(command)
        if outer[:2] != ["/bin/bash", "-c"] or len(outer) != 3:
            raise ValueError(f"unexpected exec request {command[:80]!r}")
        self.scripts.append(outer[2])
        with self._lock:
            self.batches.append(host)
        for argv, check, nonce, index in parse_script(outer[2]):
            sudo = argv[:2] == ["sudo", "-n"]
            if sudo:
                argv = argv[2:]
            with self._lock:
                self.received.append(Received(host, argv, check, sudo))
            status, out, err = self._answer(argv)
            mark = f"\n@@PYKETI-{nonce} {index} {status}@@\n"
            chan.sendall((out + mark).encode())
            chan.sendall_stderr((err + mark).encode())
            if status and check:
                break
        chan.send_exit_status(0)

    def _answer(self, argv: list[str]) -> Answer:
        line = shlex.join(argv)
        with self._lock:
            rule = next((r for r in self.rules
                         if r.times != 0 and r.pattern.search(line)), None)
            if rule is None:
                return self.lvm.answer(argv) or (0, "", "")
            if rule.times is not None:
                rule.times -= 1
        # outside the lock: an answer may wait for other nodes' batches
        return rule.answer(argv) if callable(rule.answer) else rule.answer

    # -- assertions ----------------------------------------------------------
    def argvs(self) -> list[list[str]]:
        with self._lock:
            return [r.argv for r in self.received]

    def lines(self) -> list[str]:
        with self._lock:
            return [r.line for r in self.received]

    def calls_per_host(self, since: int = 0) -> dict[str, int]:
        """Remote calls (batches) per address, from batch number ``since`` on."""
        with self._lock:
            return dict(Counter(self.batches[since:]))
