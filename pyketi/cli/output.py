"""Human-readable output in heketi-cli's wording (``client/cli/go/cmds``).

Scripts parse these texts, so field names, spacing and padding follow
heketi-cli; Go's ``%v`` of a bool is ``true``/``false`` and of a string list
``[a b]``.  Sizes from the server are KiB and printed as whole GiB.
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from pyketi.client import models as m
from pyketi.units import GIB_KIB as KIB_PER_GIB


def go(value: Any) -> str:
    """Go's ``%v`` for the JSON values we print."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + " ".join(go(v) for v in value) + "]"
    if value is None:
        return "<nil>"
    return str(value)


def gib(kib: int) -> int:
    return kib // KIB_PER_GIB


def emit_json(out: TextIO, obj: Any) -> None:
    """The server's JSON, compact like heketi-cli's ``json.Marshal``; a final
    newline only on a terminal (heketi-cli prints none)."""
    out.write(json.dumps(obj, separators=(",", ":")))
    if out.isatty():
        out.write("\n")


# -- volumes -------------------------------------------------------------------

def brick_set_size(volume: m.VolumeInfo) -> int:
    durability = volume["durability"]
    kind = durability.get("type", "")
    if kind == "replicate":
        return durability.get("replicate", {}).get("replica") or 2
    if kind == "disperse":
        disperse = durability.get("disperse", {})
        return (disperse.get("data") or 4) + (disperse.get("redundancy") or 2)
    return 1


def restriction_text(restriction: str) -> str:
    """heketi's ``BlockRestriction.String()``."""
    return {"": "(none)", "locked": "locked",
            "locked-by-update": "locked-by-update"}.get(restriction, "unknown")


def mount_options(volume: m.VolumeInfo) -> str:
    """``{{range $k, $v := .Mount.GlusterFS.Options}}{{$k}}={{$v}}{{end}}``."""
    return "".join(f"{k}={v}" for k, v in
                   sorted(volume["mount"]["glusterfs"].get("options", {}).items()))


def volume_text(volume: m.VolumeInfo) -> str:
    """heketi-cli's ``volumeTemplate`` (``cmds/volume.go``)."""
    block = volume.get("blockinfo", {})
    durability = volume["durability"]
    kind = durability.get("type", "")
    lines = [
        f"Name: {volume['name']}",
        f"Size: {volume['size']}",
        f"Volume Id: {volume['id']}",
        f"Cluster Id: {volume['cluster']}",
        f"Mount: {volume['mount']['glusterfs']['device']}",
        f"Mount Options: {mount_options(volume)}",
        f"Block: {go(volume.get('block', False))}",
        f"Free Size: {block.get('freesize', 0)}",
        f"Reserved Size: {block.get('reservedsize', 0)}",
        f"Block Hosting Restriction: {restriction_text(block.get('restriction', ''))}",
        f"Block Volumes: {go(block.get('blockvolume', []))}",
        f"Durability Type: {kind}",
        f"Distribute Count: {len(volume['bricks']) // brick_set_size(volume)}",
    ]
    if kind == "replicate":
        lines.append(f"Replica Count: {durability.get('replicate', {}).get('replica', 0)}")
    elif kind == "disperse":
        disperse = durability.get("disperse", {})
        lines.append(f"Disperse Data Count: {disperse.get('data', 0)}")
        lines.append(f"Disperse Redundancy Count: {disperse.get('redundancy', 0)}")
    snapshot = volume.get("snapshot", {})
    if snapshot.get("enable"):
        # the template ends "{{if .Snapshot.Enable}}\nSnapshot Factor: ..\n{{end}}\n"
        lines.append(f"Snapshot Factor: {snapshot.get('factor', 1):.2f}\n")
    return "\n".join(lines) + "\n"


def volume_list_line(volume: m.VolumeInfo) -> str:
    block = " [block]" if volume.get("block") else ""
    return f"Id:{volume['id']:<35} Cluster:{volume['cluster']:<35} Name:{volume['name']}{block}\n"


# -- clusters ------------------------------------------------------------------

def cluster_info_text(info: m.ClusterInfo) -> str:
    return (f"Cluster id: {info['id']}\n"
            f"Nodes:\n" + "\n".join(info["nodes"]) +
            "\nVolumes:\n" + "\n".join(info["volumes"]) +
            f"\nBlock: {go(info.get('block', False))}\n"
            f"\nFile: {go(info.get('file', False))}\n")


