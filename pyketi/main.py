"""``pyketi`` command: ``serve``, ``db upgrade``, ``db export``, ``db import``, ``db check``."""

from __future__ import annotations

import argparse
import asyncio
import errno
import json
import logging
import os
import signal
import socket
import ssl
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from pyketi import __version__
from pyketi.config import Config, ConfigError, load_config, startup_warnings
from pyketi.logging_setup import LogOutput

if TYPE_CHECKING:
    from pyketi.config_reload import Reloader
    from pyketi.workers import Worker

log = logging.getLogger("pyketi")
LOG_OUTPUT = LogOutput()


def _open_db(cfg: Config, upgrade: bool = True):
    from pyketi.db.opening import open_database

    return open_database(cfg.database_url, upgrade)


def _tls_context(cfg: Config) -> ssl.SSLContext | None:
    """heketi's ``enable_tls``: HTTPS with ``cert_file``/``key_file``, checked before start."""
    if not cfg.enable_tls:
        return None
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        ctx.load_cert_chain(cfg.cert_file, cfg.key_file)
    except OSError as e:
        raise ConfigError(f"ERROR: unable to load TLS certificate {cfg.cert_file} and key "
                          f"{cfg.key_file}: {e.strerror or e}") from None
    except ssl.SSLError as e:
        raise ConfigError(f"ERROR: unable to load TLS certificate {cfg.cert_file} and key "
                          f"{cfg.key_file}: {e.reason or e}") from None
    return ctx


async def _listen(cfg: Config, runner: web.AppRunner,
                  tls: ssl.SSLContext | None) -> asyncio.AbstractServer:
    """The listening socket, each connection behind the slowloris guard (api/listener.py)."""
    from pyketi.api import listener

    limit = listener.connection_limit(cfg.max_connections, listener.raise_fd_limit())
    if limit < cfg.max_connections:
        log.warning("max_connections lowered from %d to %d to fit the file descriptor limit",
                    cfg.max_connections, limit)
    guard = listener.ConnectionGuard(limit, cfg.header_timeout_seconds)
    loop = asyncio.get_running_loop()
    listener.quiet_accept_errors(guard, loop)
    make_handler = runner.server
    assert make_handler is not None
    return await loop.create_server(
        lambda: listener.GuardedProtocol(guard, make_handler, tls), cfg.bind, cfg.port,
        reuse_address=True, backlog=512)


