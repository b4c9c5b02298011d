"""Fixtures: a real pyketi server (mock executor, subprocess; shared with
tests/cli) and a pyketi-csi driver serving it on a unix socket, with gRPC
stubs for its three services."""

from __future__ import annotations

import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

grpc = pytest.importorskip("grpc")

from csihelp import ADMIN_SECRET, add_nodes  # noqa: E402
from fakemount import FakeMounter  # noqa: E402
from pyketi.client import Client, RetryPolicy  # noqa: E402
from pyketi.csi.backend import RestConfig  # noqa: E402
from pyketi.csi.proto import csi_pb2_grpc as pbg  # noqa: E402
from pyketi.csi.server import DriverConfig, build  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
import server_process  # noqa: E402  (tests/cli: a real server in a subprocess)

server_factory = server_process.server_factory
server = server_process.server


@dataclass
class Driver:
    socket: str
    channel: grpc.Channel
    identity: pbg.IdentityStub
    controller: pbg.ControllerStub
    node: pbg.NodeStub
    mounter: FakeMounter
    rest: RestConfig


@pytest.fixture
def admin(server) -> Client:
    return Client(server.url, "admin", ADMIN_SECRET, timeout=30.0,
                  retry=RetryPolicy(attempts=20, min_delay=0.1, max_delay=0.3))


def _drivers():
    started = []

    def start(rest: RestConfig, mode: str = "all") -> Driver:
        tmp = tempfile.mkdtemp(prefix="csi", dir="/tmp")   # socket paths are short
        mounter = FakeMounter()
        srv, path = build(DriverConfig(endpoint=f"unix://{tmp}/csi.sock", mode=mode,
                                       node_id="node-a", rest=rest), mounter=mounter)
        channel = grpc.insecure_channel(f"unix://{path}")
        started.append((srv, channel, tmp))
        return Driver(path, channel, pbg.IdentityStub(channel), pbg.ControllerStub(channel),
                      pbg.NodeStub(channel), mounter, rest)

    def stop() -> None:
        for srv, channel, tmp in started:
            channel.close()
            srv.stop(None).wait()
            shutil.rmtree(tmp, ignore_errors=True)
    return start, stop


@pytest.fixture
def driver_factory():
    """``driver_factory(rest, mode="all")`` -> a running driver; all stopped at teardown."""
    start, stop = _drivers()
    yield start
    stop()


@pytest.fixture(scope="module")
def shared_driver(tmp_path_factory):
    """One server (3 nodes) and driver for a module's tests that leave no volume behind
    (refused requests): ``(driver, admin client)``."""
    srv = server_process.ServerProcess(tmp_path_factory.mktemp("shared-server")).start()
    start, stop = _drivers()
    try:
        admin = Client(srv.url, "admin", ADMIN_SECRET, timeout=30.0)
        add_nodes(admin)
        yield start(RestConfig(srv.url, "admin", ADMIN_SECRET, timeout=30.0)), admin
    finally:
        stop()
        srv.stop()


@pytest.fixture
def driver(server, admin, driver_factory) -> Driver:
    """A driver in mode ``all`` whose default server is ``server`` (3 nodes)."""
    add_nodes(admin)
    return driver_factory(RestConfig(server.url, "admin", ADMIN_SECRET, timeout=30.0))
