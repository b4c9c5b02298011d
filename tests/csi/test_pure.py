"""The pure parts of pyketi-csi: parameters, names, sizes, capacity, error
codes, mount table parsing, and what reaches the log."""

from __future__ import annotations

import logging

import grpc
import pytest

from pyketi.client import PyketiError
from pyketi.csi import capacity as cp
from pyketi.csi.errors import from_server
from pyketi.csi.mounter import parse_mountinfo
from pyketi.csi.names import csi_key, heketi_name, key_of
from pyketi.csi.params import Durability, ParameterError, parse_parameters
from pyketi.csi.proto import csi_pb2 as pb
from pyketi.csi.reqlog import describe

GIB = cp.GIB


def test_parameter_keys_are_case_insensitive_and_options_split_on_commas():
    p = parse_parameters({"VolumeType": "replicate:2", "CLUSTERID": "a,b",
                          "volumeOptions": "a 1, b 2", "gidmin": "3000", "GIDMAX": "3001",
                          "restURL": "http://h:8080", "restUser": "u", "restuserkey": "k",
                          "secretName": "s", "secretNamespace": "ns",
                          "restauthenabled": "true", "customepnameprefix": "ep"})
    assert p.durability == Durability("replicate", 2)
    assert p.clusters == ("a", "b")
    assert p.volume_options == ("a 1", " b 2")          # verbatim, as in-tree
    assert (p.gid_min, p.gid_max) == (3000, 3001)
    assert (p.rest_url, p.rest_user, p.rest_key) == ("http://h:8080", "u", "k")
    assert "k" not in repr(p)


def test_defaults():
    p = parse_parameters({})
    assert p.durability == Durability("replicate", 3)
    assert (p.gid_min, p.gid_max, p.snap_factor) == (2000, 2**31 - 1, 1.0)
    assert parse_parameters({"volumetype": "replicate"}).durability.replica == 3
    assert parse_parameters({"volumetype": "none"}).durability == Durability("none")


@pytest.mark.parametrize("params", [
    {"gidmax": "2147483648"}, {"gidmin": "-1"}, {"gidmin": "abc"}, {"snapfactor": "0.5"},
    {"snapfactor": "nan"}, {"volumetype": "replicate:-1"}, {"volumetype": "disperse:a:b"},
    {"customepnameprefix": "x" * 27},
])
def test_parameter_errors(params):
    with pytest.raises(ParameterError):
        parse_parameters(params)


def test_names():
    assert csi_key("pvc-0a1b") == heketi_name("pvc-0a1b") == "pvc-0a1b"
    odd = "sanity Node Service/é"
    assert csi_key(odd).startswith("csi-") and len(csi_key(odd)) == 44
    assert csi_key(odd) == csi_key(odd) != csi_key(odd + "x")
    assert heketi_name("pvc-1", "app", "my.ns", "data.db") == "app_my-ns_data-db_pvc-1"
    assert heketi_name("pvc-1", "app") == "app_pvc-1"
    for name in ("app_my-ns_data-db_pvc-1", "app_pvc-1", "pvc-1"):
        assert key_of(name) == "pvc-1"
    with pytest.raises(ParameterError):
        heketi_name("pvc-1", "a.b")
    assert len(heketi_name("pvc-1", "p" * 64, "n" * 63, "c" * 253)) < 200


def test_size_gib():
    assert cp.size_gib(0, 0, present=False) == cp.DEFAULT_SIZE_GIB
    assert cp.size_gib(1, 0) == 1 and cp.size_gib(GIB, 0) == 1 and cp.size_gib(GIB + 1, 0) == 2
    assert cp.size_gib(0, 5 * GIB - 1) == 4
    assert cp.size_gib(3 * GIB, 3 * GIB) == 3
    for required, limit, invalid in [(-1, 0, True), (0, 0, True), (2 * GIB, GIB, False),
                                     (GIB + 1, GIB + 2, False), (0, GIB - 1, False)]:
        with pytest.raises(cp.RangeError) as err:
            cp.size_gib(required, limit)
        assert err.value.invalid is invalid


def test_largest_set_share_respects_distinct_nodes():
    # one huge node cannot hold two replicas of a set
    assert cp.largest_set_share([1000, 10, 10], 3) == 10
    assert cp.largest_set_share([100, 100, 100, 100], 3) == 133
    assert cp.largest_set_share([100, 100], 3) == 0
    assert cp.largest_set_share([5, 0, 7], 1) == 12


