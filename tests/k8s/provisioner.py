"""Replay of Kubernetes' in-tree glusterfs provisioner (``kubernetes.io/glusterfs``).

A Python re-implementation of what ``pkg/volume/glusterfs/glusterfs.go`` (last
version, with ``customepnameprefix``; removed in Kubernetes 1.26) and the
heketi Go client it vendors (``client/api/go-client``) send and read, so a
test can drive a pyketi server exactly as a kube-controller-manager would:

* ``parse_class_parameters``: StorageClass parameters, the plugin's validation
  and its error texts (Go number parsing and ``%v`` formatting included);
* ``MinMaxAllocator``: the per-StorageClass gid table, rebuilt from the
  ``pv.beta.kubernetes.io/gid`` annotations of the class's PVs;
* ``GoClient``: heketi's Go client - a fresh HS256 token per request and per
  redirect hop (``bearer`` scheme, ``qsh`` over the path), 429 retries that
  re-send the same request, polling of ``/queue`` while ``X-Pending: true``,
  redirects followed like ``net/http``, errors = trimmed body text, replies
  decoded like ``encoding/json`` into heketi's structs (type mismatches fail);
* ``GlusterfsPlugin``: Provision / Delete / ExpandVolumeDevice;
* ``FakeKube`` + ``Controller``: the API objects the plugin touches (classes,
  Secrets, PVs, Endpoints, Services) and the controller loops around the
  plugin (bind, retry after a failure, reclaim, expand).

Only the heketi side is real; Kubernetes objects live in memory.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import ipaddress
import json
import math
import random
import re
import struct
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
import jwt

PLUGIN = "kubernetes.io/glusterfs"
VOL_PREFIX = "vol_"
DYNAMIC_EP_SVC_PREFIX = "glusterfs-dynamic"
MAX_CUSTOM_EP_NAME_PREFIX_LEN = 26
REPLICA_COUNT = 3
SECRET_KEY_NAME = "key"
ABSOLUTE_GID_MIN = 2000
ABSOLUTE_GID_MAX = 2**31 - 1          # math.MaxInt32
DEFAULT_GID_MIN, DEFAULT_GID_MAX = ABSOLUTE_GID_MIN, ABSOLUTE_GID_MAX
GIB = 1024 ** 3

# annotations (pkg/volume/util + glusterfs.go + the PV controller)
ANN_GID = "pv.beta.kubernetes.io/gid"
ANN_CREATED_BY = "kubernetes.io/createdby"
ANN_PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
ANN_HEKETI_VOLUME_ID = "gluster.kubernetes.io/heketi-volume-id"
ANN_GLUSTER_TYPE = "gluster.org/type"
HEKETI_ANN = "heketi-dynamic-provisioner"
GLUSTER_DESC_ANN = "Gluster-Internal: Dynamically provisioned PV"
LABEL_PVC = "gluster.kubernetes.io/provisioned-for-pvc"
ACCESS_MODES = ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany"]


class ProvisionError(Exception):
    """An error the plugin returns (its text is what ``kubectl describe`` shows)."""


# ---------------------------------------------------------------------------
# Go runtime details the plugin's messages and request bodies depend on

class GoNumError(ValueError):
    pass


_GO_INT = re.compile(r"^[+-]?[0-9]+$")
_GO_FLOAT = re.compile(r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$")


def go_parse_int(s: str, bits: int, fn: str = "ParseInt") -> int:
    """``strconv.ParseInt(s, 10, bits)`` (``Atoi`` = bits 64), with Go's error text."""
    if not _GO_INT.match(s):
        raise GoNumError(f'strconv.{fn}: parsing {json.dumps(s)}: invalid syntax')
    value = int(s)
    if not -(2 ** (bits - 1)) <= value <= 2 ** (bits - 1) - 1:
        raise GoNumError(f'strconv.{fn}: parsing {json.dumps(s)}: value out of range')
    return value


def go_parse_float(s: str) -> float:
    """``strconv.ParseFloat(s, 32)`` (returned as float64 holding a float32 value)."""
    low = s.lower().lstrip("+-")
    if low in ("inf", "infinity", "nan"):
        value = float(s.replace("inity", "").replace("INITY", ""))
    elif _GO_FLOAT.match(s):
        value = float(s)
    else:
        raise GoNumError(f'strconv.ParseFloat: parsing {json.dumps(s)}: invalid syntax')
    f32 = to_float32(value)
    if math.isinf(f32) and not math.isinf(value):
        raise GoNumError(f'strconv.ParseFloat: parsing {json.dumps(s)}: value out of range')
    return f32


def to_float32(value: float) -> float:
    if math.isnan(value) or math.isinf(value):
        return value
    try:
        return struct.unpack("f", struct.pack("f", value))[0]
    except OverflowError:
        return math.copysign(math.inf, value)


def _digits(value: float, bits: int) -> tuple[str, str, int]:
    """Shortest decimal digits that read back as ``value`` at ``bits`` precision:
    (sign, digits, decimal exponent of the first digit)."""
    text = repr(value)
    if bits == 32:
        text = next(t for t in (f"{value:.{p}e}" for p in range(9))
                    if to_float32(float(t)) == value)
    sign, digits, exp = Decimal(text).normalize().as_tuple()
    mantissa = "".join(map(str, digits))
    return ("-" if sign else ""), mantissa, len(mantissa) + exp - 1


def _format(value: float, bits: int, exponent: bool, two_digit_exp: bool) -> str:
    if value == 0:
        return "0"
    neg, mantissa, x = _digits(value, bits)
    if exponent:
        m = mantissa[0] + ("." + mantissa[1:] if len(mantissa) > 1 else "")
        e = f"{abs(x):02d}" if two_digit_exp else str(abs(x))
        return f"{neg}{m}e{'+' if x >= 0 else '-'}{e}"
    point = x + 1
    if point <= 0:
        return f"{neg}0.{'0' * -point}{mantissa}"
    if point >= len(mantissa):
        return f"{neg}{mantissa}{'0' * (point - len(mantissa))}"
    return f"{neg}{mantissa[:point]}.{mantissa[point:]}"


