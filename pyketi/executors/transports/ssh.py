"""SSH transport: runs a batch of node commands in ONE remote call (paramiko).

Configuration is heketi's ``sshexec`` section (``keyfile``, ``user``, ``port``,
``sudo``) plus pyketi keys:

``known_hosts``      file of trusted host keys (default: ``$SSH_KNOWN_HOSTS``,
                     else ``~/.ssh/known_hosts``).  Host keys are verified by
                     default: an unknown host is refused.
``host_key_policy``  ``"reject"`` (default) or ``"trust-on-first-use"``: accept
                     the key of a host that has no entry yet and append it to
                     ``known_hosts``.  A host whose key differs from the
                     recorded one is refused with either policy.
``connect_timeout``  seconds for TCP connect + SSH handshake + auth (10).
``command_timeout``  seconds; overrides the per-batch timeout given by callers.
``key_passphrase``   passphrase of an encrypted ``keyfile`` (never logged).
``max_output_bytes`` cap on the output (stdout + stderr) captured from one
                     batch (default 4 MiB); beyond it the channel is closed
                     and the batch fails ("output of <cmd> on <host> exceeded
                     N bytes"), so a flooding node cannot exhaust memory.

The ``keyfile`` is refused, as OpenSSH does, when it is ours and readable or
writable by group/others ("UNPROTECTED PRIVATE KEY FILE").

Environment overrides as in heketi: ``HEKETI_SSH_KEYFILE``,
``HEKETI_SSH_USER``, ``HEKETI_SSH_PORT``.

How a batch runs: one persistent SSH connection per host (reused, reopened
once when it dropped), one ``exec`` of ``/bin/bash -c <script>`` per batch.
Every argv is ``shlex.join``-ed (with ``sudo: true`` prefixed by
``sudo -n`` unless the argv already starts with ``sudo``), so no token is ever interpreted by the remote shell.  After each
command the script prints a marker carrying a random per-batch nonce, the
command's index and its exit status to stdout AND stderr; the transport splits
both streams on those markers.  A failed ``check=True`` command ends the script.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import fcntl
import logging
import os
import re
import secrets
import shlex
import socket
import threading
import time
from dataclasses import dataclass, field

import paramiko

from pyketi.executors.base import CommandTimeout, ExecutorError, NodeUnreachable
from pyketi.executors.transports.base import Command, Result, Transport

log = logging.getLogger(__name__)

TIMEOUT_TEXT = "SSH command timeout"
POLICY_REJECT = "reject"
POLICY_TOFU = "trust-on-first-use"
_POLICIES = (POLICY_REJECT, POLICY_TOFU)
_PATH_EXTRA = "/usr/local/sbin:/usr/sbin:/sbin"
DEFAULT_MAX_OUTPUT = 4 * 1024 * 1024


def _seconds(cfg: dict, key: str) -> float | None:
    value = cfg.get(key)
    if value in (None, "", 0):
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ExecutorError(f"Invalid sshexec {key} {value!r}: seconds expected") from None
    if seconds <= 0:
        raise ExecutorError(f"Invalid sshexec {key} {value!r}: seconds expected")
    return seconds


class HostKeyError(NodeUnreachable):
    """The node's SSH host key is unknown (reject policy) or has changed."""


def _default_known_hosts() -> str:
    env = os.environ.get("SSH_KNOWN_HOSTS")
    if env:
        return env
    return os.path.join(os.path.expanduser("~"), ".ssh", "known_hosts")


def _hostkey_name(host: str, port: int) -> str:
    return host if port == 22 else f"[{host}]:{port}"


