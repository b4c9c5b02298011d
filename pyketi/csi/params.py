"""StorageClass parameters -> a heketi volume request, as the in-tree plugin did.

Kubernetes' removed ``kubernetes.io/glusterfs`` provisioner read these keys
(case-insensitive) and refused any other; its texts are kept so an error
shown by ``kubectl describe pvc`` reads the same.  Pure: no I/O.

CSI additions: keys under ``csi.storage.k8s.io/`` that reach the driver
(``pvc/name``, ``pvc/namespace``, ``pv/name`` from ``--extra-create-metadata``)
are accepted; ``secretName``/``secretNamespace``/``restauthenabled``/
``customepnameprefix`` are accepted and have no effect (the provisioner
secret and the PV carry what they did).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

PLUGIN = "kubernetes.io/glusterfs"
REPLICA_COUNT = 3
ABSOLUTE_GID_MIN = 2000
ABSOLUTE_GID_MAX = 2**31 - 1
MAX_CUSTOM_EP_NAME_PREFIX_LEN = 26

PVC_NAME = "csi.storage.k8s.io/pvc/name"
PVC_NAMESPACE = "csi.storage.k8s.io/pvc/namespace"
PV_NAME = "csi.storage.k8s.io/pv/name"
CSI_PREFIX = "csi.storage.k8s.io/"
_CSI_KEYS = {PVC_NAME, PVC_NAMESPACE, PV_NAME}
_IGNORED = {"secretname", "secretnamespace", "restauthenabled"}

_INT = re.compile(r"^[+-]?[0-9]+$")
_FLOAT = re.compile(r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$")


class ParameterError(ValueError):
    """A StorageClass parameter the plugin refuses (INVALID_ARGUMENT)."""


@dataclass(frozen=True)
class Durability:
    type: str                       # "replicate" | "disperse" | "none"
    replica: int = 0
    data: int = 0
    redundancy: int = 0

    def client_args(self) -> dict[str, object]:
        """Keyword arguments for ``Client.volume_create``."""
        if self.type == "replicate":
            return {"durability": "replicate", "replica": self.replica}
        if self.type == "disperse":
            return {"durability": "disperse", "disperse_data": self.data,
                    "redundancy": self.redundancy}
        return {"durability": "none"}

    def matches(self, info: dict) -> bool:
        """Does a server ``durability`` object describe this durability?"""
        kind = info.get("type") or "none"
        if kind != self.type:
            return False
        if kind == "replicate":
            return int((info.get("replicate") or {}).get("replica") or 0) == self.replica
        if kind == "disperse":
            d = info.get("disperse") or {}
            return (int(d.get("data") or 0), int(d.get("redundancy") or 0)) == \
                (self.data, self.redundancy)
        return True

    def describe(self) -> str:
        if self.type == "replicate":
            return f"replicate:{self.replica}"
        if self.type == "disperse":
            return f"disperse:{self.data}:{self.redundancy}"
        return "none"


@dataclass(frozen=True)
class ClassParameters:
    """What the StorageClass asks for (connection overrides apart)."""

    durability: Durability = Durability("replicate", REPLICA_COUNT)
    clusters: tuple[str, ...] = ()
    volume_options: tuple[str, ...] = ()
    name_prefix: str = ""
    snap_factor: float = 1.0
    gid_min: int = ABSOLUTE_GID_MIN
    gid_max: int = ABSOLUTE_GID_MAX
    pvc_name: str = ""
    pvc_namespace: str = ""
    # connection overrides; ``rest_key`` comes from ``restuserkey`` (a secret)
    rest_url: str = ""
    rest_user: str = ""
    rest_key: str = field(default="", repr=False)


def _go_int(text: str, bits: int) -> int:
    if not _INT.match(text):
        raise ValueError(f'parsing "{text}": invalid syntax')
    value = int(text)
    if not -(2 ** (bits - 1)) <= value < 2 ** (bits - 1):
        raise ValueError(f'parsing "{text}": value out of range')
    return value


def _volume_param(text: str) -> int:
    try:
        count = _go_int(text, 64)
    except ValueError as e:
        raise ParameterError(f'error parsing volumeType "{text}": failed to parse '
                             f'volumestring "{text}": strconv.Atoi: {e}') from None
    if count < 0:
        raise ParameterError(f'error parsing volumeType "{text}": negative values '
                             "are not allowed")
    return count


def parse_volume_type(value: str) -> Durability:
    if not value:
        return Durability("replicate", REPLICA_COUNT)
    parts = value.split(":")
    if parts[0] == "replicate":
        return Durability("replicate", _volume_param(parts[1]) if len(parts) >= 2
                          else REPLICA_COUNT)
    if parts[0] == "disperse":
        if len(parts) < 3:
            raise ParameterError(f'StorageClass for provisioner "{PLUGIN}" must have '
                                 "data:redundancy count set for disperse volumes in "
                                 "storage class option 'volumetype'")
        return Durability("disperse", data=_volume_param(parts[1]),
                          redundancy=_volume_param(parts[2]))
    if parts[0] == "none":
        return Durability("none")
    raise ParameterError("error parsing value for option 'volumetype' for volume "
                         f"plugin {PLUGIN}")


def _gid(key: str, label: str, value: str) -> int:
    try:
        gid = _go_int(value, 32)
    except ValueError:
        gid = -1
    if gid < 0:
        raise ParameterError(f'invalid {label} value "{key}" for volume plugin {PLUGIN}')
    if gid < ABSOLUTE_GID_MIN:
        raise ParameterError(f"{label} must be >= {ABSOLUTE_GID_MIN}")
    if gid > ABSOLUTE_GID_MAX:
        raise ParameterError(f"{label} must be <= {ABSOLUTE_GID_MAX}")
    return gid


def _snap_factor(value: str) -> float:
    if not _FLOAT.match(value):
        raise ParameterError(f"failed to convert snapfactor {value} to float: "
                             f'strconv.ParseFloat: parsing "{value}": invalid syntax')
    factor = float(value)
    if not 1.0 <= factor <= 100.0 or math.isnan(factor):
        raise ParameterError(f"invalid snapshot factor {value}, the value must be "
                             "between 1 to 100")
    return factor


def parse_parameters(params: dict[str, str]) -> ClassParameters:
    """The in-tree ``parseClassParameters`` (minus ``resturl`` being required:
    the driver has its own default server)."""
    out: dict[str, object] = {}
    volume_type = ""
    for key, value in params.items():
        low = key.lower()
        if key in _CSI_KEYS:
            name = {PVC_NAME: "pvc_name", PVC_NAMESPACE: "pvc_namespace"}.get(key)
            if name:
                out[name] = value
        elif key.startswith(CSI_PREFIX):
            raise ParameterError(f'invalid option "{key}" for volume plugin {PLUGIN}')
        elif low == "resturl":
            out["rest_url"] = value
        elif low == "restuser":
            out["rest_user"] = value
        elif low == "restuserkey":
            out["rest_key"] = value
        elif low in _IGNORED:
            pass
        elif low == "clusterid":
            if value:
                out["clusters"] = tuple(value.split(","))
        elif low in ("gidmin", "gidmax"):
            label = "gidMin" if low == "gidmin" else "gidMax"
            out["gid_min" if low == "gidmin" else "gid_max"] = _gid(key, label, value)
        elif low == "volumetype":
            volume_type = value
        elif low == "volumeoptions":
            if value:
                out["volume_options"] = tuple(value.split(","))
        elif low == "volumenameprefix":
            if value:
                if "_" in value:
                    raise ParameterError("Storageclass parameter 'volumenameprefix' should "
                                         "not contain '_' in its value")
                out["name_prefix"] = value
        elif low == "snapfactor":
            if value:
                out["snap_factor"] = _snap_factor(value)
        elif low == "customepnameprefix":
            if len(value) > MAX_CUSTOM_EP_NAME_PREFIX_LEN:
                raise ParameterError("'customepnameprefix' value should be < "
                                     f"{MAX_CUSTOM_EP_NAME_PREFIX_LEN} characters")
        else:
            raise ParameterError(f'invalid option "{key}" for volume plugin {PLUGIN}')
    out["durability"] = parse_volume_type(volume_type)
    result = ClassParameters(**out)  # type: ignore[arg-type]
    if result.gid_min > result.gid_max:
        raise ParameterError(f'StorageClass for provisioner "{PLUGIN}" must have gidMax '
                             "value >= gidMin")
    return result