def float32_text(value: float) -> str:
    """``encoding/json`` of a float32: shortest digits, exponent only below 1e-6 or from 1e21."""
    return _format(value, 32, value != 0 and not 1e-6 <= abs(value) < 1e21, False)


def go_float_v(value: float) -> str:
    """``fmt``'s ``%v`` of a float64 (``strconv`` 'g', shortest): exponent when the
    decimal exponent is below -4 or at least 6."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    x = _digits(value, 64)[2] if value else 0
    return _format(value, 64, x < -4 or x >= 6, True)


def go_json_string(s: str) -> str:
    """``encoding/json`` string: HTML-safe escapes, U+2028/2029 escaped."""
    text = json.dumps(s, ensure_ascii=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                    ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text


# ---------------------------------------------------------------------------
# resource.Quantity and volutil rounding

_QUANTITY = re.compile(r"^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
                       r"(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$")
_SUFFIX = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
           "n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000), "": 1,
           "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18}


def quantity_value(q: str) -> int:
    """``resource.MustParse(q).Value()``: bytes, rounded up to an integer."""
    m = _QUANTITY.match(q)
    if not m:
        raise ValueError(f"quantities must match the regular expression: {q!r}")
    number, suffix = Fraction(m.group(1)), m.group(2) or ""
    scale = Fraction(10) ** int(suffix[1:]) if suffix[:1] in ("e", "E") else _SUFFIX[suffix]
    return math.ceil(number * scale)


def round_up_size(volume_bytes: int, unit: int) -> int:
    """``volutil.RoundUpSize``."""
    return -(-volume_bytes // unit)


def round_up_to_gib_int(q: str) -> int:
    """``volutil.RoundUpToGiBInt``."""
    size = round_up_size(quantity_value(q), GIB)
    if size > 2**63 - 1:
        raise ProvisionError(f"capacity {q} is too great, casting results in integer overflow")
    return size


# ---------------------------------------------------------------------------
# glusterfs_minmax.go

class MinMaxAllocator:
    """The per-StorageClass gid table (``AllocateNext`` = lowest free gid)."""

    def __init__(self, lo: int, hi: int):
        if lo > hi:
            raise ProvisionError("invalid range")
        self.min, self.max = lo, hi
        self.used: set[int] = set()
        self.free = 1 + hi - lo

    def _in_range(self, i: int) -> bool:
        return self.min <= i <= self.max

    def set_range(self, lo: int, hi: int) -> None:
        if lo > hi:
            raise ProvisionError("invalid range")
        if (self.min, self.max) == (lo, hi):
            return
        self.min, self.max = lo, hi
        self.free = 1 + hi - lo - sum(1 for i in self.used if self._in_range(i))

    def allocate(self, i: int) -> bool:
        if not self._in_range(i):
            raise ProvisionError("out of range")
        if i in self.used:
            return False                 # ErrConflict: logged, ignored by collectGids
        self.used.add(i)
        self.free -= 1
        return True

    def allocate_next(self) -> int:
        if self.free <= 0:
            raise ProvisionError("range full")
        i = self.min
        while i in self.used:            # the Go loop scans min..max for the first free
            i += 1
        if i > self.max:
            raise ProvisionError("internal error")
        self.used.add(i)
        self.free -= 1
        return i

    def release(self, i: int) -> None:
        if self._in_range(i) and i in self.used:
            self.used.discard(i)
            self.free += 1


# ---------------------------------------------------------------------------
# parseClassParameters

@dataclass
class ProvisionerConfig:
    url: str = ""
    user: str = ""
    user_key: str = ""
    secret_namespace: str = ""
    secret_name: str = ""
    secret_value: str = ""
    cluster_id: str = ""
    gid_min: int = DEFAULT_GID_MIN
    gid_max: int = DEFAULT_GID_MAX
    volume_type: dict = field(default_factory=dict)   # gapi.VolumeDurabilityInfo
    volume_options: list[str] | None = None
    volume_name_prefix: str = ""
    thin_pool_snap_factor: float = 1.0
    custom_ep_name_prefix: str = DYNAMIC_EP_SVC_PREFIX


def durability(dtype: str = "", replica: int = 0, data: int = 0, redundancy: int = 0) -> dict:
    return {"type": dtype, "replicate": {"replica": replica},
            "disperse": {"data": data, "redundancy": redundancy}}


def _convert_gid(v: str) -> int:
    gid = go_parse_int(v, 32)            # errors: caller drops the text (as the plugin does)
    if gid < 0:
        raise GoNumError(f"negative GIDs {v} are not allowed")
    return gid


def _convert_volume_param(v: str) -> int:
    try:
        count = go_parse_int(v, 64, "Atoi")
    except GoNumError as e:
        raise GoNumError(f"failed to parse volumestring {json.dumps(v)}: {e}") from None
    if count < 0:
        raise GoNumError("negative values are not allowed")
    return count


def parse_class_parameters(params: dict[str, str], kube: FakeKube | None) -> ProvisionerConfig:
    """The plugin's ``parseClassParameters``: keys case-insensitive, errors verbatim."""
    cfg = ProvisionerConfig()
    auth_enabled = True
    volume_type = volume_options = name_prefix = snap_factor = ""
    for k, v in params.items():
        key = k.lower()
        if key == "resturl":
            cfg.url = v
        elif key == "restuser":
            cfg.user = v
        elif key == "restuserkey":
            cfg.user_key = v
        elif key == "secretname":
            cfg.secret_name = v
        elif key == "secretnamespace":
            cfg.secret_namespace = v
        elif key == "clusterid":
            if v:
                cfg.cluster_id = v
        elif key == "restauthenabled":
            auth_enabled = v.lower() == "true"
        elif key in ("gidmin", "gidmax"):
            label = "gidMin" if key == "gidmin" else "gidMax"
            try:
                gid = _convert_gid(v)
            except GoNumError:
                raise ProvisionError(f"invalid {label} value {json.dumps(k)} for volume plugin "
                                     f"{PLUGIN}") from None
            if gid < ABSOLUTE_GID_MIN:
                raise ProvisionError(f"{label} must be >= {ABSOLUTE_GID_MIN}")
            if gid > ABSOLUTE_GID_MAX:
                raise ProvisionError(f"{label} must be <= {ABSOLUTE_GID_MAX}")
            if key == "gidmin":
                cfg.gid_min = gid
            else:
                cfg.gid_max = gid
        elif key == "volumetype":
            volume_type = v
        elif key == "volumeoptions":
            if v:
                volume_options = v
        elif key == "volumenameprefix":
            if v:
                name_prefix = v
        elif key == "snapfactor":
            if v:
                snap_factor = v
        elif key == "customepnameprefix":
            if len(v) <= MAX_CUSTOM_EP_NAME_PREFIX_LEN:
                cfg.custom_ep_name_prefix = v
            else:
                raise ProvisionError("'customepnameprefix' value should be < "
                                     f"{MAX_CUSTOM_EP_NAME_PREFIX_LEN} characters")
        else:
            raise ProvisionError(f"invalid option {json.dumps(k)} for volume plugin {PLUGIN}")

    if not cfg.url:
        raise ProvisionError(f"StorageClass for provisioner {PLUGIN} must contain 'resturl' "
                             "parameter")
    if not volume_type:
        cfg.volume_type = durability("replicate", REPLICA_COUNT)
    else:
        info = volume_type.split(":")
        if info[0] == "replicate":
            if len(info) >= 2:
                try:
                    replica = _convert_volume_param(info[1])
                except GoNumError as e:
                    raise ProvisionError(f"error parsing volumeType {json.dumps(info[1])}: "
                                         f"{e}") from None
                cfg.volume_type = durability("replicate", replica)
            else:
                cfg.volume_type = durability("replicate", REPLICA_COUNT)
        elif info[0] == "disperse":
            if len(info) >= 3:
                values = []
                for part in info[1:3]:
                    try:
                        values.append(_convert_volume_param(part))
                    except GoNumError as e:
                        raise ProvisionError(f"error parsing volumeType {json.dumps(part)}: "
                                             f"{e}") from None
                cfg.volume_type = durability("disperse", data=values[0], redundancy=values[1])
            else:
                raise ProvisionError(f'StorageClass for provisioner "{PLUGIN}" must have '
                                     "data:redundancy count set for disperse volumes in storage "
                                     "class option 'volumetype'")
        elif info[0] == "none":
            cfg.volume_type = durability("none")
        else:
            raise ProvisionError("error parsing value for option 'volumetype' for volume "
                                 f"plugin {PLUGIN}")
    if not auth_enabled:
        cfg.user = cfg.secret_name = cfg.secret_namespace = cfg.user_key = cfg.secret_value = ""
    if cfg.secret_name or cfg.secret_namespace:
        if cfg.secret_name and cfg.secret_namespace:
            cfg.secret_value = _parse_secret(cfg.secret_namespace, cfg.secret_name, kube)
        else:
            raise ProvisionError(f'StorageClass for provisioner "{PLUGIN}" must have '
                                 "secretNamespace and secretName either both set or both empty")
    else:
        cfg.secret_value = cfg.user_key
    if cfg.gid_min > cfg.gid_max:
        raise ProvisionError(f'StorageClass for provisioner "{PLUGIN}" must have gidMax value '
                             ">= gidMin")
    if volume_options:
        cfg.volume_options = volume_options.split(",")     # no trimming (spec §11.6)
    if name_prefix:
        if "_" in name_prefix:
            raise ProvisionError("Storageclass parameter 'volumenameprefix' should not contain "
                                 "'_' in its value")
        cfg.volume_name_prefix = name_prefix
    if snap_factor:
        try:
            factor = go_parse_float(snap_factor)
        except GoNumError as e:
            raise ProvisionError(f"failed to convert snapfactor {snap_factor} to float: "
                                 f"{e}") from None
        if factor < 1.0 or factor > 100.0:
            raise ProvisionError(f"invalid snapshot factor {go_float_v(factor)}, the value must "
                                 "be between 1 to 100")
        cfg.thin_pool_snap_factor = factor
    return cfg


