"""Request signing: heketi's JWT (HS256) with the ``qsh`` claim.

Implemented with the standard library: PyJWT refuses the empty and short
secrets heketi accepts, and HS256 is a few lines of HMAC.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

DEFAULT_TTL_SECONDS = 300  # the Go client signs tokens valid for 5 minutes


def qsh(method: str, path: str) -> str:
    """Lower-case hex SHA-256 of ``METHOD&path`` (path only, no query)."""
    return hashlib.sha256(f"{method.upper()}&{path}".encode()).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def sign(user: str, secret: str, method: str, path: str,
         now: float | None = None, ttl: int = DEFAULT_TTL_SECONDS) -> str:
    """A fresh token for one request: claims ``iss, iat, exp, qsh``."""
    issued = int(time.time() if now is None else now)
    header = {"alg": "HS256", "typ": "JWT"}
    claims = {"iss": user, "iat": issued, "exp": issued + ttl,
              "qsh": qsh(method, path)}
    signing_input = ".".join(
        _b64(json.dumps(part, separators=(",", ":")).encode())
        for part in (header, claims))
    mac = hmac.new(secret.encode("utf-8"), signing_input.encode("ascii"),
                   hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"


def authorization_header(user: str, secret: str, method: str, path: str) -> str:
    return "Bearer " + sign(user, secret, method, path)
