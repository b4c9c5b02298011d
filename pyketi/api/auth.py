"""JWT authentication and role checks (heketi ``middleware/jwt.go``, ``app_middleware.go``).

HMAC algorithms only; ``iss`` selects the key (admin|user); ``exp`` is required
(a missing ``exp`` counts as 0 = expired, as heketi); ``iat`` may be at most
``leeway`` seconds in the future; ``qsh`` = sha256 hex of ``METHOD&path``.
Time claims are whole seconds, and ``exp`` may lie at most ``max_lifetime``
(``jwt.max_token_lifetime``) after ``iat`` (after now without ``iat``).

pyketi's ``user`` role is usable (heketi's was not): it may manage volumes,
poll its jobs and read the cluster/node info the Kubernetes provisioner needs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import re
import time

import jwt

from pyketi.api.validation import escape_controls
from pyketi.errors import ApiError, BadRequest, Unauthorized

HMAC_ALGS = ("HS256", "HS384", "HS512")
_PLAIN_HEADER = frozenset(("alg", "typ"))
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
HASHES = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}
_ID = r"[A-Fa-f0-9]+"
USER_ROUTES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (method, re.compile(pattern)) for method, pattern in (
        ("GET", r"^/volumes$"), ("POST", r"^/volumes$"),
        ("GET", rf"^/volumes/{_ID}$"), ("DELETE", rf"^/volumes/{_ID}$"),
        ("POST", rf"^/volumes/{_ID}/expand$"),
        ("GET", rf"^/queue/{_ID}$"),
        ("GET", rf"^/clusters/{_ID}$"), ("GET", rf"^/nodes/{_ID}$"),
    ))


def qsh(method: str, path: str) -> str:
    return hashlib.sha256(f"{method}&{path}".encode()).hexdigest()


def go_duration(seconds: float) -> str:
    """Format like Go's ``time.Duration.String`` (e.g. ``1m30.5s``, ``250ms``)."""
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    secs_txt = f"{secs:.6f}".rstrip("0").rstrip(".") + "s"
    if hours:
        return f"{int(hours)}h{int(minutes)}m{secs_txt}"
    if minutes:
        return f"{int(minutes)}m{secs_txt}"
    return secs_txt


def _seconds(claims: dict, name: str, invalid) -> int | None:
    """A time claim as whole Unix seconds (None if absent).  Go reads it into an int64:
    a fraction, NaN, Infinity, a string or a bool is no time (``1e300`` would outlive
    every lifetime check)."""
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or abs(value) >= 2**63:
        raise invalid(f"{name} claim must be a whole number of seconds")
    return value


