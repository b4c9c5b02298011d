"""Checks on every value that reaches a node command.

heketi validates API requests (``pkg/glusterfs/api/types.go``) but then formats
values into shell strings (``executors/cmdexec/*.go``); volume options are not
validated at all (CVE-2017-15103 lineage).  pyketi builds argv lists instead of
shell strings *and* re-checks here, at the last step before a node, so a bug in
an upper layer cannot turn into a command on a storage node.

Every check raises ``ExecutorError`` with a message naming the bad value.
"""

from __future__ import annotations

import ipaddress
import posixpath
import re

from pyketi.executors.base import ExecutorError
from pyketi.ids import ID_RE

# api/types.go allows a leading '-' (``--version`` is a "valid" heketi name): not here
VOLUME_NAME_RE = re.compile(r"^[a-zA-Z0-9_][a-zA-Z0-9_-]*$")
DEVICE_PATH_RE = re.compile(r"^/[a-zA-Z0-9_.:/-]+$")       # api/types.go
OPTION_KEY_RE = re.compile(r"^[a-zA-Z0-9_][a-zA-Z0-9_.-]*$")
# names the gluster CLI reserves (cli-cmd-parser.c): "volume set all ..." is cluster-wide
RESERVED_VOLUME_NAMES = frozenset({
    "all", "volume", "type", "subvolumes", "option", "end-volume", "volume_not_in_ring",
    "description", "force", "snap-max-hard-limit", "snap-max-soft-limit", "auto-delete",
    "activate-on-create"})
# "volume set <v> group <name>" reads /var/lib/glusterd/groups/<name>: a plain file name
GROUP_VALUE_RE = re.compile(r"^[a-zA-Z0-9_][a-zA-Z0-9_.-]*$")
# C0/C1 controls, DEL and Unicode line separators: they forge log lines and metric labels
CONTROL_RE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# /dev entries that are not stable block devices or that anyone may populate
# (tmpfs /dev/shm, /dev/mqueue) or that point into /proc (fd, stdin, core)
UNSAFE_DEV_PREFIXES = ("/dev/shm/", "/dev/mqueue/", "/dev/fd/", "/dev/pts/",
                       "/dev/hugepages/", "/dev/stdin", "/dev/stdout", "/dev/stderr",
                       "/dev/core", "/dev/.")
LV_NAME_RE = re.compile(r"^[a-zA-Z0-9_][a-zA-Z0-9_.+-]*$")
LVM_SIZE_RE = re.compile(r"^[0-9]+(\.[0-9]+)?[bBsSkKmMgGtTpPeE]?$")
MOUNT_OPTS_RE = re.compile(r"^[a-zA-Z0-9_.,=:+@/-]+$")
WRAPPER_TOKEN_RE = re.compile(r"^[a-zA-Z0-9_.,=:+@/-]+$")
WORD_RE = re.compile(r"^[a-zA-Z0-9_-]+$")
# govalidator IsDNSName (used by ozzo-validation is.Host in heketi)
_DNS_RE = re.compile(r"^([a-zA-Z0-9_][a-zA-Z0-9_-]{0,62})(\.[a-zA-Z0-9_][a-zA-Z0-9_-]{0,62})*[._]?$")
_FORBIDDEN_CHARS = ("\n", "\r", "\x00")


def _fail(what: str, value: object) -> ExecutorError:
    return ExecutorError(f"invalid {what}: {value!r}")


def _match(regex: re.Pattern[str], value: object, what: str) -> str:
    if not isinstance(value, str) or not regex.fullmatch(value):
        raise _fail(what, value)
    return value


def check_volume_name(name: object) -> str:
    _match(VOLUME_NAME_RE, name, "volume name")
    assert isinstance(name, str)
    if name.lower() in RESERVED_VOLUME_NAMES:
        raise _fail("volume name", name)
    return name


def device_path_problem(path: str) -> str | None:
    """Why ``path`` is not an acceptable device name (None if it is).

    Pure string checks, the same in the API and before a node command: heketi's
    character set, then a path that is already normal (no ``..``, ``.``, ``//``
    or trailing ``/``) under ``/dev/`` and outside the /dev entries that are
    not block devices. What a symlink inside /dev resolves to on the node
    itself is out of reach here.
    """
    if not DEVICE_PATH_RE.fullmatch(path):
        return "must be in a valid format"
    if posixpath.normpath(path) != path or path.startswith("//"):
        return "must be a normalised path (no '..', '.', '//' or trailing '/')"
    if not path.startswith("/dev/") or path.startswith(UNSAFE_DEV_PREFIXES):
        return "must be a block device path under /dev/"
    return None