def _check_port(cfg: Config) -> None:
    """Port in use (or not ours to take): one line before anything starts."""
    try:
        infos = socket.getaddrinfo(cfg.bind, cfg.port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        raise ConfigError(f"ERROR: bind address {cfg.bind!r}: {e.strerror}") from None
    for family, kind, proto, _, address in infos[:1]:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as e:
                reason = ("port already in use (is heketi or another pyketi running?)"
                          if e.errno == errno.EADDRINUSE else e.strerror)
                raise ConfigError(f"ERROR: cannot listen on {cfg.bind}:{cfg.port}: "
                                  f"{reason}") from None


def _executor(cfg: Config):
    """The configured executor; its refusal (missing ssh key file, …) is one line."""
    from pyketi.executors.base import ExecutorError
    from pyketi.executors.factory import make_executor

    try:
        return make_executor(dict(cfg.glusterfs, executor=cfg.executor))
    except (ExecutorError, ValueError) as e:
        raise ConfigError(f"ERROR: {e}") from None


def _reload(cfg: Config, reloader: Reloader) -> None:
    """SIGHUP: reopen the log file, re-read the configuration file; the logging keys take
    effect at once, any other changed key is named as waiting for a restart."""
    log.debug("SIGHUP: reopening the log and re-reading %s", cfg.source or "(no file)")
    try:
        new, restart = reloader.reread()
    except ConfigError as e:
        log.error("SIGHUP: configuration not re-read, the running one stays: %s", e)
        return
    try:
        LOG_OUTPUT.apply(new.log_file, new.log_format, new.loglevel)
    except OSError as e:
        log.error("SIGHUP: unable to open log_file %s: %s", new.log_file, e.strerror)
        return
    cfg.loglevel, cfg.log_format, cfg.log_file = new.loglevel, new.log_format, new.log_file
    log.info("SIGHUP: log reopened, configuration re-read (log level %s)", new.loglevel)
    if restart:
        log.warning("SIGHUP: changed keys take effect after a restart: %s", ", ".join(restart))


async def _listen_shared(cfg: Config, runner: web.AppRunner, tls: ssl.SSLContext | None,
                         worker: Worker) -> list:
    """This worker's acceptors on the listening sockets its supervisor opened."""
    from pyketi.api import listener

    limit = listener.connection_limit(cfg.max_connections, listener.raise_fd_limit())
    if limit < cfg.max_connections and worker.index == 0:
        log.warning("max_connections lowered from %d to %d (per worker) to fit the file "
                    "descriptor limit", cfg.max_connections, limit)
    guard = listener.ConnectionGuard(limit, cfg.header_timeout_seconds)
    guard.on_count = lambda count: worker.shared.set_connections(worker.index, count)
    listener.quiet_accept_errors(guard, asyncio.get_running_loop())
    make_handler = runner.server
    assert make_handler is not None
    acceptors = [listener.SharedAcceptor(
        sock, lambda: listener.GuardedProtocol(guard, make_handler, tls),
        lambda: worker.shared.busier_than_another(worker.index), guard)
        for sock in worker.sockets]
    for acceptor in acceptors:
        acceptor.start()
    return acceptors


async def _serve(cfg: Config, tls: ssl.SSLContext | None = None,
                 reloader: Reloader | None = None, worker: Worker | None = None) -> None:
    """Serve until SIGTERM/SIGINT: alone (``worker`` None) or as one worker process of
    several (``workers``) on the sockets its supervisor opened."""
    from pyketi.api.app import build_app
    from pyketi.operations.runtime import Runtime

    executor = _executor(cfg)
    db = _open_db(cfg, upgrade=worker is None)  # a supervisor upgraded the schema already
    rt = Runtime(cfg, db, executor, worker.shared if worker is not None else None)
    await rt.start()
    app = build_app(rt)
    # lingering_time: after an early reply (408 slow body, 413) unread body bytes are
    # drained for 1 s at most (aiohttp: 10 s), so a slow body does not keep its slot
    runner = web.AppRunner(app, access_log=None, handle_signals=False,
                           keepalive_timeout=cfg.keepalive_timeout_seconds, lingering_time=1.0)
    await runner.setup()
    if worker is None:
        server = await _listen(cfg, runner, tls)
        print(f"Heketi-compatible pyketi {__version__}", flush=True)
        print(f"Listening on port {cfg.port}", flush=True)
    else:
        server = _Acceptors(await _listen_shared(cfg, runner, tls, worker))
        worker.shared.set_ready(worker.index)
        log.info("worker %d (pid %d) serving", worker.index, os.getpid())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGUSR2, lambda: setattr(rt, "admin_state", "normal"))
    if reloader is not None:
        loop.add_signal_handler(signal.SIGHUP, _reload, cfg, reloader)
    await stop.wait()
    log.info("shutting down: no new connections or changes accepted")
    server.close()  # stop accepting; open connections get 503 for changes while draining
    await rt.runner.drain(cfg.shutdown_timeout)
    await runner.cleanup()
    await rt.stop()
    db.dispose()


class _Acceptors:
    """A worker's acceptors, closed as one (like ``asyncio.Server.close``)."""

    def __init__(self, acceptors: list) -> None:
        self.acceptors = acceptors

    def close(self) -> None:
        for acceptor in self.acceptors:
            acceptor.close()


def cmd_serve(args: argparse.Namespace) -> int:
    from pyketi.config_reload import Reloader

    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # logrotate during start-up: not fatal
    cfg = load_config(args.config, disable_auth=args.disable_auth)
    reloader = Reloader(cfg)
    if args.port:
        cfg.port = args.port
    if args.bind:
        cfg.bind = args.bind
    if args.workers is not None:
        if not 1 <= args.workers <= 64:
            raise ConfigError("ERROR: --workers must be 1 to 64")
        cfg.workers = args.workers
    tls = _tls_context(cfg)
    _check_port(cfg)
    try:
        LOG_OUTPUT.apply(cfg.log_file, cfg.log_format, cfg.loglevel)
    except OSError as e:
        raise ConfigError(f"ERROR: unable to open log_file {cfg.log_file}: {e.strerror}") from None
    for warning in startup_warnings(cfg):
        log.warning("%s", warning)
    if cfg.workers > 1:
        from pyketi.workers import Supervisor

        _open_db(cfg).dispose()  # create/upgrade the schema once, before the workers open it
        return Supervisor(cfg, lambda worker: asyncio.run(_serve(cfg, tls, reloader, worker)),
                          LOG_OUTPUT).run()
    asyncio.run(_serve(cfg, tls, reloader))
    return 0


def _db_config(args: argparse.Namespace) -> Config:
    """Configuration of the ``db`` subcommands (no auth needed, URL may be overridden)."""
    cfg = load_config(args.config, disable_auth=True)
    if args.database_url:
        cfg.database_url = args.database_url
    return cfg


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from pyketi.db.migrate import current_revision

    db = _open_db(_db_config(args))
    print(f"database at revision {current_revision(db.engine)}")
    db.dispose()
    return 0