class Authenticator:
    def __init__(self, admin_key: str, user_key: str, iat_leeway: int = 120,
                 max_lifetime: int = 3600):
        self.keys = {"admin": admin_key.encode(), "user": user_key.encode()}
        self.leeway = iat_leeway
        self.max_lifetime = max_lifetime
        self.fast = _keys_usable(self.keys.values())

    def authenticate(self, method: str, path: str, header: str | None) -> str:
        """Return the role (``admin``/``user``) or raise an ApiError."""
        return self.claims(method, path, header)["iss"]

    def claims(self, method: str, path: str, header: str | None) -> dict:
        """The verified claims of the request's token (``iss`` is its role), or an
        ApiError."""
        if not header:
            raise Unauthorized("Required authorization token not found")
        parts = header.strip().split(" ")  # go-jwt-middleware: single spaces only
        if len(parts) != 2 or parts[0].lower() != "bearer":
            raise BadRequest("Authorization header format must be Bearer {token}")
        token = parts[1]
        claims = self._verify(token)
        if not isinstance(claims.get("qsh"), str) or not hmac.compare_digest(
                claims["qsh"], qsh(method, path)):
            raise Unauthorized("Invalid qsh claim in token")
        return claims

    def _verify(self, token: str) -> dict:
        claims = self._decode_once(token) if self.fast else None
        if claims is None:
            claims = self._decode_checked(token)
        return self._check_times(claims)

    def _decode_once(self, token: str) -> dict | None:
        """The hot path: the claims of a plain token (canonical unpadded base64url
        segments, a header of ``alg`` and ``typ`` only) whose HMAC signature verifies,
        decoded once.  Every token it accepts, PyJWT accepts too (same segment, header
        and claim rules, the signature as ``HMACAlgorithm.verify`` computes it);
        anything else (None) goes to ``_decode_checked``, which decides and words the
        refusal exactly as before."""
        segments = token.split(".")
        if len(segments) != 3:
            return None
        try:
            header, payload, signature = (_segment(part) for part in segments)
            header = json.loads(header)
            claims = json.loads(payload)
        except (ValueError, RecursionError):
            return None
        if not isinstance(header, dict) or not isinstance(claims, dict) \
                or not _PLAIN_HEADER.issuperset(header):
            return None
        alg = header.get("alg")
        hash_fn = HASHES.get(alg) if isinstance(alg, str) else None
        iss = claims.get("iss")
        key = self.keys.get(iss) if isinstance(iss, str) else None
        if hash_fn is None or key is None:
            return None
        # PyJWT's verified decode also refuses a non-string sub or jti
        if any(name in claims and not isinstance(claims[name], str) for name in ("sub", "jti")):
            return None
        signing_input = token[:token.rindex(".")].encode()
        if not hmac.compare_digest(hmac.new(key, signing_input, hash_fn).digest(), signature):
            return None
        return claims

    def _decode_checked(self, token: str) -> dict:
        """Decode and verify step by step, refusing with heketi's messages."""
        def invalid(msg: str) -> ApiError:
            return Unauthorized(f"Invalid JWT token: {msg}")

        if token.count(".") != 2:
            raise invalid("token contains an invalid number of segments")
        if not token.isascii():  # a header's undecodable bytes arrive as lone surrogates
            raise invalid("malformed token: characters outside base64url")
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as e:
            raise invalid(f"malformed token: {e}") from None
        alg = header.get("alg")
        if alg not in HMAC_ALGS:
            raise invalid(f"Unexpected signing method: {escape_controls(str(alg))}")
        iss = claims.get("iss")
        if iss is not None and not isinstance(iss, str):
            raise invalid("iss claim must be a string")  # Go: unmarshal into a string fails
        if not iss:
            raise invalid("Token missing iss claim")
        if iss not in self.keys:
            raise invalid("Unknown user")
        try:
            jwt.decode(token, self.keys[iss], algorithms=[alg],
                       options={"verify_exp": False, "verify_iat": False,
                                "verify_nbf": False, "verify_aud": False,
                                "verify_iss": False})
        except jwt.InvalidSignatureError:
            raise invalid("signature is invalid (client and server secrets may not match)") \
                from None
        except jwt.PyJWTError as e:
            raise invalid(str(e)) from None
        return claims

    def _check_times(self, claims: dict) -> dict:
        def invalid(msg: str) -> ApiError:
            return Unauthorized(f"Invalid JWT token: {msg}")

        exp = _seconds(claims, "exp", invalid)
        iat = _seconds(claims, "iat", invalid)
        nbf = _seconds(claims, "nbf", invalid)
        now = int(time.time())  # heketi compares whole Unix seconds (jwt.TimeFunc().Unix())
        exp = 0 if exp is None else exp  # heketi: a missing exp is 0, long expired
        if now > exp:
            raise invalid(f"Token is expired by {go_duration(now - exp)}")
        if iat is not None and now < iat - self.leeway:
            raise invalid("Token used before issued (client and server clocks may differ)")
        if nbf is not None and now < nbf:
            raise invalid("token is not valid yet")
        if exp - (now if iat is None else iat) > self.max_lifetime:
            raise invalid(f"Token lifetime exceeds {go_duration(self.max_lifetime)} "
                          "(jwt.max_token_lifetime)")
        return claims

    @staticmethod
    def authorize(role: str, method: str, path: str) -> None:
        if role == "admin":
            return
        if any(m == method and p.fullmatch(path) for m, p in USER_ROUTES):
            return
        raise Unauthorized("Administrator access required")


def _segment(text: str) -> bytes:
    """A canonical unpadded base64url segment (as ``base64url_encode`` writes it) or
    ValueError."""
    if len(text) % 4 == 1 or not _BASE64URL.fullmatch(text):
        raise ValueError("not canonical base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if base64.urlsafe_b64encode(data).rstrip(b"=") != text.encode():
        raise ValueError("not canonical base64url")
    return data


def _keys_usable(keys) -> bool:
    """Whether PyJWT accepts these keys as HMAC secrets (it refuses PEM-looking ones):
    only then may ``_decode_once`` verify signatures itself."""
    algorithm = jwt.algorithms.HMACAlgorithm(hashlib.sha256)
    try:
        for key in keys:
            algorithm.prepare_key(key)
    except jwt.PyJWTError:
        return False
    return True
