"""The ``volume_context`` a volume carries (the PV's ``volumeAttributes``):
written by CreateVolume from the server's volume info, read by the node
service to mount it.  Pure."""

from __future__ import annotations

from collections.abc import Mapping

CTX_VOLUME = "glusterVolume"
CTX_HOSTS = "glusterHosts"
CTX_CLUSTER = "glusterCluster"
CTX_GID = "gid"
CTX_DURABILITY = "durability"


def volume_context(info: Mapping) -> dict[str, str]:
    mount = (info.get("mount") or {}).get("glusterfs") or {}
    ctx = {CTX_VOLUME: info["name"], CTX_HOSTS: ",".join(mount.get("hosts") or []),
           CTX_CLUSTER: info.get("cluster", ""),
           CTX_DURABILITY: (info.get("durability") or {}).get("type") or "none"}
    if info.get("gid"):
        ctx[CTX_GID] = str(info["gid"])
    return ctx