class _KnownHosts:
    """The known_hosts file, shared by all connections of one transport."""

    def __init__(self, path: str, policy: str):
        self.path = path
        self.policy = policy
        self._lock = threading.Lock()

    def load_into(self, client: paramiko.SSHClient) -> None:
        keys = client.get_host_keys()
        if os.path.exists(self.path):
            try:
                keys.load(self.path)
            except (OSError, paramiko.SSHException) as e:
                raise ExecutorError(
                    f"Unable to read known_hosts file {self.path}: {e}") from None

    def record(self, name: str, key: paramiko.PKey) -> None:
        """Append ``name key`` to the file (TOFU); refuse if ``name`` appeared meanwhile."""
        line = f"{name} {key.get_name()} {key.get_base64()}\n"
        with self._lock:
            d = os.path.dirname(self.path)
            if d:
                os.makedirs(d, exist_ok=True)
            with open(self.path, "a+", encoding="utf-8") as f:
                fcntl.flock(f, fcntl.LOCK_EX)
                try:
                    current = paramiko.HostKeys()
                    current.load(self.path)  # skips malformed lines; handles hashed names
                    known = current.get(name)
                    if known:
                        if known.get(key.get_name()) == key:
                            return
                        raise paramiko.BadHostKeyException(
                            name, key, list(known.values())[0])
                    f.seek(0, os.SEEK_END)
                    f.write(line)
                    f.flush()
                    os.fsync(f.fileno())
                finally:
                    fcntl.flock(f, fcntl.LOCK_UN)
        log.warning("ssh: trusted new host key of %s (%s %s) on first use, recorded in %s",
                    name, key.get_name(), key.fingerprint, self.path)


class _TofuPolicy(paramiko.MissingHostKeyPolicy):
    def __init__(self, known: _KnownHosts):
        self.known = known

    def missing_host_key(self, client, hostname, key):
        # paramiko calls this only when no key at all is recorded for hostname
        # (a recorded key of another type raises BadHostKeyException itself).
        self.known.record(hostname, key)
        client.get_host_keys().add(hostname, key.get_name(), key)


class _OutputTooLarge(Exception):
    """Raised by ``_collect`` past ``max_output_bytes``; carries stdout read so far."""

    def __init__(self, out: bytearray):
        super().__init__()
        self.out = out


@dataclass
class _Conn:
    """Per-host state. ``tlock`` guards the client inside worker threads."""

    client: paramiko.SSHClient | None = None
    tlock: threading.Lock = field(default_factory=threading.Lock)
    channel: paramiko.Channel | None = None
    alock: asyncio.Lock | None = None
    alock_loop: asyncio.AbstractEventLoop | None = None


