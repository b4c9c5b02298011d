"""argv lists for the node's mount commands, and the checks on what goes
into them.  Pure: building apart from running (``mounter``).

Every value reaching an argv comes from the CO (volume context, mount
flags, paths): it is checked against a strict pattern, and ``--`` ends the
command's own options so nothing is read as an option.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

from pyketi.csi.errors import invalid

_HOST = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}[A-Za-z0-9])?$")
_VOLUME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,255}$")
_FLAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.=:/+-]{0,255}$")
BACKUP_SERVERS = "backup-volfile-servers"
DEFAULT_LOG_LEVEL = "log-level=ERROR"


def check_host(host: str) -> str:
    if not _HOST.match(host):
        raise invalid(f"volume_context: {host!r} is not a host name or IPv4 address")
    return host


def check_volume(name: str) -> str:
    if not _VOLUME.match(name):
        raise invalid(f"volume_context: {name!r} is not a Gluster volume name")
    return name


def check_path(path: str, field: str) -> str:
    if not path:
        raise invalid(f"{field} is required")
    if not os.path.isabs(path) or "\0" in path or any(p == ".." for p in path.split("/")):
        raise invalid(f"{field} must be an absolute path without '..'")
    return os.path.normpath(path)


def check_flags(flags: Sequence[str]) -> list[str]:
    """Mount flags from the StorageClass ``mountOptions`` (never logged)."""
    out = []
    for flag in flags:
        if not _FLAG.match(flag):
            raise invalid("volume_capability.mount.mount_flags: each flag must be "
                          "letters, digits and _.=:/+- without commas or spaces")
        if flag.split("=", 1)[0] == BACKUP_SERVERS:
            continue                     # the driver sets it from the volume's hosts
        out.append(flag)
    return out


def gluster_mount(hosts: Sequence[str], volume: str, target: str,
                  flags: Sequence[str] = ()) -> list[str]:
    """``mount -t glusterfs -o <flags>,backup-volfile-servers=h2:h3 -- h1:vol target``
    (mount.glusterfs separates backup servers with ':'); ``log-level=ERROR``
    unless the flags set a level, as the in-tree plugin did."""
    hosts = [check_host(h) for h in hosts]
    if not hosts:
        raise invalid("volume_context: no Gluster hosts to mount from")
    options = check_flags(flags)
    if not any(o.startswith("log-level") for o in options):
        options.append(DEFAULT_LOG_LEVEL)   # as the in-tree plugin mounted
    if len(hosts) > 1:
        options.append(f"{BACKUP_SERVERS}={':'.join(hosts[1:])}")
    argv = ["mount", "-t", "glusterfs"]
    if options:
        argv += ["-o", ",".join(options)]
    return argv + ["--", f"{hosts[0]}:{check_volume(volume)}", target]


def bind_mount(source: str, target: str) -> list[str]:
    return ["mount", "--bind", "--", source, target]


def remount_read_only(target: str) -> list[str]:
    return ["mount", "-o", "remount,bind,ro", "--", target]


def unmount(target: str, lazy: bool = False) -> list[str]:
    return ["umount", *(["-l"] if lazy else []), "--", target]
