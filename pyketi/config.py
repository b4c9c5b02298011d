"""Server configuration: heketi's ``heketi.json`` read unchanged, plus pyketi keys.

Mirrors ``server/config/config.go`` and ``apps/glusterfs/app_config.go``:
unknown keys are ignored (one warning lists them), a type mismatch is an error,
heketi's environment overrides apply.  A heketi key pyketi cannot honour is refused
(``backup_db_to_kube_secret``, the kubernetes executor) or named once at start as having no
effect.  Every key, heketi's and pyketi's own, is described in ``docs/configuration.md``
(a test keeps it in step with the tables below).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from pyketi.logging_setup import FORMATS, LEVELS

log = logging.getLogger("pyketi.config")


class ConfigError(Exception):
    pass


# key -> expected python type(s) for the glusterfs section
_GLUSTERFS_KEYS: dict[str, tuple[type, ...]] = {
    "db": (str,), "db_read_only": (bool,), "executor": (str,), "allocator": (str,),
    "loglevel": (str,), "brick_max_size_gb": (int,), "brick_min_size_gb": (int,),
    "max_bricks_per_volume": (int,), "average_file_size_kb": (int,),
    "pre_request_volume_options": (str,), "post_request_volume_options": (str,),
    "zone_checking": (str,), "max_volumes_per_cluster": (int,),
    "auto_create_block_hosting_volume": (bool,), "block_hosting_volume_size": (int,),
    "block_hosting_volume_options": (str,), "disable_monitor_gluster_nodes": (bool,),
    "refresh_time_monitor_gluster_nodes": (int,), "start_time_monitor_gluster_nodes": (int,),
    "max_inflight_operations": (int,), "disable_background_cleaner": (bool,),
    "refresh_time_background_cleaner": (int,), "start_time_background_cleaner": (int,),
    "operation_retry_limits": (dict,), "sshexec": (dict,), "kubeexec": (dict,),
    "injectexec": (dict,), "mockexec": (dict,), "database_url": (str,),
    "gid_range": (dict,), "operation_lease_seconds": (int,),
    "job_retention_seconds": (int,),
    "node_unreachable_seconds": (int, float),
}
_TOP_KEYS: dict[str, tuple[type, ...]] = {
    "port": (str,), "use_auth": (bool,), "jwt": (dict,), "backup_db_to_kube_secret": (bool,),
    "enable_tls": (bool,), "cert_file": (str,), "key_file": (str,), "profiling": (bool,),
    "default_state": (str,), "glusterfs": (dict,), "database_url": (str,), "bind": (str,),
    "max_connections": (int,), "header_timeout_seconds": (int, float),
    "keepalive_timeout_seconds": (int, float), "metrics_require_admin": (bool,),
    "log_format": (str,), "log_file": (str,),
    "shutdown_timeout": (int, float), "audit_retention_days": (int, float),
    "workers": (int,),
}
# heketi keys pyketi accepts without acting on them: named in one warning at start when the
# value asks for something (key -> (asks for it?, why nothing happens))
_NO_EFFECT: dict[str, tuple[Callable[[Any], bool], str]] = {
    "profiling": (lambda v: v is True, "no Go profiler"),
    "glusterfs.allocator": (lambda v: True, "unused, as in heketi"),
    "glusterfs.auto_create_block_hosting_volume": (lambda v: v is True, "no block volumes"),
    "glusterfs.block_hosting_volume_size": (lambda v: True, "no block volumes"),
    "glusterfs.block_hosting_volume_options": (lambda v: True, "no block volumes"),
    "glusterfs.disable_monitor_gluster_nodes": (
        lambda v: v is False, "no periodic node monitor; see node_unreachable_seconds"),
    "glusterfs.refresh_time_monitor_gluster_nodes": (lambda v: True, "no periodic node monitor"),
    "glusterfs.start_time_monitor_gluster_nodes": (lambda v: True, "no periodic node monitor"),
    "glusterfs.kubeexec": (lambda v: True, "the kubernetes executor is not supported"),
}
KUBE_EXECUTORS = ("kube", "kubernetes")


def known_keys() -> dict[str, tuple[type, ...]]:
    """Every key the loader reads, dotted (``glusterfs.zone_checking``), with its types."""
    keys = dict(_TOP_KEYS)
    keys.update({f"glusterfs.{k}": v for k, v in _GLUSTERFS_KEYS.items()})
    return keys


@dataclass
class Config:
    port: int = 8080
    bind: str = "127.0.0.1"
    admin_key: str = ""
    user_key: str = ""
    auth: bool = True
    default_state: str = "normal"
    database_url: str = ""
    executor: str = "mock"
    brick_max_size_gb: int = 4096
    brick_min_size_gb: int = 1
    max_bricks_per_volume: int = 32
    average_file_size_kb: int = 64
    pre_request_volume_options: str = ""
    post_request_volume_options: str = ""
    zone_checking: str = "none"
    max_volumes_per_cluster: int = 1000
    max_inflight_operations: int = 8
    volume_create_retries: int = 4
    disable_background_cleaner: bool = False
    start_time_background_cleaner: int = 1
    refresh_time_background_cleaner: int = 3600
    operation_lease_seconds: int = 15
    rebalance_on_expansion: bool = True
    jwt_iat_leeway: int = 120
    jwt_max_token_lifetime: int = 3600  # seconds from iat (or now) to exp
    gid_min: int = 0
    gid_max: int = 0
    job_retention_seconds: int = 24 * 3600  # finished /queue entries nobody polled
    glusterfs: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    use_auth: bool | None = None  # heketi.json's use_auth, ignored as heketi >= v10 does
    enable_tls: bool = False
    cert_file: str = ""
    key_file: str = ""
    max_connections: int = 1024
    header_timeout_seconds: float = 10.0
    keepalive_timeout_seconds: float = 75.0
    metrics_require_admin: bool = False
    loglevel: str = "info"  # glusterfs.loglevel: heketi's level names (logging_setup.LEVELS)
    log_format: str = "text"
    log_file: str = ""  # "": stderr
    no_effect: list[str] = field(default_factory=list)  # heketi keys set that do nothing here
    shutdown_timeout: float = 60.0  # SIGTERM: seconds running operations may finish
    audit_retention_days: float = 90.0  # audit records older than this are purged; 0 = keep
    workers: int = 1  # server processes sharing the port and the database (pyketi/workers.py)

    @property
    def gid_allocation(self) -> bool:
        return self.gid_min > 0 and self.gid_max >= self.gid_min


def _check_types(section: dict, schema: dict, where: str) -> list[str]:
    unknown = []
    for key, value in section.items():
        types = schema.get(key)
        if types is None:
            unknown.append(f"{where}{key}")
            continue
        ok = isinstance(value, types) and not (bool in (type(value),) and bool not in types)
        if not ok:
            raise ConfigError(
                f"Unable to parse configuration: {where}{key}: expected "
                f"{'/'.join(t.__name__ for t in types)}, got {type(value).__name__}")
    return unknown


def load_config(path: str | None, disable_auth: bool = False,
                env: dict[str, str] | None = None) -> Config:
    env = dict(os.environ if env is None else env)
    raw: dict[str, Any] = {}
    if path:
        try:
            raw = json.loads(Path(path).read_text())
        except OSError as e:
            raise ConfigError(f"Unable to open config file {path}: {e.strerror}") from e
        except json.JSONDecodeError as e:
            raise ConfigError(f"Unable to parse configuration: {e}") from e
        if not isinstance(raw, dict):
            raise ConfigError("Unable to parse configuration: top level must be an object")
    unknown = _check_types(raw, _TOP_KEYS, "")
    gfs = raw.get("glusterfs") or {}
    unknown += _check_types(gfs, _GLUSTERFS_KEYS, "glusterfs.")
    if unknown:
        log.warning("ignoring unknown configuration keys: %s", ", ".join(sorted(unknown)))

    cfg = Config(glusterfs=dict(gfs), source=path or "")
    if "port" in raw:
        cfg.port = _int(raw["port"], "port")
    cfg.bind = raw.get("bind", cfg.bind if not path else "0.0.0.0")
    jwt = raw.get("jwt") or {}
    cfg.admin_key = ((jwt.get("admin") or {}).get("key")) or ""
    cfg.user_key = ((jwt.get("user") or {}).get("key")) or ""
    if "max_token_lifetime" in jwt:
        lifetime = jwt["max_token_lifetime"]
        if not isinstance(lifetime, int) or isinstance(lifetime, bool):
            raise ConfigError("Unable to parse configuration: jwt.max_token_lifetime: "
                              f"expected int, got {type(lifetime).__name__}")
        cfg.jwt_max_token_lifetime = lifetime
    cfg.default_state = raw.get("default_state", "normal")
    for key in ("use_auth", "enable_tls", "cert_file", "key_file", "max_connections",
                "header_timeout_seconds", "keepalive_timeout_seconds", "metrics_require_admin",
                "shutdown_timeout", "audit_retention_days", "workers"):
        if key in raw:
            setattr(cfg, key, raw[key])
    for key in ("brick_max_size_gb", "brick_min_size_gb", "max_bricks_per_volume",
                "average_file_size_kb", "pre_request_volume_options",
                "post_request_volume_options", "zone_checking", "max_volumes_per_cluster",
                "max_inflight_operations", "disable_background_cleaner",
                "refresh_time_background_cleaner", "start_time_background_cleaner",
                "operation_lease_seconds", "job_retention_seconds"):
        if key in gfs:
            setattr(cfg, key, gfs[key])
    cfg.executor = gfs.get("executor") or ("ssh" if path and "glusterfs" in raw else "mock")
    _read_logging_and_unsupported(cfg, raw, gfs, env)
    retries = (gfs.get("operation_retry_limits") or {}).get("volume_create")
    if isinstance(retries, int):
        cfg.volume_create_retries = retries
    gid_range = gfs.get("gid_range") or {}
    cfg.gid_min = int(gid_range.get("min", 0) or 0)
    cfg.gid_max = int(gid_range.get("max", 0) or 0)

    db_url = raw.get("database_url") or gfs.get("database_url")
    if not db_url:
        db_file = gfs.get("db")
        if db_file:
            db_path = Path(db_file)
        else:
            base = Path(path).resolve().parent if path else Path.cwd()
            db_path = base / "pyketi.db"
        db_url = f"sqlite:///{db_path.resolve() if not db_path.is_absolute() else db_path}"
    cfg.database_url = db_url

    _apply_env(cfg, env)
    if gfs.get("db_read_only") is True:  # heketi opens the database read-only: no writes
        cfg.default_state = "read-only"
    cfg.auth = not disable_auth
    _validate(cfg)
    return cfg


def _read_logging_and_unsupported(cfg: Config, raw: dict, gfs: dict,
                                  env: dict[str, str]) -> None:
    cfg.loglevel = env.get("HEKETI_GLUSTERAPP_LOGLEVEL") or gfs.get("loglevel") or "info"
    cfg.log_format = raw.get("log_format") or "text"
    cfg.log_file = raw.get("log_file") or ""
    if raw.get("backup_db_to_kube_secret") is True or env.get("HEKETI_BACKUP_DB_TO_KUBE_SECRET"):
        raise ConfigError(
            "ERROR: backup_db_to_kube_secret is not supported: pyketi writes no Kubernetes "
            "secret; keep the database on PostgreSQL or a persistent volume and copy it with "
            "GET /backup/db (remove the key or set it to false)")
    for key, (asks, why) in _NO_EFFECT.items():
        section, _, name = key.rpartition(".")
        where = gfs if section else raw
        if name in where and asks(where[name]):
            cfg.no_effect.append(f"{key} ({why})")


def _int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"Unable to parse configuration: {name}: not a number: {value!r}") from None


def _apply_env(cfg: Config, env: dict[str, str]) -> None:
    if env.get("HEKETI_HTTP_PORT"):
        cfg.port = _int(env["HEKETI_HTTP_PORT"], "HEKETI_HTTP_PORT")
    if env.get("HEKETI_ADMIN_KEY"):
        cfg.admin_key = env["HEKETI_ADMIN_KEY"]
    if env.get("HEKETI_USER_KEY"):
        cfg.user_key = env["HEKETI_USER_KEY"]
    if env.get("HEKETI_EXECUTOR"):
        cfg.executor = env["HEKETI_EXECUTOR"]
    if env.get("HEKETI_DB_PATH"):
        cfg.database_url = f"sqlite:///{Path(env['HEKETI_DB_PATH']).resolve()}"
    if env.get("PYKETI_DATABASE_URL"):
        cfg.database_url = env["PYKETI_DATABASE_URL"]
    if env.get("HEKETI_DEFAULT_STATE"):
        cfg.default_state = env["HEKETI_DEFAULT_STATE"]
    for key, attr in (("HEKETI_PRE_REQUEST_VOLUME_OPTIONS", "pre_request_volume_options"),
                      ("HEKETI_POST_REQUEST_VOLUME_OPTIONS", "post_request_volume_options"),
                      ("HEKETI_ZONE_CHECKING", "zone_checking")):
        if env.get(key):
            setattr(cfg, attr, env[key])
    if env.get("HEKETI_MAX_INFLIGHT_OPERATIONS"):
        cfg.max_inflight_operations = _int(env["HEKETI_MAX_INFLIGHT_OPERATIONS"],
                                           "HEKETI_MAX_INFLIGHT_OPERATIONS")
    if env.get("HEKETI_GLUSTER_MAX_VOLUMES_PER_CLUSTER"):
        cfg.max_volumes_per_cluster = _int(env["HEKETI_GLUSTER_MAX_VOLUMES_PER_CLUSTER"],
                                           "HEKETI_GLUSTER_MAX_VOLUMES_PER_CLUSTER")
    if env.get("HEKETI_DISABLE_BACKGROUND_CLEANER", "").lower() == "true":
        cfg.disable_background_cleaner = True
    if env.get("HEKETI_GLUSTERAPP_REBALANCE_ON_EXPANSION", "").lower() == "false":
        cfg.rebalance_on_expansion = False
    if env.get("HEKETI_JWT_IAT_LEEWAY_SECONDS"):
        cfg.jwt_iat_leeway = _int(env["HEKETI_JWT_IAT_LEEWAY_SECONDS"],
                                  "HEKETI_JWT_IAT_LEEWAY_SECONDS")


def _validate(cfg: Config) -> None:
    if cfg.executor in KUBE_EXECUTORS:
        raise ConfigError(f"ERROR: glusterfs.executor: {cfg.executor} is not supported: use ssh")
    if cfg.loglevel not in LEVELS:
        raise ConfigError(f"ERROR: glusterfs.loglevel: invalid log level {cfg.loglevel!r} "
                          f"({'|'.join(LEVELS)})")
    if cfg.log_format not in FORMATS:
        raise ConfigError(f"ERROR: log_format: {cfg.log_format!r} is not one of "
                          f"{'|'.join(FORMATS)}")
    if cfg.auth and not (cfg.admin_key and cfg.user_key):
        raise ConfigError(
            "ERROR: Missing JWT information in config file: authentication is on, so both "
            "jwt.admin.key and jwt.user.key must be set (in the config file or with "
            "HEKETI_ADMIN_KEY and HEKETI_USER_KEY), or start with --disable-auth")
    if cfg.zone_checking not in ("none", "strict"):
        raise ConfigError(f"Invalid zone_checking value: {cfg.zone_checking!r} (none|strict)")
    if cfg.default_state not in ("normal", "read-only", "local-client"):
        raise ConfigError(f"Invalid default_state: {cfg.default_state!r}")
    if not 0 < cfg.port < 65536:
        raise ConfigError(f"Invalid port: {cfg.port}")
    if not 1 <= cfg.workers <= 64:
        raise ConfigError("workers must be 1 to 64")
    if cfg.max_inflight_operations < 1:
        raise ConfigError("max_inflight_operations must be at least 1")
    if cfg.brick_min_size_gb < 1 or cfg.brick_max_size_gb < cfg.brick_min_size_gb:
        raise ConfigError("brick_min_size_gb must be >= 1 and <= brick_max_size_gb")
    if cfg.jwt_max_token_lifetime < 1:
        raise ConfigError("jwt.max_token_lifetime must be at least 1 (seconds)")
    if cfg.job_retention_seconds < 1:
        raise ConfigError("glusterfs.job_retention_seconds must be at least 1")
    _validate_listener(cfg)
    for key in ("shutdown_timeout", "audit_retention_days"):
        if getattr(cfg, key) < 0:
            raise ConfigError(f"{key} must be 0 or more")
    if cfg.gid_min or cfg.gid_max:
        if not (0 < cfg.gid_min <= cfg.gid_max < 2**31 - 1):
            raise ConfigError("glusterfs.gid_range must have 0 < min <= max < 2147483647")


def _validate_listener(cfg: Config) -> None:
    if cfg.max_connections < 1:
        raise ConfigError("max_connections must be at least 1")
    for key in ("header_timeout_seconds", "keepalive_timeout_seconds"):
        if not 0 < getattr(cfg, key) <= 86400:
            raise ConfigError(f"{key} must be more than 0 and at most 86400")
    if cfg.enable_tls and not (cfg.cert_file and cfg.key_file):
        raise ConfigError("ERROR: enable_tls is true but cert_file and key_file are not both set")


MIN_JWT_KEY_BYTES = 32


def startup_warnings(cfg: Config) -> list[str]:
    """What ``serve`` must say once at start about a risky configuration (never a key)."""
    warnings = []
    if not cfg.auth:
        where = ("reachable only from this host" if cfg.bind in ("127.0.0.1", "::1", "localhost")
                 else "reachable from the network")
        warnings.append(
            f"AUTHENTICATION IS DISABLED (--disable-auth): anyone who can connect to "
            f"{cfg.bind}:{cfg.port} ({where}) may call every route as admin, including "
            f"/db/dump, /backup/db and POST /admin")
    if cfg.no_effect:
        warnings.append("these heketi.json keys have no effect in pyketi: "
                        + ", ".join(cfg.no_effect))
    if cfg.use_auth is False and cfg.auth:
        warnings.append("use_auth: false is ignored (as heketi does since v10): authentication "
                        "stays on; start with --disable-auth to turn it off")
    if cfg.auth:
        for name, key in (("jwt.admin.key", cfg.admin_key), ("jwt.user.key", cfg.user_key)):
            if len(key.encode()) < MIN_JWT_KEY_BYTES:
                warnings.append(f"{name} is shorter than {MIN_JWT_KEY_BYTES} bytes: a short "
                                f"HMAC key can be guessed; use a random key of at least "
                                f"{MIN_JWT_KEY_BYTES} bytes")
    return warnings
