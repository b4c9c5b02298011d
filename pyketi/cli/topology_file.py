"""Reading and validating topology files (heketi-spec §4).

The whole file is checked before anything is sent to the server; the first
problem is reported with its position: line/column for JSON syntax errors,
a JSON path such as ``clusters[0].nodes[1].node.zone`` for content errors.
Keys heketi ignores are ignored here too, but reported as warnings because
they are usually typos (``"device"`` for ``"devices"``).
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, field
from typing import Any

DEVICE_NAME_RE = re.compile(r"^/[a-zA-Z0-9_.:/-]+$")
TAG_NAME_RE = re.compile(r"^[a-zA-Z0-9_.-]{1,32}$")
HOSTNAME_RE = re.compile(
    r"^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)"
    r"(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*\.?$")
MAX_TAGS = 32
MAX_TAG_VALUE = 64

_KNOWN_KEYS = {
    "": {"clusters"},
    "cluster": {"nodes", "block", "file"},
    "node entry": {"node", "devices"},
    "node": {"hostnames", "zone", "tags", "cluster"},
    "hostnames": {"manage", "storage"},
    "device": {"name", "destroydata", "tags"},
}


class TopologyFileError(Exception):
    """The file can't be used; ``str()`` names the file and the position."""


@dataclass
class DeviceSpec:
    name: str
    tags: dict[str, str] = field(default_factory=dict)
    destroydata: bool = False


@dataclass
class NodeSpec:
    path: str  # JSON path of the node entry, for messages
    manage: list[str]
    storage: list[str]
    zone: int
    tags: dict[str, str] = field(default_factory=dict)
    devices: list[DeviceSpec] = field(default_factory=list)

    @property
    def manage_host(self) -> str:
        return self.manage[0]


@dataclass
class ClusterSpec:
    block: bool
    file: bool
    nodes: list[NodeSpec]


@dataclass
class Topology:
    clusters: list[ClusterSpec]
    warnings: list[str] = field(default_factory=list)


class _Invalid(Exception):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path or '(top level)'}: {message}")