class SshTransport(Transport):
    def __init__(self, keyfile: str, user: str = "heketi", port: int | str = 22,
                 sudo: bool = False, known_hosts: str | None = None,
                 host_key_policy: str = POLICY_REJECT,
                 connect_timeout: float = 10.0,
                 command_timeout: float | None = None,
                 key_passphrase: str | None = None,
                 max_workers: int = 32,
                 max_output_bytes: int = DEFAULT_MAX_OUTPUT):
        if not keyfile:
            raise ExecutorError("Missing ssh private key file in configuration")
        try:
            self.port = int(port)
        except (TypeError, ValueError):
            raise ExecutorError(f"Invalid ssh port in configuration: {port!r}") from None
        if not 0 < self.port < 65536:
            raise ExecutorError(f"Invalid ssh port in configuration: {port!r}")
        if host_key_policy not in _POLICIES:
            raise ExecutorError(
                f"Invalid host_key_policy {host_key_policy!r}: use one of {', '.join(_POLICIES)}")
        self.keyfile = keyfile
        self.user = user or "heketi"
        self.sudo = bool(sudo)
        self.known_hosts = known_hosts or _default_known_hosts()
        self.host_key_policy = host_key_policy
        self.connect_timeout = float(connect_timeout)
        self.command_timeout = float(command_timeout) if command_timeout else None
        if isinstance(max_output_bytes, bool) or not isinstance(max_output_bytes, int) \
                or max_output_bytes < 1:
            raise ExecutorError(
                f"Invalid sshexec max_output_bytes {max_output_bytes!r}: bytes expected")
        self.max_output_bytes = max_output_bytes
        self._pkey = self._load_key(keyfile, key_passphrase)
        self._known = _KnownHosts(self.known_hosts, host_key_policy)
        self._conns: dict[str, _Conn] = {}
        self._conns_lock = threading.Lock()
        self._max_workers = max_workers
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._stats_lock = threading.Lock()
        # benchmark counters
        self.connections_opened = 0
        self.remote_calls = 0

    # -- construction -------------------------------------------------------
    @classmethod
    def from_config(cls, cfg: dict | None) -> "SshTransport":
        """Build from heketi's ``sshexec`` dict (plus pyketi keys, see module doc)."""
        cfg = dict(cfg or {})
        keyfile = os.environ.get("HEKETI_SSH_KEYFILE") or cfg.get("keyfile") or ""
        user = os.environ.get("HEKETI_SSH_USER") or cfg.get("user") or "heketi"
        port = os.environ.get("HEKETI_SSH_PORT") or cfg.get("port") or "22"
        if not keyfile:
            raise ExecutorError("Missing ssh private key file in configuration")
        return cls(
            keyfile=keyfile, user=user, port=port,
            sudo=bool(cfg.get("sudo", False)),
            known_hosts=cfg.get("known_hosts") or None,
            host_key_policy=cfg.get("host_key_policy") or POLICY_REJECT,
            connect_timeout=_seconds(cfg, "connect_timeout") or 10.0,
            command_timeout=_seconds(cfg, "command_timeout"),
            key_passphrase=cfg.get("key_passphrase") or None,
            max_output_bytes=cfg.get("max_output_bytes", DEFAULT_MAX_OUTPUT),
        )

    @staticmethod
    def _check_key_mode(path: str) -> None:
        """OpenSSH ``sshkey_perm_ok``: our own key must not be open to group/others."""
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise ExecutorError(f"ssh private key file {path} does not exist") from None
        except OSError:
            return  # reported by the load below
        if st.st_uid == os.getuid() and st.st_mode & 0o077:
            raise ExecutorError(
                f"UNPROTECTED PRIVATE KEY FILE: permissions {st.st_mode & 0o777:04o} for ssh "
                f"private key file {path} are too open; it must not be accessible by group "
                "or others (chmod 600)")

    @classmethod
    def _load_key(cls, path: str, passphrase: str | None) -> paramiko.PKey:
        cls._check_key_mode(path)
        try:
            return paramiko.PKey.from_path(path, password=passphrase)
        except paramiko.PasswordRequiredException:
            raise ExecutorError(
                f"ssh private key file {path} is encrypted and no key_passphrase is configured"
            ) from None
        except FileNotFoundError:
            raise ExecutorError(f"ssh private key file {path} does not exist") from None
        except (OSError, paramiko.SSHException, ValueError, TypeError) as e:
            # paramiko's messages name the problem, never the key material
            kind = type(e).__name__
            raise ExecutorError(
                f"Unable to load ssh private key file {path} ({kind})") from None

    # -- public API ---------------------------------------------------------
    async def run_batch(self, host: str, commands: list[Command],
                        timeout: float) -> list[Result]:
        if not commands:
            return []
        if self.command_timeout:
            timeout = self.command_timeout
        conn = self._conn(host)
        loop = asyncio.get_running_loop()
        if conn.alock is None or conn.alock_loop is not loop:
            conn.alock, conn.alock_loop = asyncio.Lock(), loop
        async with conn.alock:
            fut = loop.run_in_executor(self._executor(), self._run_sync, host, conn,
                                       list(commands), float(timeout))
            fut.add_done_callback(lambda f: f.cancelled() or f.exception())
            try:
                return await asyncio.shield(fut)
            except asyncio.CancelledError:
                chan = conn.channel
                if chan is not None:
                    chan.close()  # ends the worker thread's read loop promptly
                raise

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.close_sync)

    def close_sync(self) -> None:
        with self._conns_lock:
            conns = list(self._conns.values())
            self._conns.clear()
        for c in conns:
            with c.tlock:
                if c.client is not None:
                    c.client.close()
                    c.client = None
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None

    # -- internals ----------------------------------------------------------
    def _executor(self) -> concurrent.futures.ThreadPoolExecutor:
        with self._conns_lock:
            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(
                    max_workers=self._max_workers, thread_name_prefix="pyketi-ssh")
            return self._pool

    def _conn(self, host: str) -> _Conn:
        with self._conns_lock:
            c = self._conns.get(host)
            if c is None:
                c = self._conns[host] = _Conn()
            return c

    def _where(self, host: str) -> str:
        return f"{self.user}@{host}:{self.port}"

    def _connect(self, host: str) -> paramiko.SSHClient:
        client = paramiko.SSHClient()
        self._known.load_into(client)
        if self.host_key_policy == POLICY_TOFU:
            client.set_missing_host_key_policy(_TofuPolicy(self._known))
        else:
            client.set_missing_host_key_policy(paramiko.RejectPolicy())
        where = self._where(host)
        try:
            client.connect(
                host, port=self.port, username=self.user, pkey=self._pkey,
                timeout=self.connect_timeout, banner_timeout=self.connect_timeout,
                auth_timeout=self.connect_timeout, channel_timeout=self.connect_timeout,
                allow_agent=False, look_for_keys=False)
        except paramiko.BadHostKeyException as e:
            client.close()
            raise HostKeyError(
                f"Host key of {host}:{self.port} has CHANGED (got {e.key.get_name()} "
                f"{e.key.fingerprint}, known_hosts {self.known_hosts} has "
                f"{e.expected_key.get_name()} {e.expected_key.fingerprint}); "
                "refusing to connect", host) from None
        except paramiko.AuthenticationException:
            client.close()
            raise NodeUnreachable(
                f"SSH authentication failed for {where} with key file {self.keyfile}",
                host) from None
        except paramiko.SSHException as e:
            client.close()
            msg = str(e)
            if "not found in known_hosts" in msg:
                raise HostKeyError(
                    f"Host key of {host}:{self.port} is not in known_hosts file "
                    f"{self.known_hosts}; add it (ssh-keyscan) or set "
                    f"host_key_policy \"{POLICY_TOFU}\"", host) from None
            raise NodeUnreachable(f"Unable to connect to {where}: {msg}", host) from None
        except (socket.timeout, TimeoutError):
            client.close()
            raise NodeUnreachable(
                f"Unable to connect to {where}: connection timed out", host) from None
        except (OSError, EOFError) as e:
            client.close()
            reason = getattr(e, "strerror", None) or str(e) or type(e).__name__
            if isinstance(e, paramiko.ssh_exception.NoValidConnectionsError):
                reason = "connection refused"
            raise NodeUnreachable(f"Unable to connect to {where}: {reason}", host) from None
        except ExecutorError:
            client.close()
            raise
        t = client.get_transport()
        if t is not None:
            t.set_keepalive(30)
        with self._stats_lock:
            self.connections_opened += 1
        log.debug("ssh: connected to %s", where)
        return client

    def _open_channel(self, host: str, conn: _Conn) -> paramiko.Channel:
        """A session channel on the host's connection; reconnect once if it dropped."""
        for attempt in (1, 2):
            client = conn.client
            t = client.get_transport() if client is not None else None
            if t is None or not t.is_active():
                if client is not None:
                    client.close()
                    log.info("ssh: connection to %s dropped, reconnecting", self._where(host))
                conn.client = None
                conn.client = client = self._connect(host)
                t = client.get_transport()
            try:
                return t.open_session(timeout=self.connect_timeout)
            except (paramiko.SSHException, EOFError, OSError) as e:
                client.close()
                conn.client = None
                if attempt == 2:
                    raise NodeUnreachable(
                        f"Unable to open an SSH session on {self._where(host)}: {e}",
                        host) from None
                log.info("ssh: session on %s failed (%s), reconnecting", self._where(host), e)
        raise AssertionError("unreachable")

    def build_script(self, commands: list[Command], nonce: str) -> str:
        lines = [
            "exec </dev/null",
            f'export PATH="${{PATH:-/usr/bin:/bin}}:{_PATH_EXTRA}" LC_ALL=C LANG=C',
        ]
        for i, cmd in enumerate(commands):
            if not cmd.argv:
                raise ExecutorError("empty command in batch")
            line = shlex.join(cmd.argv)
            if self.sudo and cmd.argv[0] != "sudo":  # CmdExecutor may have added it
                line = "sudo -n " + line
            lines.append(line)
            lines.append("__rc=$?")
            mark = f"@@PYKETI-{nonce} {i} $__rc@@"
            lines.append(f"printf '\\n%s\\n' \"{mark}\"")
            lines.append(f"printf '\\n%s\\n' \"{mark}\" >&2")
            if cmd.check:
                lines.append('[ "$__rc" -eq 0 ] || exit 0')
        lines.append("exit 0")
        return "\n".join(lines) + "\n"

    @staticmethod
    def _marker(nonce: str) -> re.Pattern[bytes]:
        return re.compile(rb"\n@@PYKETI-" + re.escape(nonce.encode()) + rb" (\d+) (\d+)@@\n")

    @classmethod
    def parse_output(cls, nonce: str, out: bytes, err: bytes,
                     commands: list[Command]) -> tuple[list[Result], bool]:
        """Split both streams on the markers. Returns (results, complete)."""
        pat = cls._marker(nonce)

        def split(buf: bytes) -> list[tuple[int, int, bytes]]:
            parts, pos = [], 0
            for m in pat.finditer(buf):
                parts.append((int(m.group(1)), int(m.group(2)), buf[pos:m.start()]))
                pos = m.end()
            return parts

        outs, errs = split(out), split(err)
        results: list[Result] = []
        for i, (idx, rc, o) in enumerate(outs):
            if idx != i or i >= len(commands):
                break
            e = errs[i][2] if i < len(errs) and errs[i][0] == i else b""
            results.append(Result(commands[i], rc, o.decode("utf-8", "replace"),
                                  e.decode("utf-8", "replace")))
        complete = bool(results) and (
            len(results) == len(commands)
            or (not results[-1].ok and results[-1].command.check))
        return results, complete

    def _run_sync(self, host: str, conn: _Conn, commands: list[Command],
                  timeout: float) -> list[Result]:
        with conn.tlock:
            nonce = secrets.token_hex(16)
            script = self.build_script(commands, nonce)
            chan = self._open_channel(host, conn)
            conn.channel = chan
            try:
                with self._stats_lock:
                    self.remote_calls += 1
                deadline = time.monotonic() + timeout
                log.debug("ssh %s: batch of %d command(s): %s", self._where(host), len(commands),
                          "; ".join(shlex.join(c.argv) for c in commands))
                try:
                    chan.exec_command("/bin/bash -c " + shlex.quote(script))
                    chan.shutdown_write()
                except (paramiko.SSHException, EOFError, OSError) as e:
                    raise NodeUnreachable(
                        f"Unable to run commands on {self._where(host)}: {e}", host) from None
                try:
                    out, err, status = self._collect(host, chan, deadline)
                except _OutputTooLarge as e:
                    raise self._too_large(host, nonce, e.out, commands) from None
            finally:
                conn.channel = None
                chan.close()
        results, complete = self.parse_output(nonce, out, err, commands)
        if not complete:
            msg = err.decode("utf-8", "replace").strip().splitlines()
            detail = msg[-1] if msg else f"exit status {status}"
            raise ExecutorError(
                f"SSH batch on {host} ended unexpectedly after {len(results)} of "
                f"{len(commands)} command(s): {detail}", host)
        return results

    def _too_large(self, host: str, nonce: str, out: bytearray,
                   commands: list[Command]) -> ExecutorError:
        """The error for a batch whose output passed ``max_output_bytes``."""
        done = len(self._marker(nonce).findall(out))
        cmd = shlex.join(commands[min(done, len(commands) - 1)].argv)
        if len(cmd) > 200:
            cmd = cmd[:200] + "..."
        log.warning("ssh %s: output of %s exceeded %d bytes, channel closed",
                    self._where(host), cmd, self.max_output_bytes)
        return ExecutorError(
            f"output of {cmd} on {host} exceeded {self.max_output_bytes} bytes", host)

    def _collect(self, host: str, chan: paramiko.Channel,
                 deadline: float) -> tuple[bytes, bytes, int]:
        out, err = bytearray(), bytearray()
        idle = 0.001
        limit = self.max_output_bytes
        while True:
            got = False
            while chan.recv_ready():
                out += chan.recv(65536)
                got = True
                if len(out) + len(err) > limit:
                    raise _OutputTooLarge(out)
            while chan.recv_stderr_ready():
                err += chan.recv_stderr(65536)
                got = True
                if len(out) + len(err) > limit:
                    raise _OutputTooLarge(out)
            # OpenSSH may send exit-status before the last output: finish only
            # after EOF (or close) AND the exit status, with both buffers drained.
            if (chan.eof_received or chan.closed) and chan.exit_status_ready() \
                    and not chan.recv_ready() and not chan.recv_stderr_ready():
                break
            if chan.closed and not got and not chan.exit_status_ready():
                # channel closed without an exit status (connection lost / aborted)
                if time.monotonic() >= deadline:
                    raise CommandTimeout(TIMEOUT_TEXT, host)
                t = chan.get_transport()
                if t is None or not t.is_active():
                    raise NodeUnreachable(
                        f"Connection to {self._where(host)} lost while running commands",
                        host)
                raise ExecutorError(f"SSH channel to {host} closed unexpectedly", host)
            if time.monotonic() >= deadline:
                log.warning("ssh %s: batch timed out, closing the channel", self._where(host))
                raise CommandTimeout(TIMEOUT_TEXT, host)
            if got:
                idle = 0.001
            else:
                time.sleep(idle)
                idle = min(idle * 2, 0.02)
        return bytes(out), bytes(err), chan.recv_exit_status()
