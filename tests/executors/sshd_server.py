"""A real OpenSSH server on 127.0.0.x for tests (started and stopped by PID).

``Sshd(dir)`` starts ``/usr/sbin/sshd -D`` with a temporary config, host key
and authorized_keys on a random port; ``addresses`` chooses the loopback
addresses it listens on, ``port``/``keys_from`` let a second server share the
first one's port and keys (so one known_hosts and one client key serve both),
``extra_config`` appends sshd_config lines.  ``pause()``/``resume()`` stop and
continue the listener and every session process with SIGSTOP/SIGCONT: the
kernel still accepts TCP connections, nothing answers - a hung node.

``ensure_sshd()`` returns None when sshd is usable, else the reason to skip
(it tries ``tests/lab/install-host-deps.sh --ssh-only`` when sshd is missing).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SSHD = "/usr/sbin/sshd"


def ensure_sshd() -> str | None:
    """Returns None when sshd is usable, else the reason to skip."""
    if not (os.path.exists(SSHD) and shutil.which("ssh-keygen")):
        script = REPO / "tests" / "lab" / "install-host-deps.sh"
        if os.geteuid() != 0:
            return "openssh-server not installed and not root"
        try:
            subprocess.run(["bash", str(script), "--ssh-only"], check=True, timeout=600,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        except (subprocess.SubprocessError, OSError) as e:
            return f"openssh-server could not be installed: {e}"
    if not os.path.exists(SSHD):
        return "openssh-server could not be installed"
    if os.geteuid() != 0:
        return "sshd test server needs root"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def keygen(path: Path) -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "pyketi-test",
                    "-f", str(path)], check=True)
    return path.with_suffix(".pub").read_text().strip() if path.suffix else \
        Path(str(path) + ".pub").read_text().strip()


def _wait_port(port: int, proc: subprocess.Popen, address: str = "127.0.0.1",
               limit: float = 15.0) -> None:
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"sshd exited with {proc.returncode}: {proc.stderr.read()!r}")
        try:
            with socket.create_connection((address, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("sshd did not start listening")


class Sshd:
    def __init__(self, d: Path, addresses: tuple[str, ...] = ("127.0.0.1", "127.0.0.2"),
                 port: int | None = None, keys_from: "Sshd | None" = None,
                 extra_config: tuple[str, ...] = ()):
        self.dir = d
        self.addresses = addresses
        self.port = port or free_port()
        if keys_from is None:
            self.host_key = d / "ssh_host_ed25519_key"
            self.host_pub = keygen(self.host_key)
            self.client_key = d / "id_ed25519"
            pub = keygen(self.client_key)
            (d / "authorized_keys").write_text(pub + "\n")
            self.authorized_keys = d / "authorized_keys"
        else:
            self.host_key, self.host_pub = keys_from.host_key, keys_from.host_pub
            self.client_key = keys_from.client_key
            self.authorized_keys = keys_from.authorized_keys
        self.known_hosts = d / "known_hosts"
        kt, kb = self.host_pub.split()[:2]
        names = ",".join(f"[{a}]:{self.port}" for a in addresses)
        self.known_hosts.write_text(f"{names} {kt} {kb}\n")
        self.config = d / "sshd_config"
        self.config.write_text("\n".join([
            *(f"ListenAddress {a}" for a in addresses),
            f"HostKey {self.host_key}",
            f"PidFile {d}/sshd.pid",
            f"AuthorizedKeysFile {self.authorized_keys}",
            "UsePAM no",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PubkeyAuthentication yes",
            "PermitRootLogin prohibit-password",
            "StrictModes no",
            "MaxStartups 50",
            "MaxSessions 50",
            "LogLevel ERROR",
            *extra_config,
            "",
        ]))
        os.makedirs("/run/sshd", exist_ok=True)
        self.proc = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(self.config), "-p", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        _wait_port(self.port, self.proc, addresses[0])

    def session_pids(self) -> list[int]:
        """Per-connection sshd processes: children of the listener we started."""
        pids = []
        for t in Path(f"/proc/{self.proc.pid}/task").iterdir():
            kids = (t / "children").read_text().split()
            pids.extend(int(k) for k in kids)
        return pids

    def tree_pids(self) -> list[int]:
        """The listener and all its descendants (sessions and the commands they run)."""
        pids, todo = [], [self.proc.pid]
        while todo and len(pids) < 10_000:
            pid = todo.pop()
            pids.append(pid)
            try:
                for t in Path(f"/proc/{pid}/task").iterdir():
                    todo.extend(int(k) for k in (t / "children").read_text().split())
            except OSError:
                continue
        return pids

    def _signal_tree(self, sig: int) -> None:
        for pid in self.tree_pids():
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    def pause(self) -> None:
        """SIGSTOP the listener and its sessions: connections hang, new ones are never served."""
        self._signal_tree(signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        self._signal_tree(signal.SIGCONT)
        self.paused = False

    def stop(self) -> None:
        if getattr(self, "paused", False):
            self.resume()
        for pid in self.tree_pids():  # sessions and the commands they run
            if pid == self.proc.pid:
                continue
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
