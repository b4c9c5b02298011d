"""``pyketi-csi``: the CSI driver's command line.

    pyketi-csi --endpoint unix:///csi/csi.sock --mode controller \\
        --rest-url http://pyketi:8080 --rest-user admin --rest-key-file /etc/pyketi/key

Flags win over the environment (``CSI_ENDPOINT``, ``PYKETI_CSI_REST_URL``,
``PYKETI_CSI_REST_USER``, ``PYKETI_CSI_REST_KEY``, ``PYKETI_CSI_NODE_ID``).
The key is read from a file or the environment, never from the command
line (where ``ps`` would show it).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import threading

from pyketi.csi.backend import RestConfig
from pyketi.csi.identity import DRIVER_NAME
from pyketi.csi.reqlog import log, setup
from pyketi.csi.server import MODES, ConfigError, DriverConfig, build

GRACE_SECONDS = 5.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    env = os.environ
    p = argparse.ArgumentParser(prog="pyketi-csi", description=__doc__.split("\n")[0])
    p.add_argument("--endpoint", default=env.get("CSI_ENDPOINT", "unix:///csi/csi.sock"))
    p.add_argument("--mode", choices=MODES, default="all")
    p.add_argument("--node-id", default=env.get("PYKETI_CSI_NODE_ID") or socket.gethostname())
    p.add_argument("--rest-url", default=env.get("PYKETI_CSI_REST_URL", ""))
    p.add_argument("--rest-user", default=env.get("PYKETI_CSI_REST_USER", "admin"))
    p.add_argument("--rest-key-file", default="",
                   help="file holding the user's key (default: $PYKETI_CSI_REST_KEY)")
    p.add_argument("--rest-timeout", type=float, default=30.0)
    p.add_argument("--driver-name", default=DRIVER_NAME)
    p.add_argument("--log-level", default="INFO",
                   choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    return p.parse_args(argv)


def _key(args: argparse.Namespace) -> str:
    if args.rest_key_file:
        try:
            with open(args.rest_key_file, encoding="utf-8") as f:
                return f.read().strip()
        except OSError as err:
            raise ConfigError(f"--rest-key-file: {err.strerror}: "
                              f"{args.rest_key_file}") from None
    return os.environ.get("PYKETI_CSI_REST_KEY", "")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup(args.log_level)
    try:
        cfg = DriverConfig(endpoint=args.endpoint, mode=args.mode, node_id=args.node_id,
                           rest=RestConfig(args.rest_url, args.rest_user, _key(args),
                                           args.rest_timeout),
                           driver_name=args.driver_name)
        server, path = build(cfg)
    except ConfigError as err:
        print(f"pyketi-csi: {err}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    log.info("pyketi-csi %s serving %s mode on %s (node %s, server %s)", cfg.driver_name,
             cfg.mode, path, cfg.node_id, cfg.rest.url or "from StorageClass")
    while not stop.wait(1.0):
        pass
    log.info("stopping")
    server.stop(GRACE_SECONDS).wait()
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