def test_placeable_bytes_by_durability():
    kib = [500 * 1024 * 1024] * 6          # six nodes of 500 GiB
    r3 = cp.placeable_bytes(kib, Durability("replicate", 3)) // GIB
    assert 990 <= r3 <= 1000
    ec = cp.placeable_bytes(kib, Durability("disperse", data=4, redundancy=2)) // GIB
    assert 1980 <= ec <= 2000
    assert cp.placeable_bytes(kib, Durability("none")) // GIB == pytest.approx(3000, abs=16)
    assert cp.placeable_bytes(kib[:2], Durability("replicate", 3)) == 0
    assert cp.placeable_bytes(kib, Durability("replicate", 0)) // GIB == \
        cp.placeable_bytes(kib, Durability("replicate", 2)) // GIB


@pytest.mark.parametrize("status, message, code", [
    (0, "unable to connect to http://x: Connection refused", grpc.StatusCode.UNAVAILABLE),
    (500, "Failed to allocate new volume: No space", grpc.StatusCode.RESOURCE_EXHAUSTED),
    (400, "Invalid replica value", grpc.StatusCode.INVALID_ARGUMENT),
    (401, "token expired", grpc.StatusCode.UNAUTHENTICATED),
    (403, "Administrator access required", grpc.StatusCode.PERMISSION_DENIED),
    (404, "Id not found", grpc.StatusCode.NOT_FOUND),
    (409, "volume busy", grpc.StatusCode.ABORTED),
    (429, "Server busy", grpc.StatusCode.ABORTED),
    (503, "database down", grpc.StatusCode.UNAVAILABLE),
    (500, "gluster failed", grpc.StatusCode.INTERNAL),
])
def test_server_errors_to_codes(status, message, code):
    err = from_server(PyketiError(status, message), "doing it")
    assert err.code == code and err.message == f"doing it: {message}"


def test_mountinfo_parsing():
    text = ("36 35 98:0 /mnt1 /mnt/with\\040space rw,noatime master:1 - ext3 /dev/root rw\n"
            "40 36 0:50 / /var/lib/k/globalmount rw,relatime shared:9 - fuse.glusterfs "
            "192.0.2.10:pvc-1 rw,user_id=0\n"
            "41 36 0:50 / /pods/mount ro,relatime - fuse.glusterfs 192.0.2.10:pvc-1 rw\n")
    a, b, c = parse_mountinfo(text)
    assert a.target == "/mnt/with space" and a.fstype == "ext3"
    assert (b.source, b.fstype, b.read_only) == ("192.0.2.10:pvc-1", "fuse.glusterfs", False)
    assert c.read_only


def test_describe_hides_secrets_and_mount_flags():
    req = pb.NodeStageVolumeRequest(
        volume_id="v1", staging_target_path="/s", secrets={"key": "TOPSECRET"},
        volume_capability=pb.VolumeCapability(
            mount=pb.VolumeCapability.MountVolume(mount_flags=["password=HUSH"])),
        volume_context={"glusterVolume": "pvc-1"})
    text = describe(req)
    assert "TOPSECRET" not in text and "HUSH" not in text
    assert "v1" in text and "pvc-1" in text and "secrets=<1 hidden>" in text


def test_no_secret_reaches_the_log(driver, caplog):
    """A whole CreateVolume/DeleteVolume with a secret and restuserkey: neither
    value appears in any log line, while the request id, volume and job do."""
    from csihelp import ADMIN_SECRET, create_request
    caplog.set_level(logging.INFO, logger="pyketi")
    req = create_request("pvc-log", parameters={"restuserkey": ADMIN_SECRET},
                         secrets={"key": ADMIN_SECRET})
    vol = driver.controller.CreateVolume(req).volume
    driver.controller.DeleteVolume(pb.DeleteVolumeRequest(volume_id=vol.volume_id,
                                                          secrets={"key": ADMIN_SECRET}))
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert ADMIN_SECRET not in text
    assert vol.volume_id in text and "pyketi job /queue/" in text
    reqs = {getattr(r, "req", None) for r in caplog.records}
    assert len(reqs - {None, "-"}) >= 2