def cluster_usage(info: m.ClusterInfo) -> str:
    usage = ("[file]" if info.get("file") else "") + ("[block]" if info.get("block") else "")
    return usage or "[]"


# -- nodes and devices ---------------------------------------------------------

def state_text(state: str) -> str:
    """heketi-cli's ``entryStateString``: a failed (removed) entry reads "removed"."""
    return "removed" if state == "failed" else state


def _tags_lines(tags: dict[str, str] | None) -> str:
    if not tags:
        return ""
    return "Tags:\n" + "".join(f"  {k}: {v}\n" for k, v in sorted(tags.items()))


def _node_head(node: m.NodeInfo) -> str:
    """heketi-cli's ``printNodeInfo``."""
    return (f"Node Id: {node['id']}\n"
            f"State: {state_text(node['state'])}\n"
            f"Cluster Id: {node['cluster']}\n"
            f"Zone: {node['zone']}\n"
            f"Management Hostname: {node['hostnames']['manage'][0]}\n"
            f"Storage Hostname: {node['hostnames']['storage'][0]}\n"
            + _tags_lines(node.get("tags")))


def node_added_text(node: m.NodeInfo) -> str:
    return "Node information:\n" + _node_head(node)


def _device_usage(d: m.DeviceInfo) -> str:
    s = d["storage"]
    return (f"State:{state_text(d['state']):<10}"
            f"Size (GiB):{gib(s['total']):<8}Used (GiB):{gib(s['used']):<8}"
            f"Free (GiB):{gib(s['free']):<8}")


def _brick_row(b: m.BrickInfo) -> str:
    return f"Id:{b['id']:<35}Size (GiB):{gib(b['size']):<8}Path: {b['path']}"


def node_text(node: m.NodeInfo) -> str:
    text = _node_head(node) + "Devices:\n"
    for d in node["devices"]:
        text += (f"Id:{d['id']:<35}Name:{d['name']:<20}{_device_usage(d)}"
                 f"Bricks:{len(d['bricks']):<8}\n")
    return text


def device_text(device: m.DeviceInfo) -> str:
    s = device["storage"]
    text = (f"Device Id: {device['id']}\n"
            f"State: {state_text(device['state'])}\n"
            f"Size (GiB): {gib(s['total'])}\n"
            f"Used (GiB): {gib(s['used'])}\n"
            f"Free (GiB): {gib(s['free'])}\n"
            f"Create Path: {device['name']}\n"
            f"Physical Volume UUID: {device.get('pv_uuid', '')}\n"
            f"Known Paths: {' '.join(device.get('paths', []))}\n")
    text += _tags_lines(device.get("tags"))
    text += "Bricks:\n"
    for b in device["bricks"]:
        text += _brick_row(b) + "\n"
    return text


# -- topology info (heketi-cli v10's topologyTemplate, byte for byte) -----------

def _topology_volume(v: m.VolumeInfo) -> str:
    kind = v["durability"].get("type", "")
    text = (f"\n\tName: {v['name']}\n\tSize: {v['size']}\n\tId: {v['id']}"
            f"\n\tCluster Id: {v['cluster']}\n\tMount: {v['mount']['glusterfs']['device']}"
            f"\n\tMount Options: {mount_options(v)}\n\tDurability Type: {kind}")
    if kind == "replicate":
        text += f"\n\tReplica: {v['durability'].get('replicate', {}).get('replica', 0)}"
    elif kind == "disperse":
        disperse = v["durability"].get("disperse", {})
        text += (f"\n\tDisperse Data: {disperse.get('data', 0)}"
                 f"\n\tDisperse Redundancy: {disperse.get('redundancy', 0)}")
    snapshot = v.get("snapshot", {})
    if snapshot.get("enable"):
        text += f"\n\tSnapshot: Enabled\n\tSnapshot Factor: {snapshot.get('factor', 1):.2f}\n"
    else:
        text += "\n\tSnapshot: Disabled\n"
    text += "\n\t\tBricks:"
    for b in v["bricks"]:
        text += (f"\n\t\t\tId: {b['id']}\n\t\t\tPath: {b['path']}\n\t\t\tSize (GiB): "
                 f"{gib(b['size'])}\n\t\t\tNode: {b['node']}\n\t\t\tDevice: {b['device']}\n")
    return text + "\n"


