"""SIGHUP: read the configuration file again and say what changed.

The logging keys (``glusterfs.loglevel``, ``log_format``, ``log_file``) are applied by
the caller at once; every other key the running server took at start, so a change to
one is named as waiting for a restart rather than silently dropped.
"""

from __future__ import annotations

import dataclasses

from pyketi.config import Config, known_keys, load_config

LIVE = frozenset({"loglevel", "log_format", "log_file"})
_NOT_KEYS = frozenset({"source", "no_effect", "glusterfs", "auth"})
# Config fields that are not named like their key
_KEY_OF = {"admin_key": "jwt.admin.key", "user_key": "jwt.user.key",
           "volume_create_retries": "glusterfs.operation_retry_limits",
           "gid_min": "glusterfs.gid_range", "gid_max": "glusterfs.gid_range",
           "rebalance_on_expansion": "HEKETI_GLUSTERAPP_REBALANCE_ON_EXPANSION",
           "jwt_iat_leeway": "HEKETI_JWT_IAT_LEEWAY_SECONDS"}


def _key(field_name: str) -> str:
    if field_name in _KEY_OF:
        return _KEY_OF[field_name]
    return f"glusterfs.{field_name}" if f"glusterfs.{field_name}" in known_keys() else field_name


class Reloader:
    """Holds the configuration as the file gave it (before command-line overrides)."""

    def __init__(self, loaded: Config) -> None:
        self.loaded = dataclasses.replace(loaded)

    def reread(self) -> tuple[Config, list[str]]:
        """The file's configuration now, and the changed keys that need a restart.
        Raises ConfigError (the file is unreadable or invalid): nothing changes then."""
        old = self.loaded
        new = load_config(old.source or None, disable_auth=not old.auth)
        restart = {_key(f.name) for f in dataclasses.fields(Config)
                   if f.name not in LIVE | _NOT_KEYS
                   and getattr(new, f.name) != getattr(old, f.name)}
        restart |= {f"glusterfs.{key}" for key in set(new.glusterfs) | set(old.glusterfs)
                    if new.glusterfs.get(key) != old.glusterfs.get(key)
                    and key not in LIVE and not hasattr(Config, key)}
        self.loaded = new
        return new, sorted(restart)
