"""The gRPC server: Identity plus Controller and/or Node on one unix socket."""

from __future__ import annotations

import os
import socket
import stat
from concurrent import futures
from dataclasses import dataclass, field

import grpc

from pyketi.client import PyketiError
from pyketi.csi.backend import RestConfig, open_client
from pyketi.csi.controller import ControllerService
from pyketi.csi.identity import DRIVER_NAME, IdentityService
from pyketi.csi.mounter import Mounter, SystemMounter, missing_tools
from pyketi.csi.node import NodeService
from pyketi.csi.proto import csi_pb2_grpc as pbg

MODES = ("controller", "node", "all")
WORKERS = 16
SOCKET_MODE = 0o660


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class DriverConfig:
    endpoint: str
    mode: str = "all"
    node_id: str = field(default_factory=socket.gethostname)
    rest: RestConfig = RestConfig()
    driver_name: str = DRIVER_NAME


def socket_path(endpoint: str) -> str:
    """``unix:///abs/path.sock`` (or ``unix:/abs/path.sock``) -> the path."""
    if not endpoint.startswith("unix:"):
        raise ConfigError(f"endpoint {endpoint!r}: only unix:///path sockets are supported")
    path = endpoint[len("unix:"):]
    if path.startswith("//"):
        path = path[2:]
    if not os.path.isabs(path):
        raise ConfigError(f"endpoint {endpoint!r}: the socket path must be absolute")
    return path


def _check_config(cfg: DriverConfig) -> None:
    if cfg.mode not in MODES:
        raise ConfigError(f"mode {cfg.mode!r}: expected one of {', '.join(MODES)}")
    if cfg.mode in ("node", "all") and not cfg.node_id:
        raise ConfigError("node mode needs --node-id")
    if cfg.rest.url:
        try:
            open_client(cfg.rest)
        except PyketiError as err:
            raise ConfigError(f"--rest-url: {err.message}") from None


def _server_check(rest: RestConfig):
    def check() -> str:
        if not rest.url:
            return ""                    # every StorageClass names its resturl
        try:
            open_client(rest).hello()
        except PyketiError as err:
            return f"pyketi server {rest.url} does not answer: {err.message}"
        return ""
    return check


def build(cfg: DriverConfig, mounter: Mounter | None = None) -> tuple[grpc.Server, str]:
    """A started server and its socket path; the caller stops it."""
    _check_config(cfg)
    path = socket_path(cfg.endpoint)
    if os.path.lexists(path):
        if not stat.S_ISSOCK(os.lstat(path).st_mode):
            raise ConfigError(f"{path} exists and is not a socket")
        os.unlink(path)                  # left over by a previous run
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=WORKERS))
    checks = []
    if cfg.mode in ("controller", "all"):
        pbg.add_ControllerServicer_to_server(ControllerService(cfg.rest), server)
        checks.append(_server_check(cfg.rest))
    if cfg.mode in ("node", "all"):
        if mounter is None:
            mounter = SystemMounter()
            checks.append(missing_tools)
        pbg.add_NodeServicer_to_server(NodeService(cfg.node_id, mounter), server)
    pbg.add_IdentityServicer_to_server(IdentityService(cfg.mode, checks, cfg.driver_name),
                                       server)
    if server.add_insecure_port(f"unix://{path}") == 0:
        raise ConfigError(f"cannot listen on {path}")
    server.start()
    os.chmod(path, SOCKET_MODE)          # the socket's permissions are its only protection
    return server, path
