"""Python side of the pyketi VM lab (tests/lab/vmlab-*.sh), for pytest and benchmarks.

    lab = VmLab()
    lab.up(3)                       # builds the image once, boots 3 VMs (~60-90 s)
    lab.nodes                       # [LabNode(name='node1', ip='10.88.0.11', devices=[...]), ...]
    lab.ssh(1, "lvs")               # CompletedProcess (ssh inside the netns, host key verified)
    lab.sshexec_config()            # heketi.json "sshexec" for pyketi (keyfile, known_hosts, ...)
    lab.ns_argv(["python", "-m", "pyketi", "serve", ...])   # run a process inside the netns
    lab.pause(3); lab.resume(3)     # QEMU monitor "stop"/"cont": node3 hangs, then goes on
    lab.down()

The VM addresses exist only inside the network namespace ``lab.netns``: a
process that talks to the nodes (pyketi's SshTransport, a pyketi server) must
run in it.  ``in_netns()`` moves the *calling thread* into it (setns), which is
how the integration tests run SshTransport in-process.
"""

from __future__ import annotations

import contextlib
import ctypes
import ipaddress
import json
import os
import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
CLONE_NEWNET = 0x40000000


@dataclass
class LabNode:
    name: str
    ip: str
    devices: list[str] = field(default_factory=list)


class LabError(RuntimeError):
    pass


