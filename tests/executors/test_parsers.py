"""gluster --xml and LVM/udev output parsers."""

from __future__ import annotations

import pytest

from pyketi.executors.commands import gluster_xml, lvm_output
from pyketi.executors.base import ExecutorError

from executor_fakes import DEV, PV_UUID, VGDISPLAY, VOL_ID, cli_xml, pvs_json, volume_xml


def test_volume_info_xml():
    info = gluster_xml.parse_volume_info(volume_xml("vol1", ["h1:/p1", "h2:/p2", "h3:/p3"],
                                                    arbiter=True))
    assert (info.name, info.id, info.status, info.type_str) == ("vol1", "5a1c-0001", 1, "Replicate")
    assert (info.brick_count, info.replica_count, info.arbiter_count) == (3, 3, 1)
    assert [b.name for b in info.bricks] == ["h1:/p1", "h2:/p2", "h3:/p3"]
    assert [b.is_arbiter for b in info.bricks] == [False, False, True]
    assert info.bricks[0].host_uuid == "h0"
    assert info.options == {"user.heketi.id": VOL_ID, "performance.readdir-ahead": "on"}


def test_volume_info_errors():
    with pytest.raises(ExecutorError, match="^Volume vol9 does not exist$"):
        gluster_xml.parse_volume_info(cli_xml(op_ret=-1, errstr="Volume vol9 does not exist"))
    with pytest.raises(ExecutorError, match="opRet=-1"):
        gluster_xml.parse_volume_info(cli_xml(op_ret=-1))
    with pytest.raises(ExecutorError, match="Unable to parse"):
        gluster_xml.parse_volume_info("volume info: failed")
    with pytest.raises(ExecutorError, match="no volume"):
        gluster_xml.parse_volume_info(cli_xml("<volInfo><volumes/></volInfo>"))


def laughs(levels: int) -> str:
    """A "billion laughs" document: each entity ten times the one before (10**levels lols)."""
    ents = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol%d;" % (i - 1)) * 10}">' for i in range(1, levels + 1)]
    doc = cli_xml(f"<volInfo><volumes><volume><name>&lol{levels};</name></volume></volumes>"
                  "</volInfo>")
    head, _, rest = doc.partition("\n")
    return f"{head}\n<!DOCTYPE cliOutput [{''.join(ents)}]>\n{rest}"


@pytest.mark.parametrize("levels", [0, 6])
def test_xml_with_entities_from_a_node_is_refused_not_expanded(levels):
    # levels=0: one small entity the stdlib parser would silently expand into the name
    with pytest.raises(ExecutorError, match=r"^Unable to parse volume info output: refused XML "
                                            r"with a DTD or entities \(DTDForbidden\)$"):
        gluster_xml.parse_volume_info(laughs(levels))
    with pytest.raises(ExecutorError, match="refused XML with a DTD"):
        gluster_xml.parse_heal_info(laughs(levels))


def test_heal_info_xml():
    out = cli_xml('<healInfo><bricks><brick hostUuid="u1"><name>h1:/p1</name>'
                  "<status>Connected</status><numberOfEntries>0</numberOfEntries></brick>"
                  '<brick hostUuid="u2"><name>h2:/p2</name><status>Transport endpoint is not '
                  "connected</status><numberOfEntries>-</numberOfEntries></brick>"
                  '<brick hostUuid="u3"><name>h3:/p3</name><status>Connected</status>'
                  "<numberOfEntries>12</numberOfEntries></brick></bricks></healInfo>")
    bricks = gluster_xml.parse_heal_info(out)
    assert [(b.name, b.host_uuid, b.number_of_entries) for b in bricks] == [
        ("h1:/p1", "u1", "0"), ("h2:/p2", "u2", "-"), ("h3:/p3", "u3", "12")]
    assert [b.healed for b in bricks] == [True, True, False]


def test_vgdisplay():
    sizes = lvm_output.parse_vgdisplay(VGDISPLAY)
    assert (sizes.total, sizes.used, sizes.free, sizes.extent_size) == (
        511996 * 4096, 1000 * 4096, 510996 * 4096, 4096)
    for bad in ("", "vg:r/w:1:2", VGDISPLAY.replace(":4096:", ":x:")):
        with pytest.raises(ExecutorError, match="^vgdisplay returned an invalid string$"):
            lvm_output.parse_vgdisplay(bad)


def test_pv_report_and_symlinks():
    assert lvm_output.parse_pv_report(pvs_json()) == ("/dev/sdb", PV_UUID)
    assert lvm_output.parse_pv_report(pvs_json(key="vg"), f"vg_{DEV}")[1] == PV_UUID
    with pytest.raises(ExecutorError, match="No physical volume"):
        lvm_output.parse_pv_report(pvs_json(vg="vg_other"), f"vg_{DEV}")
    with pytest.raises(ExecutorError, match="Unable to parse LVM report"):
        lvm_output.parse_pv_report("  WARNING: nothing")
    links = ("disk/by-path/pci-0000:00:07.0-scsi-0:0:0:1 disk/by-id/lvm-pv-uuid-" + PV_UUID
             + " disk/by-id/wwn-0x5000\n")
    assert lvm_output.parse_symlinks(links, "/dev/sdb") == [
        "/dev/disk/by-path/pci-0000:00:07.0-scsi-0:0:0:1", "/dev/disk/by-id/wwn-0x5000",
        "/dev/sdb"]
    assert lvm_output.parse_symlinks("", "/dev/sdb") == ["/dev/sdb"]


def test_thin_count_and_not_found():
    assert lvm_output.parse_thin_count("  2\n", "vg/tp", "h") == 2
    with pytest.raises(ExecutorError, match="Failed to convert number of logical volumes"):
        lvm_output.parse_thin_count("", "vg/tp", "h")
    assert lvm_output.is_not_found('Failed to find logical volume "vg/brick_x"')
    assert lvm_output.is_not_found('Volume group "vg_x" not found')
    assert not lvm_output.is_not_found("Logical volume vg/brick_x in use.")
