"""Request builders and status assertions for the CSI tests."""

from __future__ import annotations

import grpc
import pytest

from pyketi.client import Client
from pyketi.csi.proto import csi_pb2 as pb

ADMIN_SECRET = "adminsecret"            # tests/cli/server_process.py's admin key

GIB = 1 << 30
Mode = pb.VolumeCapability.AccessMode
RWX = Mode.MULTI_NODE_MULTI_WRITER


def cap(mode: int = RWX, flags: tuple[str, ...] = (), fs_type: str = "") -> pb.VolumeCapability:
    return pb.VolumeCapability(
        mount=pb.VolumeCapability.MountVolume(fs_type=fs_type, mount_flags=list(flags)),
        access_mode=Mode(mode=mode))


def block_cap(mode: int = RWX) -> pb.VolumeCapability:
    return pb.VolumeCapability(block=pb.VolumeCapability.BlockVolume(),
                               access_mode=Mode(mode=mode))


def create_request(name: str, required: int = GIB, limit: int = 0,
                   parameters: dict[str, str] | None = None,
                   secrets: dict[str, str] | None = None,
                   caps: list[pb.VolumeCapability] | None = None,
                   source_volume: str = "") -> pb.CreateVolumeRequest:
    req = pb.CreateVolumeRequest(
        name=name, capacity_range=pb.CapacityRange(required_bytes=required,
                                                   limit_bytes=limit),
        volume_capabilities=caps if caps is not None else [cap()],
        parameters=parameters or {}, secrets=secrets or {})
    if source_volume:
        req.volume_content_source.volume.volume_id = source_volume
    return req


def expect_code(code: grpc.StatusCode, call, *args, **kwargs) -> grpc.RpcError:
    """Run ``call`` and return its error, which must carry ``code``."""
    with pytest.raises(grpc.RpcError) as info:
        call(*args, **kwargs)
    assert info.value.code() == code, info.value.details()
    return info.value


def add_nodes(client: Client, count: int = 3, devices: int = 1) -> str:
    """A cluster of ``count`` nodes (zones 1..count) with ``devices`` disks each."""
    cluster = client.cluster_create()
    for i in range(count):
        node = client.node_add(cluster=cluster["id"], zone=i + 1,
                               manage=f"csi-node{i}", storage=f"192.0.2.{10 + i}")
        for d in range(devices):
            client.device_add(node=node["id"], name=f"/dev/sd{'bcdefg'[d]}")
    return cluster["id"]
