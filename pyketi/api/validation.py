"""Request parsing and heketi/ozzo-style validation messages."""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from pyketi.errors import BadRequest, Unprocessable
from pyketi.executors.validate import CONTROL_RE, escape_controls  # noqa: F401 (re-export)
from pyketi.ids import is_valid_id

MAX_BODY = 1024 * 1024
# \Z, not $: Python's $ also matches before a trailing newline, Go's does not
NAME_RE = re.compile(r"^[a-zA-Z0-9_-]+\Z")
DEVICE_RE = re.compile(r"^/[a-zA-Z0-9_.:/-]+\Z")
TAG_NAME_RE = re.compile(r"^[a-zA-Z0-9_.-]+\Z")
_HOST_LABEL = re.compile(r"^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\Z")
PARSE_ERROR = "request unable to be parsed"
MAX_JSON_DEPTH = 100  # pyketi's bodies nest 4 deep; Python's parser would recurse ~1,000
_SURROGATE_RE = re.compile("[\ud800-\udfff]")


async def read_body(request: web.Request, limit: int = MAX_BODY) -> bytes | None:
    """The whole body, read until EOF (one ``read(n)`` returns only what has arrived so
    far); None if it is longer than ``limit``.  A body that cannot be read (broken
    chunked framing or content encoding, truncated) is a parse error."""
    if request.content_length is not None and request.content_length > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    try:
        while size <= limit:
            chunk = await request.content.read(limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except (web.RequestPayloadError, HttpProcessingError, ConnectionError) as e:
        raise Unprocessable(PARSE_ERROR) from e
    return b"".join(chunks) if size <= limit else None


def parse_json(raw: bytes) -> Any:
    """JSON as Go's ``json.Unmarshal`` reads it: no NaN/Infinity, nesting bounded, a lone
    UTF-16 surrogate (``"\\ud800"``) becomes U+FFFD.  ValueError if it is not JSON."""
    try:
        return _clean(json.loads(raw, parse_constant=_not_json), 0)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def _clean(value: Any, depth: int) -> Any:
    if isinstance(value, str):
        return _SURROGATE_RE.sub("\ufffd", value)
    if isinstance(value, (dict, list)) and depth >= MAX_JSON_DEPTH:
        raise ValueError("JSON nested too deeply")
    if isinstance(value, dict):
        return {_clean(k, depth): _clean(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v, depth + 1) for v in value]
    return value


async def read_json(request: web.Request, *, optional: bool = False,
                    error_status: int = 422) -> Any:
    """Read and parse the body; empty body is a parse error unless ``optional``."""
    raw = await read_body(request)
    if raw is None:
        raise Unprocessable(PARSE_ERROR) from None
    if optional and not raw:
        return None
    try:
        return parse_json(raw)
    except ValueError:  # UnicodeDecodeError included
        if error_status == 400:
            raise BadRequest(f"{PARSE_ERROR}: invalid JSON body") from None
        raise Unprocessable(PARSE_ERROR) from None


def _not_json(literal: str) -> Any:
    raise ValueError(f"{literal} is not JSON")  # Go refuses NaN/Infinity, Python would not


class Fields:
    """Type-checked access to a JSON object (a type mismatch = Go unmarshal error = 422).

    ``null`` is an empty object, as Go's ``json.Unmarshal`` into a struct.
    """

    def __init__(self, data: Any):
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise Unprocessable(PARSE_ERROR) from None
        self.data = data

    def _get(self, key: str, types: tuple[type, ...], default: Any) -> Any:
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, bool) and bool not in types:
            raise Unprocessable(PARSE_ERROR) from None
        if not isinstance(value, types):
            raise Unprocessable(PARSE_ERROR) from None
        return value

    def bool(self, key: str, default: bool = False) -> bool:
        return self._get(key, (bool,), default)

    def int(self, key: str, default: int = 0) -> int:
        value = self._get(key, (int,), default)  # Go: 1.0 or 1e2 is no int
        if abs(value) > 2**63 - 1:
            raise Unprocessable(PARSE_ERROR) from None
        return value

    def float(self, key: str, default: float = 0.0) -> float:
        return float(self._get(key, (int, float), default))

    def str(self, key: str, default: str = "") -> str:
        return self._get(key, (str,), default)

    def obj(self, key: str) -> Fields:
        return Fields(self._get(key, (dict,), {}))

    def str_list(self, key: str) -> list[str]:
        value = self._get(key, (list,), [])
        if not all(isinstance(v, str) for v in value):
            raise Unprocessable(PARSE_ERROR) from None
        return value

    def str_map(self, key: str) -> dict[str, str]:
        value = self._get(key, (dict,), {})
        if not all(isinstance(v, str) for v in value.values()):
            raise Unprocessable(PARSE_ERROR) from None
        return value


class Errors:
    """Collects ozzo-validation errors: ``validation failed: a: msg; b: msg.``

    A nested struct's errors (``add`` with an ``Errors``) print as ozzo does:
    ``hostnames: (manage: cannot be blank; storage: cannot be blank.)``.
    """

    def __init__(self) -> None:
        self.items: dict[str, str | Errors] = {}

    def add(self, field: str, message: str | Errors) -> None:
        if isinstance(message, Errors) and not message.items:
            return
        self.items.setdefault(field, message)

    def text(self) -> str:
        return "; ".join(f"{k}: ({v.text()})" if isinstance(v, Errors) else f"{k}: {v}"
                         for k, v in sorted(self.items.items())) + "."

    def raise_if_any(self) -> None:
        if self.items:
            raise BadRequest(f"validation failed: {escape_controls(self.text())}")


def go_list(values: list[str]) -> str:
    """A string slice as Go's ``%v`` prints it: ``[a b]``."""
    return "[" + " ".join(values) + "]"


def is_host(value: str) -> bool:
    """ozzo ``is.Host``: an IP address or a DNS name.

    No IPv6 scope id: Go's ``net.ParseIP`` refuses ``fe80::1%eth0`` while Python's
    ``ipaddress`` takes any text after '%' (newlines, NUL) into the address.
    """
    if not value or len(value) > 253 or "%" in value:
        return False
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        pass
    labels = value.rstrip(".").split(".")
    return all(_HOST_LABEL.match(label) for label in labels)


def check_id(errors: Errors, field: str, value: str, required: bool = True) -> None:
    if not value:
        if required:
            errors.add(field, "cannot be blank")
    elif not is_valid_id(value):
        errors.add(field, f"{value} is not a valid UUID")


def check_tags(errors: Errors, tags: dict[str, str], field: str = "tags") -> None:
    """heketi ``ValidateTags`` texts; pyketi also refuses line breaks/NUL in values."""
    if len(tags) > 32:
        errors.add(field, f"too many tags specified ({len(tags)}), up to 32 supported")
        return
    for name, value in tags.items():
        if not name:
            errors.add(field, "tag names may not be empty")
        elif len(name) > 32:
            errors.add(field, f"tag name {name}: the length must be between 1 and 32")
        elif len(value) > 64:
            errors.add(field, f"value of tag {name}: the length must be no more than 64")
        elif not TAG_NAME_RE.match(name):
            errors.add(field, f"invalid characters in tag name {name}")
        elif CONTROL_RE.search(value):
            errors.add(field, f"value of tag {name}: must not contain control characters")
        else:
            continue
        return
