"""Executor settings shared by the command-building executors.

Mirrors heketi ``executors/cmdexec/config.go`` (``CmdConfig``) plus the
defaults applied in ``executors/sshexec/sshexec.go`` / ``kubeexec.go`` and the
forced ``rebalance_on_expansion`` of ``apps/glusterfs/app.go: setup``.  The
pyketi-only keys are the batch timeouts (seconds).

Every value that ends up on a node command line is checked here, once, so a
bad ``heketi.json`` fails at startup instead of on a node.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, fields
from typing import Any, Mapping

from pyketi.executors.base import ExecutorError
from pyketi.executors import validate as V

_DEFAULTS_IF_EMPTY = {
    # heketi replaces "" / 0 by the default for these keys
    "fstab": "/etc/fstab",
    "mountopts": "rw,inode64,noatime,nouuid",
    "pv_data_alignment": "256K",
    "vg_physicalextentsize": "4M",
    "lv_chunksize": "256K",
    "gluster_cli_timeout": 600,
    "block_prealloc": "full",
}


@dataclass(frozen=True)
class ExecConfig:
    """Settings of ``sshexec`` / ``kubeexec`` that shape node commands."""

    fstab: str = "/etc/fstab"
    mountopts: str = "rw,inode64,noatime,nouuid"
    sudo: bool = False  # honoured by the transport (SshTransport), not here
    snapshot_limit: int = 0
    rebalance_on_expansion: bool = True
    backup_lvm_metadata: bool = False
    gluster_cli_timeout: int = 600
    pv_data_alignment: str = "256K"
    vg_physicalextentsize: str = "4M"
    lv_chunksize: str = "256K"
    xfs_sw: int = 0
    xfs_su: int = 0
    lvm_wrapper: str = ""
    debug_umount_failures: bool = False
    block_prealloc: str = "full"
    # pyketi: per-batch timeouts in seconds (heketi: minutes, hard-coded)
    gluster_timeout: float | None = None  # None: heketi's max(10, 1+(cli+1)//60) minutes
    lvm_timeout: float = 300.0
    brick_create_timeout: float = 600.0
    glusterd_check_timeout: float = 600.0

    def __post_init__(self) -> None:
        V.check_path(self.fstab, "fstab")
        V.check_mount_options(self.mountopts)
        for name in ("pv_data_alignment", "vg_physicalextentsize", "lv_chunksize"):
            V.check_lvm_size(getattr(self, name), name)
        for name in ("snapshot_limit", "xfs_sw", "xfs_su"):
            V.check_int(getattr(self, name), name, minimum=0)
        V.check_int(self.gluster_cli_timeout, "gluster_cli_timeout", minimum=1)
        for token in self.lvm_wrapper_argv:
            V.check_wrapper_token(token)
        V.check_word(self.block_prealloc, "block_prealloc")

    # -- derived values ---------------------------------------------------
    @property
    def lvm_wrapper_argv(self) -> tuple[str, ...]:
        try:
            return tuple(shlex.split(self.lvm_wrapper))
        except ValueError as exc:
            raise ExecutorError(f"invalid lvm_wrapper {self.lvm_wrapper!r}: {exc}") from None

    @property
    def autobackup(self) -> str:
        """``--autobackup=`` value (heketi ``conv.BoolToYN(BackupLVM)``)."""
        return "y" if self.backup_lvm_metadata else "n"

    @property
    def gluster_batch_timeout(self) -> float:
        """heketi ``GlusterCliExecTimeout``: max(10, 1 + (cli_timeout+1)/60) minutes."""
        if self.gluster_timeout is not None:
            return float(self.gluster_timeout)
        return 60.0 * max(10, 1 + (self.gluster_cli_timeout + 1) // 60)

    # -- construction from heketi.json ------------------------------------
    @classmethod
    def from_heketi(cls, section: Mapping[str, Any] | None,
                    env: Mapping[str, str] | None = None) -> "ExecConfig":
        """Build from a heketi ``sshexec`` / ``kubeexec`` object.

        Unknown keys (``keyfile``, ``user``, ``_comment``...) are ignored; a
        value of the wrong JSON type raises ``ValueError`` like heketi's
        startup (``Unable to parse configuration``).  ``rebalance_on_expansion``
        is forced true as heketi does; only ``env`` (when given)
        ``HEKETI_GLUSTERAPP_REBALANCE_ON_EXPANSION=false`` turns it off.
        ``env`` also applies heketi's other executor overrides.
        """
        section = dict(section or {})
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in section or f.name == "rebalance_on_expansion":
                continue
            values[f.name] = _typed(f.name, section[f.name], f.default)
        for key, default in _DEFAULTS_IF_EMPTY.items():
            if key in values and values[key] in ("", 0):
                values[key] = default
        if env is not None:
            values.update(_env_overrides(env))
        try:
            return cls(**values)
        except ExecutorError as exc:
            raise ValueError(f"Unable to parse configuration: {exc}") from None


def _typed(name: str, value: Any, default: Any) -> Any:
    """Type check like Go's json.Decoder into the CmdConfig struct."""
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, str):
        ok = isinstance(value, str)
    else:  # float | None timeouts
        ok = value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))
    if not ok:
        raise ValueError(f"Unable to parse configuration: {name}: "
                         f"cannot use {value!r} ({type(value).__name__})")
    return value


def _env_overrides(env: Mapping[str, str]) -> dict[str, Any]:
    """heketi's executor environment overrides (sshexec.go setWithEnvVariables)."""
    out: dict[str, Any] = {}
    simple = {"HEKETI_FSTAB": "fstab", "HEKETI_MOUNT_OPTS": "mountopts",
              "HEKETI_LVM_WRAPPER": "lvm_wrapper",
              "HEKETI_BLOCK_VOLUME_DEFAULT_PREALLOC": "block_prealloc"}
    for var, key in simple.items():
        if env.get(var):
            out[key] = env[var]
    for var, key in (("HEKETI_SNAPSHOT_LIMIT", "snapshot_limit"),
                     ("HEKETI_GLUSTER_CLI_TIMEOUT", "gluster_cli_timeout")):
        if env.get(var):
            try:
                out[key] = int(env[var])
            except ValueError:
                raise ValueError(f"Unable to parse {var}={env[var]!r}") from None
    if env.get("HEKETI_DEBUG_UMOUNT_FAILURES"):
        out["debug_umount_failures"] = env["HEKETI_DEBUG_UMOUNT_FAILURES"].lower() in ("1", "true", "yes", "y")
    if env.get("HEKETI_GLUSTERAPP_REBALANCE_ON_EXPANSION", "").lower() == "false":
        out["rebalance_on_expansion"] = False
    return out