def _parse_secret(namespace: str, name: str, kube: FakeKube | None) -> str:
    """``parseSecret`` + ``volutil.GetSecretForPV``."""
    try:
        if kube is None:
            raise ProvisionError("cannot get kube client")
        secret = kube.secrets.get((namespace, name))
        if secret is None:
            raise ProvisionError(f'secrets "{name}" not found')
        if secret["type"] != PLUGIN:
            raise ProvisionError(f"cannot get secret of type {PLUGIN}")
    except ProvisionError as e:
        raise ProvisionError(f"failed to get secret {namespace}/{name}: {e}") from None
    data = secret["data"]
    if not data:
        raise ProvisionError("empty secret map")
    if SECRET_KEY_NAME in data:
        return data[SECRET_KEY_NAME]
    return list(data.values())[-1]       # "the last secret in the map wins"


# ---------------------------------------------------------------------------
# encoding/json decoding into heketi's structs (pkg/glusterfs/api/types.go)

BRICK_INFO = {"id": "string", "path": "string", "device": "string", "node": "string",
              "volume": "string", "size": "uint64"}
VOLUME_INFO_RESPONSE = {
    "size": "int", "clusters": ["string"], "name": "string",
    "durability": {"type": "string", "replicate": {"replica": "int"},
                   "disperse": {"data": "int", "redundancy": "int"}},
    "gid": "int64", "glustervolumeoptions": ["string"], "block": "bool",
    "snapshot": {"enable": "bool", "factor": "float32"},
    "id": "string", "cluster": "string",
    "mount": {"glusterfs": {"hosts": ["string"], "device": "string",
                            "options": ("map", "string")}},
    "blockinfo": {"freesize": "int", "reservedsize": "int", "blockvolume": ["string"],
                  "restriction": "string"},
    "bricks": [BRICK_INFO],
}
CLUSTER_INFO_RESPONSE = {"id": "string", "nodes": ["string"], "volumes": ["string"],
                         "block": "bool", "file": "bool", "blockvolumes": ["string"]}