def load(path: str) -> Topology:
    """Read and validate the topology file at ``path``."""
    try:
        with open(path, encoding="utf-8") as fp:
            text = fp.read()
    except OSError as exc:
        raise TopologyFileError(f"unable to open topology file {path}: "
                                f"{exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise TopologyFileError(f"{path}: not UTF-8 text ({exc.reason} at byte "
                                f"{exc.start})") from None
    return parse(text, path)


def parse(text: str, source: str = "<topology>") -> Topology:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TopologyFileError(f"{source}: invalid JSON at line {exc.lineno} "
                                f"column {exc.colno}: {exc.msg}") from None
    checker = _Checker()
    try:
        topology = checker.topology(data)
    except _Invalid as exc:
        raise TopologyFileError(f"{source}: {exc}") from None
    topology.warnings = [f"{source}: {w}" for w in checker.warnings]
    return topology


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


class _Checker:
    def __init__(self) -> None:
        self.warnings: list[str] = []
        self._manage_seen: dict[str, str] = {}
        self._storage_seen: dict[str, str] = {}

    def _object(self, value: Any, path: str, kind: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise _Invalid(path, f"must be an object, not {_type_name(value)}")
        for key in value:
            if key not in _KNOWN_KEYS[kind]:
                self.warnings.append(f"{_join(path, key)}: unknown key ignored")
        return value

    def _list(self, value: Any, path: str, *, required: bool = True,
              non_empty: bool = False) -> list[Any]:
        if value is None and not required:
            return []
        if not isinstance(value, list):
            raise _Invalid(path, "must be a list" if value is not None
                           else "is required (a list)")
        if non_empty and not value:
            raise _Invalid(path, "must not be empty")
        return value

    def _bool(self, obj: dict[str, Any], key: str, path: str, default: bool) -> bool:
        value = obj.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise _Invalid(_join(path, key), "must be true or false")
        return value

    def topology(self, data: Any) -> Topology:
        root = self._object(data, "", "")
        if "clusters" not in root:
            raise _Invalid("clusters", "is required (a list of clusters)")
        clusters = [self.cluster(c, f"clusters[{i}]")
                    for i, c in enumerate(self._list(root["clusters"], "clusters"))]
        return Topology(clusters)

    def cluster(self, data: Any, path: str) -> ClusterSpec:
        obj = self._object(data, path, "cluster")
        nodes_path = _join(path, "nodes")
        nodes = [self.node(n, f"{nodes_path}[{i}]")
                 for i, n in enumerate(self._list(obj.get("nodes"), nodes_path))]
        return ClusterSpec(block=self._bool(obj, "block", path, True),
                           file=self._bool(obj, "file", path, True), nodes=nodes)

    def node(self, data: Any, path: str) -> NodeSpec:
        entry = self._object(data, path, "node entry")
        node_path = _join(path, "node")
        if "node" not in entry:
            raise _Invalid(node_path, "is required (an object)")
        node = self._object(entry["node"], node_path, "node")
        hn_path = _join(node_path, "hostnames")
        if "hostnames" not in node:
            raise _Invalid(hn_path, "is required (an object with manage and storage)")
        hostnames = self._object(node["hostnames"], hn_path, "hostnames")
        manage = self.hostnames(hostnames, "manage", hn_path, self._manage_seen, path)
        storage = self.hostnames(hostnames, "storage", hn_path, self._storage_seen, path)
        zone_path = _join(node_path, "zone")
        zone = node.get("zone")
        if isinstance(zone, bool) or not isinstance(zone, int) or zone < 1:
            raise _Invalid(zone_path, "must be an integer >= 1")
        tags = self.tags(node.get("tags"), _join(node_path, "tags"))
        dev_path = _join(path, "devices")
        devices: list[DeviceSpec] = []
        seen: dict[str, str] = {}
        for i, d in enumerate(self._list(entry.get("devices"), dev_path, required=False)):
            item_path = f"{dev_path}[{i}]"
            device = self.device(d, item_path)
            if device.name in seen:
                raise _Invalid(item_path, f"device {device.name} is listed twice "
                                          f"(also at {seen[device.name]})")
            seen[device.name] = item_path
            devices.append(device)
        return NodeSpec(path=path, manage=manage, storage=storage, zone=zone,
                        tags=tags, devices=devices)

    def hostnames(self, obj: dict[str, Any], key: str, path: str,
                  seen: dict[str, str], node_path: str) -> list[str]:
        list_path = _join(path, key)
        names = self._list(obj.get(key), list_path, non_empty=True)
        for i, name in enumerate(names):
            item_path = f"{list_path}[{i}]"
            if not isinstance(name, str) or not name:
                raise _Invalid(item_path, "must be a non-empty string")
            if not _is_host(name):
                raise _Invalid(item_path, f"{name!r} is not a valid host name or IP address")
            if key == "storage" and not _is_ip(name):
                self.warnings.append(
                    f"{item_path}: {name!r} is not an IP address; Kubernetes "
                    f"endpoints built from storage hostnames need IP addresses")
        first = names[0]
        if first in seen:
            raise _Invalid(f"{list_path}[0]", f"{key} hostname {first!r} is already "
                                              f"used by {seen[first]}")
        seen[first] = node_path
        return list(names)

    def device(self, data: Any, path: str) -> DeviceSpec:
        if isinstance(data, str):
            return DeviceSpec(self.device_name(data, path))
        obj = self._object(data, path, "device")
        if "name" not in obj:
            raise _Invalid(_join(path, "name"), "is required")
        name = obj["name"]
        if not isinstance(name, str):
            raise _Invalid(_join(path, "name"), "must be a string")
        return DeviceSpec(self.device_name(name, _join(path, "name")),
                          tags=self.tags(obj.get("tags"), _join(path, "tags")),
                          destroydata=self._bool(obj, "destroydata", path, False))

    @staticmethod
    def device_name(name: str, path: str) -> str:
        if not DEVICE_NAME_RE.match(name):
            raise _Invalid(path, f"{name!r} is not a valid device path "
                                 f"(must start with / and use only a-z A-Z 0-9 _ . : / -)")
        return name

    @staticmethod
    def tags(value: Any, path: str) -> dict[str, str]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise _Invalid(path, "must be an object of tag names to string values")
        if len(value) > MAX_TAGS:
            raise _Invalid(path, f"too many tags ({len(value)}), up to {MAX_TAGS} supported")
        for name, tag_value in value.items():
            if not TAG_NAME_RE.match(name):
                raise _Invalid(_join(path, name), "tag name must be 1-32 characters "
                                                  "of a-z A-Z 0-9 _ . -")
            if not isinstance(tag_value, str):
                raise _Invalid(_join(path, name), "tag value must be a string")
            if len(tag_value) > MAX_TAG_VALUE:
                raise _Invalid(_join(path, name),
                               f"tag value longer than {MAX_TAG_VALUE} characters")
        return dict(value)


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _is_host(name: str) -> bool:
    return _is_ip(name) or bool(HOSTNAME_RE.match(name))


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            int: "a number", float: "a number", type(None): "null"}.get(type(value),
                                                                         type(value).__name__)
