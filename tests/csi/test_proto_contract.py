"""The committed ``csi.proto`` / ``csi_pb2`` against the CSI contract.

When the contract file is at hand (``../shared/csi-contract.md`` beside the
repository, or ``$PYKETI_CSI_CONTRACT``), every message table and enum of
its §4 is compared with the generated descriptor: field numbers, names,
types, labels, oneofs, secret flags and enum values.  The hand-written
checks below run everywhere.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

pb = pytest.importorskip("pyketi.csi.proto.csi_pb2")
from google.protobuf.descriptor import FieldDescriptor as FD  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CANDIDATES = [os.environ.get("PYKETI_CSI_CONTRACT", ""),
              str(ROOT.parent / "shared" / "csi-contract.md"),
              str(ROOT.parent.parent / "shared" / "csi-contract.md")]
SCALARS = {FD.TYPE_STRING: "string", FD.TYPE_BOOL: "bool", FD.TYPE_INT64: "int64",
           FD.TYPE_INT32: "int32"}


def contract() -> str:
    for candidate in CANDIDATES:
        if candidate and Path(candidate).is_file():
            return Path(candidate).read_text()
    pytest.skip("csi-contract.md not found beside the repository")


def message(full_name: str):
    assert full_name.startswith("csi.v1.")
    return pb.DESCRIPTOR.pool.FindMessageTypeByName(full_name)


def type_name(field) -> str:
    if field.message_type is not None:
        if field.message_type.GetOptions().map_entry:
            return "map<string,string>"
        return field.message_type.full_name
    if field.enum_type is not None:
        return field.enum_type.full_name
    return SCALARS[field.type]


def label(field) -> str:
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        return "map"
    if field.is_repeated:
        return "repeated"
    oneof = field.containing_oneof
    return f"oneof {oneof.name}" if oneof is not None else ""


def parse_tables(text: str):
    """{message: [(number, name, type, label, secret)]}, {message: None} for
    empty messages, {enum: [(name, value)]}."""
    messages: dict[str, list] = {}
    enums: dict[str, list] = {}
    current = None
    for line in text.splitlines():
        head = re.match(r"^`(csi\.v1\.[A-Za-z.]+)`(.*)$", line)
        if head:
            name, rest = head.groups()
            current = None
            if "(enum)" in rest:
                values = rest.split(":", 1)[1]
                enums[name] = [(m.group(1), int(m.group(2))) for m in
                               re.finditer(r"([A-Z_]+) = (\d+)", values)]
            elif "no fields" in rest:
                messages[name] = []
            else:
                current = name
                messages[name] = []
            continue
        row = re.match(r"^\| (\d+) \| `(\w+)` \| `([^`]+)` \| ([^|]*)\|[^|]*\|([^|]*)\|", line)
        if row and current:
            number, fname, ftype, flabel, flags = row.groups()
            messages[current].append((int(number), fname, ftype, flabel.strip(),
                                      "csi_secret" in flags))
    return messages, enums


def test_contract_messages_match_the_descriptor():
    messages, enums = parse_tables(contract())
    assert len(messages) > 70 and len(enums) >= 6
    for name, rows in messages.items():
        desc = message(name)
        got = [(f.number, f.name, type_name(f), label(f),
                f.GetOptions().Extensions[pb.csi_secret]) for f in desc.fields]
        assert sorted(got) == sorted(rows), name


def test_contract_enums_match_the_descriptor():
    _, enums = parse_tables(contract())
    for name, values in enums.items():
        enum = pb.DESCRIPTOR.pool.FindEnumTypeByName(name)
        assert [(v.name, v.number) for v in enum.values] == values, name


def test_services_and_methods():
    expected = {
        "Identity": ["GetPluginInfo", "GetPluginCapabilities", "Probe"],
        "Controller": ["CreateVolume", "DeleteVolume", "ControllerPublishVolume",
                       "ControllerUnpublishVolume", "ValidateVolumeCapabilities",
                       "ListVolumes", "GetCapacity", "ControllerGetCapabilities",
                       "CreateSnapshot", "DeleteSnapshot", "ListSnapshots", "GetSnapshot",
                       "ControllerExpandVolume", "ControllerGetVolume",
                       "ControllerModifyVolume"],
        "Node": ["NodeStageVolume", "NodeUnstageVolume", "NodePublishVolume",
                 "NodeUnpublishVolume", "NodeGetVolumeStats", "NodeExpandVolume",
                 "NodeGetCapabilities", "NodeGetInfo"],
    }
    assert pb.DESCRIPTOR.package == "csi.v1"
    assert set(pb.DESCRIPTOR.services_by_name) == set(expected)
    for service, methods in expected.items():
        desc = pb.DESCRIPTOR.services_by_name[service]
        assert [m.name for m in desc.methods] == methods
        for m in desc.methods:
            assert m.input_type.name == m.name + "Request"
            assert m.output_type.name == m.name + "Response"
            assert not m.client_streaming and not m.server_streaming


def test_secret_fields_everywhere():
    """Contract §4.5, checked without the contract file."""
    secrets = {(d.full_name, f.number) for d in _all_messages() for f in d.fields
               if f.GetOptions().Extensions[pb.csi_secret]}
    assert secrets == {
        ("csi.v1.CreateVolumeRequest", 5), ("csi.v1.DeleteVolumeRequest", 2),
        ("csi.v1.ControllerPublishVolumeRequest", 5),
        ("csi.v1.ControllerUnpublishVolumeRequest", 3),
        ("csi.v1.ValidateVolumeCapabilitiesRequest", 5),
        ("csi.v1.ControllerModifyVolumeRequest", 2), ("csi.v1.CreateSnapshotRequest", 3),
        ("csi.v1.DeleteSnapshotRequest", 2), ("csi.v1.ListSnapshotsRequest", 5),
        ("csi.v1.GetSnapshotRequest", 2), ("csi.v1.ControllerExpandVolumeRequest", 3),
        ("csi.v1.NodeStageVolumeRequest", 5), ("csi.v1.NodePublishVolumeRequest", 7),
        ("csi.v1.NodeExpandVolumeRequest", 6)}


def test_a_few_wire_numbers_by_hand():
    """Numbers a CO relies on most, independent of the contract parser."""
    req = message("csi.v1.CreateVolumeRequest").fields_by_name
    assert {n: req[n].number for n in req} == {
        "name": 1, "capacity_range": 2, "volume_capabilities": 3, "parameters": 4,
        "secrets": 5, "volume_content_source": 6, "accessibility_requirements": 7,
        "mutable_parameters": 8}
    vol = message("csi.v1.Volume").fields_by_name
    assert (vol["capacity_bytes"].number, vol["volume_id"].number,
            vol["volume_context"].number, vol["content_source"].number) == (1, 2, 3, 4)
    pub = message("csi.v1.NodePublishVolumeRequest").fields_by_name
    assert (pub["staging_target_path"].number, pub["target_path"].number,
            pub["readonly"].number, pub["volume_context"].number) == (3, 4, 6, 8)
    # bytes on the wire: field 1 (name) then field 4 (parameters map entry)
    wire = pb.CreateVolumeRequest(name="v", parameters={"k": "x"}).SerializeToString()
    assert wire == b"\x0a\x01v" + b"\x22\x06\x0a\x01k\x12\x01x"


def _all_messages():
    stack = list(pb.DESCRIPTOR.message_types_by_name.values())
    while stack:
        d = stack.pop()
        yield d
        stack.extend(d.nested_types)
