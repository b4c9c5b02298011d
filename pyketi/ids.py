"""Heketi-style identifiers: 16 random bytes, 32 lower-case hex characters."""

import re
import secrets

ID_RE = re.compile(r"^[0-9a-fA-F]{32}$")  # a valid id
HEX_RE = r"[A-Fa-f0-9]+"                   # what routes accept as an id (heketi's mux)


def new_id() -> str:
    return secrets.token_hex(16)


def is_valid_id(value: object) -> bool:
    return isinstance(value, str) and bool(ID_RE.match(value))