class VmLab:
    def __init__(self, lab_dir: str | None = None, cache: str | None = None,
                 env: dict[str, str] | None = None):
        self.env = dict(os.environ)
        if env:
            self.env.update(env)
        if lab_dir:
            self.env["PYKETI_LAB_DIR"] = lab_dir
        if cache:
            self.env["PYKETI_LAB_CACHE"] = cache
        self.dir = Path(self.env.get("PYKETI_LAB_DIR", "/var/lib/pyketi-lab"))
        self.timings: dict[str, float] = {}

    # -- prerequisites ----------------------------------------------------------
    @staticmethod
    def unavailable_reason() -> str | None:
        """None if the lab can run here, else why not."""
        if os.geteuid() != 0:
            return "the VM lab needs root (netns, taps)"
        if not os.path.exists("/dev/net/tun"):
            return "no /dev/net/tun"
        if shutil.which("ip") is None:
            return "iproute2 missing"
        return None

    def install_host_deps(self) -> None:
        self._script("install-host-deps.sh", timeout=900)

    # -- lifecycle ----------------------------------------------------------------
    def _script(self, name: str, *args: str, timeout: float = 1800) -> subprocess.CompletedProcess:
        import time
        t0 = time.monotonic()
        p = subprocess.run(["bash", str(HERE / name), *args], env=self.env, timeout=timeout,
                           stdin=subprocess.DEVNULL, capture_output=True, text=True)
        self.timings[name] = time.monotonic() - t0
        if p.returncode != 0:
            raise LabError(f"{name} {' '.join(args)} failed ({p.returncode}):\n{p.stderr[-4000:]}")
        return p

    def build(self) -> str:
        return self._script("vmlab-build.sh", timeout=1800).stderr

    def up(self, n: int = 3, timeout: float = 1800) -> str:
        if not all(shutil.which(t) for t in ("qemu-system-x86_64", "debootstrap", "socat")):
            self.install_host_deps()
        return self._script("vmlab-up.sh", str(n), timeout=timeout).stderr

    def down(self, keep_disks: bool = False) -> str:
        args = ["--keep-disks"] if keep_disks else []
        return self._script("vmlab-down.sh", *args, timeout=300).stderr

    def is_up(self) -> bool:
        return (self.dir / "run" / "nodes").is_file() and self._netns_exists()

    # -- what tests need -------------------------------------------------------------
    @property
    def info(self) -> dict:
        path = self.dir / "nodes.json"
        if not path.is_file():
            raise LabError(f"lab not up ({path} missing)")
        return json.loads(path.read_text())

    @property
    def netns(self) -> str:
        return self.info["netns"]

    @property
    def nodes(self) -> list[LabNode]:
        return [LabNode(n["name"], n["ip"], list(n["devices"])) for n in self.info["nodes"]]

    @property
    def key(self) -> str:
        return self.info["ssh_key"]

    @property
    def known_hosts(self) -> str:
        return self.info["known_hosts"]

    def sshexec_config(self, user: str = "root", sudo: bool = False, **extra) -> dict:
        """The heketi.json ``sshexec`` section for pyketi (host keys verified)."""
        cfg = {"keyfile": self.key, "user": user, "port": "22", "sudo": sudo,
               "known_hosts": self.known_hosts, "host_key_policy": "reject",
               "connect_timeout": 15}
        cfg.update(extra)
        return cfg

    def check_address(self, ip: str) -> None:
        """Refuse any address outside the lab network, or when the lab is down."""
        net = ipaddress.ip_network(self.info["network"])
        if ipaddress.ip_address(ip) not in net:
            raise LabError(f"{ip} is not a lab address ({net})")
        if not self._netns_exists():
            raise LabError("the lab network namespace is gone")

    def ns_argv(self, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.netns, *argv]

    def ns_run(self, argv: list[str], timeout: float = 300, check: bool = True,
               **kw) -> subprocess.CompletedProcess:
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        return subprocess.run(self.ns_argv(argv), timeout=timeout, check=check,
                              stdin=subprocess.DEVNULL, **kw)

    def ssh_argv(self, node: int | str, command: str, user: str = "root") -> list[str]:
        ip = self._ip(node)
        self.check_address(ip)
        return self.ns_argv([
            "ssh", "-i", self.key, "-o", f"UserKnownHostsFile={self.known_hosts}",
            "-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes",
            "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR",
            f"{user}@{ip}", command])

    def ssh(self, node: int | str, command: str, check: bool = True, timeout: float = 300,
            user: str = "root", input: str | None = None) -> subprocess.CompletedProcess:
        """Run a shell command line on a node (1-based index, name or ip); ``input``: stdin."""
        stdin = {"input": input} if input is not None else {"stdin": subprocess.DEVNULL}
        p = subprocess.run(self.ssh_argv(node, command, user), timeout=timeout,
                           capture_output=True, text=True, **stdin)
        if check and p.returncode != 0:
            raise LabError(f"{node}: {command!r} exited {p.returncode}: {p.stderr.strip()}")
        return p

    def monitor(self, node: int | str, command: str, timeout: float = 10) -> str:
        """One QEMU HMP command on a node's monitor socket; returns its output."""
        import socket
        import time
        index = next(i for i, n in enumerate(self.nodes, 1) if n.ip == self._ip(node))
        path = self.dir / "nodes" / f"node{index}" / "monitor.sock"
        prompt = b"(qemu) "
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(path))
            deadline = time.monotonic() + timeout

            def until_prompt(buf: bytes) -> bytes:
                while not buf.endswith(prompt):
                    if time.monotonic() > deadline:
                        raise LabError(f"no monitor prompt from {path}")
                    chunk = sock.recv(4096)
                    if not chunk:
                        raise LabError(f"monitor {path} closed")
                    buf += chunk
                return buf

            until_prompt(b"")
            sock.sendall(command.encode() + b"\n")
            out = until_prompt(b"")
        return out[:-len(prompt)].decode("utf-8", "replace")

    def pause(self, node: int | str) -> None:
        """Freeze a VM (QEMU ``stop``): its TCP peers get no answer at all."""
        self.monitor(node, "stop")
        if "paused" not in self.monitor(node, "info status"):
            raise LabError(f"node {node} did not pause")

    def power_off(self, node: int | str, timeout: float = 120) -> None:
        """Pull the plug: QEMU ``quit`` (no guest shutdown), then wait until the
        recorded qemu process is gone. The node stays off until the next ``up``."""
        import time
        index = next(i for i, n in enumerate(self.nodes, 1) if n.ip == self._ip(node))
        try:
            self.monitor(node, "quit")
        except (LabError, OSError):
            pass  # the monitor closes as QEMU exits
        pidfile = self.dir / "nodes" / f"node{index}" / "qemu.pid"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                pid = int(pidfile.read_text().strip())
                alive = b"qemu-system" in Path(f"/proc/{pid}/cmdline").read_bytes()
            except (OSError, ValueError):
                alive = False
            if not alive:
                return
            time.sleep(1)
        raise LabError(f"node {node}: qemu still running {timeout:.0f} s after quit")

    def resume(self, node: int | str) -> None:
        self.monitor(node, "cont")
        if "running" not in self.monitor(node, "info status"):
            raise LabError(f"node {node} did not resume")

    def _ip(self, node: int | str) -> str:
        nodes = self.nodes
        if isinstance(node, int):
            return nodes[node - 1].ip
        for n in nodes:
            if node in (n.name, n.ip):
                return n.ip
        raise LabError(f"no node {node!r}")

    def _netns_exists(self) -> bool:
        ns = self.env.get("PYKETI_LAB_NETNS", "pyketilab")
        return os.path.exists(f"/run/netns/{ns}")

    def run_in_netns(self, fn, *args, timeout: float | None = None):
        """Call ``fn(*args)`` in a new thread that lives in the lab netns; return its result.

        E.g. ``lab.run_in_netns(asyncio.run, coro)``: the event loop, and every
        thread it starts (SshTransport's worker pool), connect from inside the lab.
        """
        box: dict = {}

        def target():
            try:
                with self.in_netns():
                    box["result"] = fn(*args)
            except BaseException as e:  # noqa: BLE001 - re-raised in the caller
                box["error"] = e

        t = threading.Thread(target=target, name="vmlab-netns", daemon=True)
        t.start()
        t.join(timeout)
        if t.is_alive():
            raise LabError(f"run_in_netns: {fn!r} still running after {timeout}s")
        if "error" in box:
            raise box["error"]
        return box.get("result")

    @contextlib.contextmanager
    def in_netns(self):
        """Run the *calling thread* (and threads it starts) inside the lab netns.

        Threads created inside inherit the namespace, so an SshTransport whose
        worker pool is created in this block connects from inside the lab.
        """
        libc = ctypes.CDLL(None, use_errno=True)
        if threading.current_thread() is threading.main_thread():
            raise LabError("in_netns() must not switch the main thread; use a worker thread")
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open(f"/run/netns/{self.netns}", os.O_RDONLY)
        try:
            if libc.setns(target, CLONE_NEWNET) != 0:
                raise LabError(f"setns failed: {os.strerror(ctypes.get_errno())}")
            try:
                yield
            finally:
                libc.setns(own, CLONE_NEWNET)
        finally:
            os.close(own)
            os.close(target)


def main(argv: list[str] | None = None) -> int:
    import argparse
    ap = argparse.ArgumentParser(description="pyketi VM lab")
    ap.add_argument("action", choices=["build", "up", "down", "status"])
    ap.add_argument("-n", type=int, default=3)
    a = ap.parse_args(argv)
    lab = VmLab()
    if a.action == "build":
        print(lab.build(), end="")
    elif a.action == "up":
        print(lab.up(a.n), end="")
    elif a.action == "down":
        print(lab.down(), end="")
    else:
        print(json.dumps(lab.info, indent=2) if lab.is_up() else "down")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