DEVICE_INFO_RESPONSE = {"name": "string", "tags": ("map", "string"),
                        "storage": {"total": "uint64", "free": "uint64", "used": "uint64"},
                        "id": "string", "paths": ["string"], "pv_uuid": "string",
                        "state": "string", "bricks": [BRICK_INFO]}
NODE_INFO_RESPONSE = {"zone": "int", "hostnames": {"manage": ["string"], "storage": ["string"]},
                      "cluster": "string", "tags": ("map", "string"), "id": "string",
                      "state": "string", "devices": [DEVICE_INFO_RESPONSE]}

_RANGES = {"int": (-2**63, 2**63 - 1), "int64": (-2**63, 2**63 - 1), "uint64": (0, 2**64 - 1)}


class GoJsonError(ValueError):
    pass


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _zero(typ: Any) -> Any:
    if isinstance(typ, dict):
        return {k: _zero(t) for k, t in typ.items()}
    if isinstance(typ, list):
        return None                                   # nil slice
    if isinstance(typ, tuple):
        return None                                   # nil map
    return {"string": "", "bool": False, "float32": 0.0}.get(typ, 0)


def go_decode(value: Any, typ: Any, where: str) -> Any:
    """Decode like ``json.Unmarshal``: missing fields stay zero, unknown keys are
    ignored, keys match case-insensitively, ``null`` leaves the zero value, and a
    type mismatch is an error."""
    if value is None:
        return _zero(typ)

    def mismatch(gotype: str) -> GoJsonError:
        return GoJsonError(f"json: cannot unmarshal {_json_kind(value)} into Go struct field "
                           f"{where} of type {gotype}")

    if isinstance(typ, dict):
        if not isinstance(value, dict):
            raise mismatch("struct")
        out = {}
        for key, sub in typ.items():
            raw = value.get(key)
            if key not in value:
                raw = next((v for k, v in value.items() if k.lower() == key), None)
            out[key] = go_decode(raw, sub, f"{where}.{key}")
        return out
    if isinstance(typ, list):
        if not isinstance(value, list):
            raise mismatch("[]" + str(typ[0] if isinstance(typ[0], str) else "struct"))
        return [go_decode(v, typ[0], where) for v in value]
    if isinstance(typ, tuple):
        if not isinstance(value, dict):
            raise mismatch("map[string]string")
        return {k: go_decode(v, typ[1], where) for k, v in value.items()}
    if typ == "string":
        if not isinstance(value, str):
            raise mismatch("string")
        return value
    if typ == "bool":
        if not isinstance(value, bool):
            raise mismatch("bool")
        return value
    if typ == "float32":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise mismatch("float32")
        return to_float32(float(value))
    lo, hi = _RANGES[typ]
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            raise GoJsonError(f"json: cannot unmarshal number {value} into Go struct field "
                              f"{where} of type {typ}")
        raise mismatch(typ)
    return value


# ---------------------------------------------------------------------------
# heketi's Go client

STATUS_TEXT = {200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 303: "See Other",
               400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
               405: "Method Not Allowed", 409: "Conflict", 422: "Unprocessable Entity",
               429: "Too Many Requests", 500: "Internal Server Error",
               503: "Service Unavailable"}


class HeketiError(Exception):
    """An error returned by the Go client (``utils.GetErrorFromResponse`` etc.)."""


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    url: str

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


@dataclass
class Wire:
    """One HTTP exchange as the server saw it (for assertions)."""
    method: str
    path: str
    iss: str
    status: int
    body: str = ""                  # the reply
    sent: bytes = b""               # the request body


def error_from_response(r: Reply) -> HeketiError:
    text = r.text.strip()
    if not text:
        text = (f"server did not provide a message (status {r.status}: "
                f"{STATUS_TEXT.get(r.status, '')})")
    return HeketiError(text)