def _topology_tags(tags: dict[str, str] | None, indent: str) -> str:
    """``{{if len .Tags | ne 0}}\n<indent>Tags: k:v ...\n{{end}}`` (keys sorted, as Go)."""
    if not tags:
        return ""
    return f"\n{indent}Tags:" + "".join(f" {k}:{v}" for k, v in sorted(tags.items())) + "\n"


def _topology_device(d: m.DeviceInfo) -> str:
    paths = " ".join(d.get("paths") or []) or d["name"]
    text = (f"\n\t\tId:{d['id']:<35}{_device_usage(d)}"
            + _topology_tags(d.get("tags"), "\t\t\t")
            + f"\n\t\t\tKnown Paths: {paths}\n\n\t\t\tBricks:")
    return text + "".join(f"\n\t\t\t\t{_brick_row(b)}" for b in d["bricks"])


def _topology_node(n: m.NodeInfo) -> str:
    return (f"\n\tNode Id: {n['id']}\n\tState: {state_text(n['state'])}"
            f"\n\tCluster Id: {n['cluster']}\n\tZone: {n['zone']}"
            f"\n\tManagement Hostnames: {', '.join(n['hostnames']['manage'])}"
            f"\n\tStorage Hostnames: {', '.join(n['hostnames']['storage'])}"
            + _topology_tags(n.get("tags"), "\t") + "\n\tDevices:"
            + "".join(_topology_device(d) for d in n["devices"]) + "\n")


def topology_cluster_text(c: m.TopologyCluster) -> str:
    return (f"\nCluster Id: {c['id']}\n\n    File:  {go(c['file'])}\n"
            f"    Block: {go(c['block'])}\n\n    Volumes:\n"
            + "".join(_topology_volume(v) for v in c["volumes"])
            + "\n\n    Nodes:\n"
            + "".join(_topology_node(n) for n in c["nodes"]))


def topology_text(topology: m.TopologyInfo) -> str:
    return "".join(topology_cluster_text(c) for c in topology["clusters"]) + "\n"


# -- server operations (heketi-cli's cmds/server.go templates) -----------------

def _op_status(op: m.PendingOperation) -> str:
    status = f"{op['status'] or 'New'} {op['sub_status']}"
    if op.get("progress"):  # pyketi: how a running operation is going
        status += f"  Progress: {op['progress']}"
    return status


def operations_info_text(info: m.OperationsInfo) -> str:
    return (f"Operation Counts:\n  Total: {info['total']}\n  In-Flight: {info['in_flight']}\n"
            f"  New: {info['new']}\n  Failed: {info['failed']}\n  Stale: {info['stale']}\n")


def operations_list_text(ops: m.PendingOperationList) -> str:
    return "".join(f"Id:{op['id']}  Type:{op['type_name']}  Status:{_op_status(op)}\n"
                   for op in ops["pendingoperations"])


def operation_details_text(op: m.PendingOperationDetails) -> str:
    return (f"\nId: {op['id']}\nType: {op['type_name']}\nStatus: {_op_status(op)}\nChanges:"
            + "".join(f"\n    {c['description']}: {c['id']}" for c in op["changes"]) + "\n")


# -- Kubernetes persistent volume (heketi pkg/kubernetes/pv.go: VolumeToPv) ------

def persistent_volume(volume: m.VolumeInfo, endpoint: str) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "glusterfs-" + volume["id"][:8],
                                "creationTimestamp": None}
    if volume.get("gid"):
        metadata["annotations"] = {"pv.beta.kubernetes.io/gid": str(volume["gid"])}
    return {
        "kind": "PersistentVolume",
        "apiVersion": "v1",
        "metadata": metadata,
        "spec": {
            "capacity": {"storage": f"{volume['size']}Gi"},
            "glusterfs": {"endpoints": endpoint or "TYPE ENDPOINT HERE",
                          "path": volume["name"]},
            "accessModes": ["ReadWriteMany"],
            "persistentVolumeReclaimPolicy": "Retain",
        },
        "status": {},
    }


def endpoint_service(volume: m.VolumeInfo, name: str) -> dict[str, Any]:
    """A Service without selector for the volume's endpoints, port 1 (as the
    one heketi-cli's setup-openshift-heketi-storage writes)."""
    return {"kind": "Service", "apiVersion": "v1",
            "metadata": {"name": name or "glusterfs-" + volume["id"][:8]},
            "spec": {"ports": [{"port": 1}]}}
