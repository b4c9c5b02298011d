"""Heketi-style identifiers: 16 random bytes, 32 lower-case hex characters."""

import re
import secrets

_ID_RE = re.compile(r"^[0-9a-fA-F]{32}$")


def new_id() -> str:
    return secrets.token_hex(16)


def is_valid_id(value: object) -> bool:
    return isinstance(value, str) and bool(_ID_RE.match(value))