class GoClient:
    """``gcli.NewClient(url, user, key)`` with its default options.

    ``retry_delay_scale`` shrinks the 10-30 s 429 back-off and ``poll_interval``
    the 1 s poll of ``VolumeCreate``/``Expand``/``Delete`` for tests; nothing
    else deviates from the Go code.
    """

    MAX_CONCURRENT_REQUESTS = 32
    RETRY_COUNT = 6
    MIN_DELAY, MAX_DELAY = 10, 30

    def __init__(self, session: aiohttp.ClientSession, host: str, user: str, key: str,
                 poll_interval: float = 1.0, retry_delay_scale: float = 1.0,
                 log: list[Wire] | None = None):
        self.session = session
        self.host = host
        self.user = user
        self.key = key
        self.poll_interval = poll_interval
        self.retry_delay_scale = retry_delay_scale
        self.throttle = asyncio.Semaphore(self.MAX_CONCURRENT_REQUESTS)
        self.log = log if log is not None else []

    # -- transport ------------------------------------------------------------
    def _token(self, method: str, url: str) -> str:
        path = urlsplit(url).path
        now = int(time.time())
        token = jwt.encode({"iss": self.user, "iat": now, "exp": now + 300,
                            "qsh": hashlib.sha256(f"{method}&{path}".encode()).hexdigest()},
                           self.key, algorithm="HS256")
        return "bearer " + token

    async def _do_basic(self, method: str, url: str, body: bytes | None,
                        auth: str) -> Reply:
        """``http.Client.Do`` with ``CheckRedirect = setToken``."""
        async with self.throttle:
            for _hop in range(11):
                headers = {"Authorization": auth}
                if body is not None:
                    headers["Content-Type"] = "application/json"
                async with self.session.request(method, url, data=body, headers=headers,
                                                allow_redirects=False) as resp:
                    reply = Reply(resp.status, dict(resp.headers), await resp.read(), url)
                self.log.append(Wire(method, urlsplit(url).path, self.user, reply.status,
                                     reply.text, body or b""))
                location = reply.headers.get("Location")
                if reply.status not in (301, 302, 303, 307, 308) or not location:
                    return reply
                url = urljoin(url, location)
                if reply.status in (301, 302, 303) and method not in ("GET", "HEAD"):
                    method, body = "GET", None
                auth = self._token(method, url)          # checkRedirect → setToken
            raise HeketiError(f'{method} "{url}": stopped after 10 redirects')

    async def _do(self, method: str, path: str, body: bytes | None = None) -> Reply:
        """``retryOperationDo``: the same request (same token) again after a 429."""
        url = self.host + path
        auth = self._token(method, url)
        reply = None
        for _ in range(self.RETRY_COUNT + 1):
            reply = await self._do_basic(method, url, body, auth)
            if reply.status != 429:
                return reply
            delay = self._retry_delay(reply)
            await asyncio.sleep(delay * self.retry_delay_scale)
        return reply

    def _retry_delay(self, reply: Reply) -> int:
        retry_after = reply.headers.get("Retry-After", "")
        if retry_after.isdigit():
            return random.randrange(self.MIN_DELAY) + int(retry_after)
        return random.randrange(self.MAX_DELAY - self.MIN_DELAY) + self.MIN_DELAY

    async def _wait(self, reply: Reply) -> Reply:
        """``waitForResponseWithTimer``: GET the Location while ``X-Pending: true``."""
        location = reply.headers.get("Location")
        if location is None:
            raise HeketiError("http: no Location header in response")
        url = urljoin(reply.url, location)
        while True:
            polled = await self._do_basic("GET", url, None, self._token("GET", url))
            if polled.headers.get("X-Pending") == "true":
                if polled.status != 200:
                    raise error_from_response(polled)
                await asyncio.sleep(self.poll_interval)
                continue
            return polled

    @staticmethod
    def _json(reply: Reply, typ: dict, struct_name: str) -> dict:
        try:
            data = json.loads(reply.body)
        except ValueError as e:
            raise HeketiError(f"invalid character in JSON reply: {e}") from None
        try:
            return go_decode(data, typ, struct_name)
        except GoJsonError as e:
            raise HeketiError(str(e)) from None

    # -- API --------------------------------------------------------------------
    async def _get(self, path: str, typ: dict, struct_name: str) -> dict:
        reply = await self._do("GET", path)
        if reply.status != 200:
            raise error_from_response(reply)
        return self._json(reply, typ, struct_name)

    async def _async(self, method: str, path: str, body: bytes | None, final: int) -> Reply:
        """202, then the poll must end with ``final`` (200 after the 303, or 204)."""
        reply = await self._do(method, path, body)
        if reply.status != 202:
            raise error_from_response(reply)
        reply = await self._wait(reply)
        if reply.status != final:
            raise error_from_response(reply)
        return reply

    async def volume_create(self, request: bytes) -> dict:
        reply = await self._async("POST", "/volumes", request, 200)
        return self._json(reply, VOLUME_INFO_RESPONSE, "VolumeInfoResponse")

    async def volume_expand(self, volume_id: str, expand_size: int) -> dict:
        body = json.dumps({"expand_size": expand_size}, separators=(",", ":")).encode()
        reply = await self._async("POST", f"/volumes/{volume_id}/expand", body, 200)
        return self._json(reply, VOLUME_INFO_RESPONSE, "VolumeInfoResponse")

    async def volume_info(self, volume_id: str) -> dict:
        return await self._get(f"/volumes/{volume_id}", VOLUME_INFO_RESPONSE,
                               "VolumeInfoResponse")

    async def volume_delete(self, volume_id: str) -> None:
        await self._async("DELETE", f"/volumes/{volume_id}", None, 204)

    async def cluster_info(self, cluster_id: str) -> dict:
        return await self._get(f"/clusters/{cluster_id}", CLUSTER_INFO_RESPONSE,
                               "ClusterInfoResponse")

    async def node_info(self, node_id: str) -> dict:
        return await self._get(f"/nodes/{node_id}", NODE_INFO_RESPONSE, "NodeInfoResponse")


def volume_create_body(size: int, name: str, clusters: list[str] | None, gid: int,
                       dur: dict, options: list[str] | None, snap_factor: float) -> bytes:
    """``json.Marshal(gapi.VolumeCreateRequest{...})`` as the plugin fills it:
    Go field order, ``omitempty`` (clusters, gid, options, block; inside
    durability each int/string), snapshot always ``{"enable":true,...}``."""
    if math.isnan(snap_factor) or math.isinf(snap_factor):
        raise HeketiError(f"json: unsupported value: {go_float_v(snap_factor)}")
    parts = [f'"size":{size}']
    if clusters:
        parts.append('"clusters":[' + ",".join(go_json_string(c) for c in clusters) + "]")
    parts.append(f'"name":{go_json_string(name)}')
    dparts = []
    if dur["type"]:
        dparts.append(f'"type":{go_json_string(dur["type"])}')
    rep = dur["replicate"]["replica"]
    dparts.append('"replicate":{' + (f'"replica":{rep}' if rep else "") + "}")
    data, red = dur["disperse"]["data"], dur["disperse"]["redundancy"]
    disp = ([f'"data":{data}'] if data else []) + ([f'"redundancy":{red}'] if red else [])
    dparts.append('"disperse":{' + ",".join(disp) + "}")
    parts.append('"durability":{' + ",".join(dparts) + "}")
    if gid:
        parts.append(f'"gid":{gid}')
    if options:
        parts.append('"glustervolumeoptions":[' + ",".join(go_json_string(o) for o in options)
                     + "]")
    parts.append(f'"snapshot":{{"enable":true,"factor":{float32_text(snap_factor)}}}')
    return ("{" + ",".join(parts) + "}").encode()


# ---------------------------------------------------------------------------
# Kubernetes objects (in memory)