def check_device_path(path: object) -> str:
    if not isinstance(path, str) or device_path_problem(path):
        raise _fail("device path", path)
    return path


def check_path(path: object, what: str = "path") -> str:
    """Absolute path of ``[a-zA-Z0-9_.:/-]`` without ``..`` components."""
    _match(DEVICE_PATH_RE, path, what)
    assert isinstance(path, str)
    if ".." in path.split("/"):
        raise _fail(what, path)
    return path


def check_id(value: object, what: str = "id") -> str:
    return _match(ID_RE, value, what)


def check_lv_name(value: object) -> str:
    return _match(LV_NAME_RE, value, "logical volume name")


def check_lvm_size(value: object, what: str = "size") -> str:
    return _match(LVM_SIZE_RE, value, what)


def check_mount_options(value: object) -> str:
    return _match(MOUNT_OPTS_RE, value, "mount options")


def check_wrapper_token(value: object) -> str:
    return _match(WRAPPER_TOKEN_RE, value, "lvm_wrapper")


def check_word(value: object, what: str) -> str:
    return _match(WORD_RE, value, what)


def check_int(value: object, what: str, minimum: int = 0,
              maximum: int | None = None) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum \
            or (maximum is not None and value > maximum):
        raise _fail(what, value)
    return value


def check_host(host: object, what: str = "hostname") -> str:
    """A host name or IP address (heketi ``is.Host``); never starts with '-'.

    No IPv6 scope id (``fe80::1%eth0``): Go's ``net.ParseIP`` behind heketi's
    ``is.Host`` refuses it, and Python's ``ipaddress`` accepts any text after '%'.
    """
    if not isinstance(host, str) or not host or len(host) > 253 or "%" in host:
        raise _fail(what, host)
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    if not _DNS_RE.fullmatch(host):
        raise _fail(what, host)
    return host


def check_brick(host: object, path: object) -> str:
    """A gluster brick spec ``<host>:<path>``."""
    return f"{check_host(host, 'brick host')}:{check_path(path, 'brick path')}"


def check_text(value: object, what: str) -> str:
    """Free text that becomes exactly one argv token: no newline or NUL."""
    if not isinstance(value, str) or any(c in value for c in _FORBIDDEN_CHARS):
        raise _fail(what, value)
    return value


def volume_option_problem(key: str, value: str) -> str | None:
    """Why a ``<key> <value>`` volume option must not reach gluster (None if fine).

    The gluster CLI reads a ``--flag`` token anywhere in its argv as its own
    option (``cli.c: parse_cmdline``; ``--`` handling differs by version), so
    the guarantee is that no option token starts with '-'.
    """
    if not OPTION_KEY_RE.fullmatch(key):
        return "the key must be [a-zA-Z0-9_.-] and not start with '-'"
    if value.startswith("-"):
        return "the value must not start with '-'"
    if CONTROL_RE.search(value):
        return "the value must not contain control characters"
    if key == "group" and not GROUP_VALUE_RE.fullmatch(value):
        return "the group must be a plain name"
    return None


def parse_volume_option(option: object) -> tuple[str, str] | None:
    """Split a stored volume option ``"<key> <value>"``.

    Returns ``None`` for a blank entry (heketi skips ``""``, the artefact of
    empty pre/post request options).  Leading/trailing blanks are dropped as
    the shell did for heketi (spec §11.6); the value - everything after the
    first run of blanks - becomes ONE argv token, whatever it contains.
    """
    text = check_text(option, "volume option")
    text = text.strip(" \t")
    if not text:
        return None
    parts = re.split(r"[ \t]+", text, maxsplit=1)
    if len(parts) != 2:
        raise ExecutorError(f"invalid volume option {option!r}: expected '<key> <value>'")
    problem = volume_option_problem(parts[0], parts[1])
    if problem:
        raise ExecutorError(f"invalid volume option {option!r}: {problem}")
    return parts[0], parts[1]


def escape_controls(text: str) -> str:
    """Control characters of an echoed value as ``\\xNN`` escapes (never raw in a reply or log)."""
    return CONTROL_RE.sub(lambda m: repr(m.group())[1:-1], text)
