"""CSI volume names <-> heketi volume names (idempotency by name).

The external-provisioner retries ``CreateVolume`` with the same ``name``
(``pvc-<PVC UID>``) until it gets a final answer; the in-tree plugin named
volumes ``vol_<id>`` or ``<prefix>_<ns>_<pvc>_<random uuid>`` and so leaked
a volume per retry.  Here the heketi volume name is derived from the CSI
name alone (its *key*), so a retry finds the volume it already made, and the
server refuses a second volume of the same name in a cluster.

* key: the CSI name itself when it is a heketi-safe word (``pvc-<uuid>``
  always is), else ``csi-`` + 40 hex digits of its SHA-256;
* heketi name: the key, or with ``volumenameprefix``
  ``<prefix>_<pvc namespace>_<pvc name>_<key>`` (the in-tree layout with the
  key in place of a random UUID; ``<prefix>_<key>`` when the provisioner
  does not pass the PVC's name).
Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import re

from pyketi.csi.params import ParameterError

_KEY = re.compile(r"^[A-Za-z0-9-]{1,100}$")
_WORD = re.compile(r"^[A-Za-z0-9-]+$")
_UNSAFE = re.compile(r"[^A-Za-z0-9-]")
MAX_PREFIX = 64
MAX_PART = 40


def csi_key(csi_name: str) -> str:
    if _KEY.match(csi_name):
        return csi_name
    return "csi-" + hashlib.sha256(csi_name.encode("utf-8")).hexdigest()[:40]


def _part(value: str) -> str:
    return _UNSAFE.sub("-", value)[:MAX_PART]


def heketi_name(csi_name: str, prefix: str = "", pvc_namespace: str = "",
                pvc_name: str = "") -> str:
    key = csi_key(csi_name)
    if not prefix:
        return key
    if not _WORD.match(prefix) or len(prefix) > MAX_PREFIX:
        raise ParameterError("Storageclass parameter 'volumenameprefix' must be at most "
                             f"{MAX_PREFIX} letters, digits or '-'")
    if pvc_namespace and pvc_name:
        return f"{prefix}_{_part(pvc_namespace)}_{_part(pvc_name)}_{key}"
    return f"{prefix}_{key}"


def key_of(volume_name: str) -> str:
    """The key a heketi volume name carries (its last ``_``-separated word)."""
    return volume_name.rsplit("_", 1)[-1]