@dataclass
class PVC:
    name: str
    storage: str = "1Gi"
    namespace: str = "default"
    storage_class: str = "glusterfs"
    access_modes: list[str] = field(default_factory=lambda: ["ReadWriteMany"])
    uid: str = field(default_factory=lambda: str(uuid.uuid4()))
    selector: dict | None = None
    volume_mode: str = "Filesystem"
    volume_name: str = ""                 # spec.volumeName once bound
    capacity: str = ""                    # status.capacity.storage
    events: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class PV:
    name: str
    annotations: dict[str, str]
    capacity: str
    glusterfs: dict[str, str]
    access_modes: list[str]
    reclaim_policy: str = "Delete"
    storage_class: str = ""
    claim_ref: dict[str, str] = field(default_factory=dict)
    mount_options: list[str] = field(default_factory=list)
    phase: str = "Bound"


_DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


def endpoint_ip_problem(ip: str) -> str | None:
    """apiserver ``ValidateEndpoints`` address checks (IsValidIP + ValidateNonSpecialIP)."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
    if addr.is_unspecified:
        return f"may not be unspecified ({ip})"
    if addr.is_loopback:
        return "may not be in the loopback range (127.0.0.0/8, ::1/128)"
    if addr.is_link_local:
        return "may not be in the link-local range (169.254.0.0/16, fe80::/10)"
    if addr in ipaddress.ip_network("224.0.0.0/24") or (
            addr.version == 6 and addr in ipaddress.ip_network("ff02::/16")):
        return "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"
    return None


class FakeKube:
    """The API objects the plugin and the controllers read and write."""

    def __init__(self):
        self.storage_classes: dict[str, dict] = {}
        self.secrets: dict[tuple[str, str], dict] = {}
        self.pvs: dict[str, PV] = {}
        self.endpoints: dict[tuple[str, str], dict] = {}
        self.services: dict[tuple[str, str], dict] = {}
        self.fail_endpoint_creates = 0     # the next N Endpoints creates fail (API error)

    # -- manifests ------------------------------------------------------------
    def apply(self, doc: dict) -> None:
        """Store a Secret or StorageClass manifest (as ``kubectl apply`` would)."""
        kind = doc["kind"]
        meta = doc["metadata"]
        if kind == "Secret":
            data = {k: base64.b64decode(v, validate=True).decode()
                    for k, v in (doc.get("data") or {}).items()}
            data.update(doc.get("stringData") or {})
            self.secrets[(meta.get("namespace", "default"), meta["name"])] = {
                "type": doc.get("type", "Opaque"), "data": data}
        elif kind == "StorageClass":
            self.storage_classes[meta["name"]] = {
                "provisioner": doc["provisioner"],
                "parameters": {k: str(v) for k, v in (doc.get("parameters") or {}).items()},
                "reclaimPolicy": doc.get("reclaimPolicy", "Delete"),
                "allowVolumeExpansion": bool(doc.get("allowVolumeExpansion", False)),
                "mountOptions": list(doc.get("mountOptions") or [])}
        else:
            raise ValueError(f"FakeKube does not store {kind}")

    def add_secret(self, namespace: str, name: str, key: str,
                   type_: str = PLUGIN) -> None:
        self.apply({"kind": "Secret", "metadata": {"namespace": namespace, "name": name},
                    "type": type_, "data": {"key": base64.b64encode(key.encode()).decode()}})

    def add_class(self, name: str, parameters: dict[str, str], expand: bool = True,
                  reclaim: str = "Delete") -> None:
        self.apply({"kind": "StorageClass", "metadata": {"name": name}, "provisioner": PLUGIN,
                    "parameters": parameters, "reclaimPolicy": reclaim,
                    "allowVolumeExpansion": expand})

    # -- Endpoints/Service ------------------------------------------------------
    def create_endpoints(self, ep: dict) -> None:
        ns, name = ep["metadata"]["namespace"], ep["metadata"]["name"]
        if self.fail_endpoint_creates > 0:
            self.fail_endpoint_creates -= 1
            raise ProvisionError('Internal error occurred: etcdserver: request timed out')
        for i, subset in enumerate(ep["subsets"]):
            for j, address in enumerate(subset["addresses"]):
                problem = endpoint_ip_problem(address["ip"])
                if problem:
                    raise ProvisionError(
                        f'Endpoints "{name}" is invalid: subsets[{i}].addresses[{j}].ip: '
                        f'Invalid value: "{address["ip"]}": {problem}')
        if (ns, name) in self.endpoints:
            raise AlreadyExists(name)
        self.endpoints[(ns, name)] = ep

    def create_service(self, svc: dict) -> None:
        ns, name = svc["metadata"]["namespace"], svc["metadata"]["name"]
        if len(name) > 63 or not _DNS1035.match(name):
            raise ProvisionError(f'Service "{name}" is invalid: metadata.name: Invalid value: '
                                 f'"{name}": a DNS-1035 label must consist of lower case '
                                 "alphanumeric characters or '-', start with an alphabetic "
                                 "character, and end with an alphanumeric character")
        if (ns, name) in self.services:
            raise AlreadyExists(name)
        self.services[(ns, name)] = svc

    def delete_service(self, ns: str, name: str) -> None:
        if self.services.pop((ns, name), None) is None:
            raise ProvisionError(f'services "{name}" not found')
        # the endpoints controller deletes the same-named Endpoints of a deleted Service
        self.endpoints.pop((ns, name), None)


class AlreadyExists(ProvisionError):
    pass


# ---------------------------------------------------------------------------
# the plugin

def volume_id_of(pv: PV) -> str:
    """``getVolumeID``: the annotation, else the path with ``vol_`` trimmed."""
    path = pv.glusterfs["path"]
    return pv.annotations.get(ANN_HEKETI_VOLUME_ID) or (
        path.removeprefix(VOL_PREFIX))


class GlusterfsPlugin:
    """``glusterfsPlugin``: Provision, Delete, ExpandVolumeDevice.

    One instance = one kube-controller-manager (the gid tables live here).
    """

    def __init__(self, kube: FakeKube, session: aiohttp.ClientSession,
                 poll_interval: float = 1.0, retry_delay_scale: float = 1.0):
        self.kube = kube
        self.session = session
        self.poll_interval = poll_interval
        self.retry_delay_scale = retry_delay_scale
        self.gid_tables: dict[str, MinMaxAllocator] = {}
        self.wire: list[Wire] = []          # every HTTP exchange, for assertions

    def client(self, cfg: ProvisionerConfig) -> GoClient:
        return GoClient(self.session, cfg.url, cfg.user, cfg.secret_value,
                        poll_interval=self.poll_interval,
                        retry_delay_scale=self.retry_delay_scale, log=self.wire)

    # -- gid table ------------------------------------------------------------
    def _collect_gids(self, class_name: str, table: MinMaxAllocator) -> None:
        for pv in self.kube.pvs.values():
            if pv.storage_class != class_name or ANN_GID not in pv.annotations:
                continue
            try:
                gid = _convert_gid(pv.annotations[ANN_GID])
            except GoNumError:
                continue
            table.allocate(gid)

    def gid_table(self, class_name: str, lo: int, hi: int) -> MinMaxAllocator:
        table = self.gid_tables.get(class_name)
        if table is not None:
            table.set_range(lo, hi)
            return table
        table = MinMaxAllocator(0, ABSOLUTE_GID_MAX)
        self._collect_gids(class_name, table)
        table.set_range(lo, hi)
        return self.gid_tables.setdefault(class_name, table)

    # -- Provision ------------------------------------------------------------
    async def provision(self, pvc: PVC, parameters: dict[str, str], reclaim_policy: str,
                        mount_options: list[str]) -> PV:
        if not set(pvc.access_modes) <= set(ACCESS_MODES):
            raise ProvisionError(f"invalid AccessModes [{' '.join(pvc.access_modes)}]: only "
                                 f"AccessModes [{' '.join(ACCESS_MODES)}] are supported")
        if pvc.selector is not None:
            raise ProvisionError("not able to parse your claim Selector")
        if pvc.volume_mode == "Block":
            raise ProvisionError(f"{PLUGIN} does not support block volume provisioning")
        cfg = parse_class_parameters(parameters, self.kube)
        try:
            table = self.gid_table(pvc.storage_class, cfg.gid_min, cfg.gid_max)
        except ProvisionError as e:
            raise ProvisionError(f"failed to get gidTable: {e}") from None
        try:
            gid = table.allocate_next()
        except ProvisionError as e:
            raise ProvisionError(f"failed to reserve GID from table: {e}") from None
        try:
            source, size_gib, volume_id = await self._create_volume(cfg, pvc, gid)
        except ProvisionError as e:
            table.release(gid)
            raise ProvisionError(f"failed to create volume: {e}") from None
        return PV(name="", annotations={
            ANN_GID: str(gid), ANN_CREATED_BY: HEKETI_ANN, ANN_GLUSTER_TYPE: "file",
            "Description": GLUSTER_DESC_ANN, ANN_HEKETI_VOLUME_ID: volume_id},
            capacity=f"{size_gib}Gi", glusterfs=source,
            access_modes=list(pvc.access_modes) or list(ACCESS_MODES),
            reclaim_policy=reclaim_policy, mount_options=list(mount_options))

    async def _create_volume(self, cfg: ProvisionerConfig, pvc: PVC,
                             gid: int) -> tuple[dict, int, str]:
        size = round_up_to_gib_int(pvc.storage)
        if not cfg.url:
            raise ProvisionError("failed to create glusterfs REST client, REST URL is empty")
        cli = self.client(cfg)
        clusters = cfg.cluster_id.split(",") if cfg.cluster_id else None
        name = ""
        if cfg.volume_name_prefix:
            name = f"{cfg.volume_name_prefix}_{pvc.namespace}_{pvc.name}_{uuid.uuid1()}"
        try:
            body = volume_create_body(size, name, clusters, gid, cfg.volume_type,
                                      cfg.volume_options, cfg.thin_pool_snap_factor)
            volume = await cli.volume_create(body)
        except HeketiError as e:
            raise ProvisionError(f"failed to create volume: {e}") from None
        volume_id = volume["id"]
        try:
            hosts = await self._cluster_nodes(cli, volume["cluster"])
        except ProvisionError as e:
            raise ProvisionError(f"failed to get cluster nodes for volume {volume['name']}: "
                                 f"{e}") from None
        ep_name = (pvc.uid if not cfg.custom_ep_name_prefix
                   else f"{cfg.custom_ep_name_prefix}-{pvc.uid}")
        try:
            self._create_endpoint_service(pvc.namespace, ep_name, hosts, pvc.name)
        except ProvisionError as e:
            try:
                await cli.volume_delete(volume_id)
            except HeketiError:
                pass                     # "manual deletion of the volume required"
            raise ProvisionError(f"failed to create endpoint/service {pvc.namespace}/"
                                 f"{ep_name}: {e}") from None
        return ({"endpoints": ep_name, "endpointsNamespace": pvc.namespace,
                 "path": volume["name"]}, size, volume_id)

    @staticmethod
    async def _cluster_nodes(cli: GoClient, cluster: str) -> list[str]:
        try:
            info = await cli.cluster_info(cluster)
        except HeketiError as e:
            raise ProvisionError(f"failed to get cluster details: {e}") from None
        hosts = []
        for node in info["nodes"] or []:
            try:
                node_info = await cli.node_info(node)
            except HeketiError as e:
                raise ProvisionError(f"failed to get host ipaddress: {e}") from None
            hosts.append("".join(node_info["hostnames"]["storage"] or []))
        if not hosts:
            raise ProvisionError("no hosts found: <nil>")
        return hosts

    def _create_endpoint_service(self, namespace: str, name: str, hosts: list[str],
                                 pvc_name: str) -> None:
        labels = {LABEL_PVC: pvc_name}
        ep = {"metadata": {"namespace": namespace, "name": name, "labels": labels},
              "subsets": [{"addresses": [{"ip": ip} for ip in hosts],
                           "ports": [{"port": 1, "protocol": "TCP"}]}]}
        svc = {"metadata": {"namespace": namespace, "name": name, "labels": labels},
               "spec": {"ports": [{"protocol": "TCP", "port": 1}]}}
        for create, obj, wrap in ((self.kube.create_endpoints, ep, "failed to create endpoint"),
                                  (self.kube.create_service, svc, "error creating service")):
            try:
                create(obj)
            except AlreadyExists:
                pass                     # "already exist": fine, as in the plugin
            except ProvisionError as e:
                raise ProvisionError(f"{wrap}: {e}") from None

    # -- Delete ---------------------------------------------------------------
    async def delete(self, pv: PV) -> None:
        volume_id = volume_id_of(pv)
        if not volume_id:
            raise ProvisionError("failed to get volumeID: volume ID is empty")
        cls = self._class_for(pv)
        cfg = parse_class_parameters(cls["parameters"], self.kube)
        if ANN_GID in pv.annotations:
            try:
                gid = _convert_gid(pv.annotations[ANN_GID])
            except GoNumError:
                gid = None               # logged only
            if gid is not None:
                # released before the volume is deleted, as the plugin does
                self.gid_table(pv.storage_class, cfg.gid_min, cfg.gid_max).release(gid)
        try:
            await self.client(cfg).volume_delete(volume_id)
        except HeketiError as e:
            raise ProvisionError(str(e)) from None
        if not pv.claim_ref:
            raise ProvisionError("ClaimRef is nil")
        namespace = pv.claim_ref["namespace"]
        try:
            self.kube.delete_service(namespace, pv.glusterfs["endpoints"])
        except ProvisionError:
            pass                         # logged only

    def _class_for(self, pv: PV) -> dict:
        if not pv.storage_class:
            raise ProvisionError("volume has no storage class")
        cls = self.kube.storage_classes.get(pv.storage_class)
        if cls is None:
            raise ProvisionError(f'storageclasses.storage.k8s.io "{pv.storage_class}" '
                                 "not found")
        return cls

    # -- ExpandVolumeDevice ----------------------------------------------------
    async def expand(self, pv: PV, new_size: str, old_size: str) -> str:
        volume_id = volume_id_of(pv)
        cfg = parse_class_parameters(self._class_for(pv)["parameters"], self.kube)
        cli = self.client(cfg)
        delta_gib = round_up_size(quantity_value(new_size) - quantity_value(old_size), GIB)
        request_gib = round_up_size(quantity_value(new_size), GIB)
        try:
            current = await cli.volume_info(volume_id)
        except HeketiError as e:
            raise ProvisionError(str(e)) from None
        if current["size"] >= request_gib:
            return new_size
        try:
            expanded = await cli.volume_expand(volume_id, delta_gib)
        except HeketiError as e:
            raise ProvisionError(str(e)) from None
        return f"{expanded['size']}Gi"


# ---------------------------------------------------------------------------
# controllers around the plugin

class Controller:
    """The PV controller, StatefulSet claim creation and the expand controller,
    reduced to what matters for the plugin's calls."""

    def __init__(self, kube: FakeKube, plugin: GlusterfsPlugin, backoff: float = 0.0):
        self.kube = kube
        self.plugin = plugin
        self.backoff = backoff

    async def provision(self, pvc: PVC) -> PV:
        """One ``provisionClaimOperation``: the plugin's Provision, then bind."""
        cls = self.kube.storage_classes[pvc.storage_class]
        assert cls["provisioner"] == PLUGIN
        try:
            pv = await self.plugin.provision(pvc, cls["parameters"], cls["reclaimPolicy"],
                                             cls["mountOptions"])
        except ProvisionError as e:
            pvc.events.append(("ProvisioningFailed", str(e)))
            raise
        pv.name = f"pvc-{pvc.uid}"
        pv.storage_class = pvc.storage_class
        pv.claim_ref = {"namespace": pvc.namespace, "name": pvc.name, "uid": pvc.uid}
        pv.annotations[ANN_PROVISIONED_BY] = PLUGIN
        self.kube.pvs[pv.name] = pv
        pvc.volume_name, pvc.capacity = pv.name, pv.capacity
        pvc.events.append(("ProvisioningSucceeded", f"Successfully provisioned volume {pv.name}"
                                                    f" using {PLUGIN}"))
        return pv

    async def provision_until_bound(self, pvc: PVC, attempts: int) -> PV | None:
        """The controller retries a failed Provision (with back-off) until it binds."""
        for attempt in range(attempts):
            try:
                return await self.provision(pvc)
            except ProvisionError:
                if attempt + 1 < attempts:
                    await asyncio.sleep(self.backoff)
        return None

    async def delete_claim(self, pvc: PVC) -> None:
        """The claim is deleted; reclaim policy Delete runs the plugin's Delete."""
        pv = self.kube.pvs[pvc.volume_name]
        pv.phase = "Released"
        if pv.reclaim_policy != "Delete":
            return
        try:
            await self.plugin.delete(pv)
        except ProvisionError as e:
            pv.phase = "Failed"
            pvc.events.append(("VolumeFailedDelete", str(e)))
            raise
        del self.kube.pvs[pv.name]

    async def expand_claim(self, pvc: PVC, new_size: str) -> str:
        """``kubectl patch pvc ... storage: new_size`` → expand controller → plugin."""
        cls = self.kube.storage_classes[pvc.storage_class]
        if not cls["allowVolumeExpansion"]:
            raise ProvisionError("only dynamically provisioned pvc can be resized and the "
                                 "storageclass that provisions the pvc must support resize")
        pv = self.kube.pvs[pvc.volume_name]
        new_capacity = await self.plugin.expand(pv, new_size, pv.capacity)
        pv.capacity = pvc.capacity = new_capacity
        return new_capacity


def statefulset_claims(template: str, sts: str, replicas: int, namespace: str,
                       storage: str, storage_class: str) -> list[PVC]:
    """The PVCs a StatefulSet's volumeClaimTemplate makes: ``<template>-<sts>-<ordinal>``."""
    return [PVC(name=f"{template}-{sts}-{i}", storage=storage, namespace=namespace,
                storage_class=storage_class, access_modes=["ReadWriteOnce"])
            for i in range(replicas)]