def cmd_db_export(args: argparse.Namespace) -> int:
    from pyketi.db.export import dump

    db = _open_db(_db_config(args))
    data = db.read_sync(dump)
    db.dispose()
    text = json.dumps(data, indent=4) + "\n"
    if data["pendingoperations"]:
        print(f"WARNING: the export holds {len(data['pendingoperations'])} pending "
              "operation(s); finish or clean them up in pyketi first (pyketi-cli server "
              "operations cleanup), heketi cannot undo the kinds it does not have",
              file=sys.stderr)
    if args.jsonfile == "-":
        sys.stdout.write(text)
        return 0
    from pyketi.db.files import UnsafePath, write_private_text

    try:
        write_private_text(args.jsonfile, text)
    except UnsafePath as e:
        raise ConfigError(f"ERROR: {e}") from None
    except OSError as e:
        raise ConfigError(f"ERROR: unable to write {args.jsonfile}: {e.strerror}") from None
    print(f"DB exported to {args.jsonfile}")
    return 0


def cmd_db_check(args: argparse.Namespace) -> int:
    """heketi's ``db consistency-check``: the ``GET /db/check`` report, offline."""
    from pyketi.db.check import check

    db = _open_db(_db_config(args))
    try:
        report = db.read_sync(check)
    finally:
        db.dispose()
    sys.stdout.write(json.dumps(report, indent=4) + "\n")
    problems = report["totalinconsistencies"]
    if problems:
        print(f"ERROR: {problems} inconsistencies in the database", file=sys.stderr)
        return 1
    return 0


def cmd_db_import(args: argparse.Namespace) -> int:
    from pyketi.db.boltdb import HOW_TO_MOVE, is_heketi_database
    from pyketi.db.export import ImportError_, load

    cfg = _db_config(args)
    if is_heketi_database(args.jsonfile):
        raise ConfigError(f"ERROR: {args.jsonfile} is heketi's database file, not its JSON "
                          f"export: {HOW_TO_MOVE}")
    try:
        data = json.loads(Path(args.jsonfile).read_text())
    except (OSError, ValueError) as e:
        raise ConfigError(f"ERROR: unable to read {args.jsonfile}: {e}") from e
    db = _open_db(cfg)
    try:
        counts = db.write_sync(lambda s: load(s, data))
    except (ImportError_, KeyError, TypeError, ValueError) as e:
        raise ConfigError(f"ERROR: import failed, nothing was written: {e}") from e
    finally:
        db.dispose()
    print("DB imported: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    return 0


def cmd_db_repair(args: argparse.Namespace) -> int:
    from pyketi.repair_command import run_repair

    cfg = _db_config(args)
    return run_repair(_open_db(cfg), cfg, args.apply, args.json)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pyketi", description="heketi-compatible GlusterFS "
                                "volume manager")
    p.add_argument("-v", "--version", action="version", version=f"pyketi {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the REST server")
    serve.add_argument("--config", help="heketi.json-format configuration file")
    serve.add_argument("--disable-auth", action="store_true", help="no JWT checks (as heketi)")
    serve.add_argument("--port", type=int, help="override the configured port")
    serve.add_argument("--bind", help="listen address (default 127.0.0.1 without config, "
                       "0.0.0.0 with one)")
    serve.add_argument("--workers", type=int, help="server processes sharing the port and "
                       "the database (overrides the config's workers)")
    serve.set_defaults(func=cmd_serve)
    db = sub.add_parser("db", help="database maintenance").add_subparsers(dest="db_command",
                                                                         required=True)
    for name, func, helptext in (("upgrade", cmd_db_upgrade, "create/upgrade the schema"),
                                 ("export", cmd_db_export, "write heketi's JSON export"),
                                 ("import", cmd_db_import, "load a heketi JSON export"),
                                 ("check", cmd_db_check, "check the database's consistency "
                                  "(exit 1 if it finds a problem)")):
        sp = db.add_parser(name, help=helptext)
        sp.add_argument("--config")
        sp.add_argument("--database-url", help="SQLAlchemy URL (overrides the config)")
        if name in ("export", "import"):
            sp.add_argument("--jsonfile", required=True)
        sp.set_defaults(func=func)
    sp = db.add_parser("repair", help="compare the database with gluster, LVM, mounts and "
                       "fstab on the nodes; list (--dry-run) or take (--apply) the repairs")
    sp.add_argument("--config")
    sp.add_argument("--database-url", help="SQLAlchemy URL (overrides the config)")
    mode = sp.add_mutually_exclusive_group(required=True)
    mode.add_argument("--dry-run", action="store_true", help="list differences and actions")
    mode.add_argument("--apply", action="store_true", help="take the actions")
    sp.add_argument("--json", action="store_true", help="machine-readable output")
    sp.set_defaults(func=cmd_db_repair)
    return p


def main(argv: list[str] | None = None) -> int:
    LOG_OUTPUT.start()
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as e:
        print(str(e), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
