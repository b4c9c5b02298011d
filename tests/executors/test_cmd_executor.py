"""CmdExecutor over an in-memory transport: batches, decisions, error texts."""

from __future__ import annotations

import asyncio

import pytest

from pyketi.executors.base import (BrickRequest, ExecutorError, NodeUnreachable, NothingChanged,
                                   VolumeRequest)
from pyketi.executors.cmd.executor import CmdExecutor
from pyketi.executors.config import ExecConfig
from pyketi.executors.transports.base import Command, Result

from executor_fakes import (BRICK, DEV, PV_UUID, VGDISPLAY, VOL_ID, FakeTransport, cli_xml,
                            pvs_json, volume_xml)

G = "gluster --mode=script --timeout=600"
BRICK2 = "c" * 32
SNAP = "tmpsnap_" + "f" * 32


def make(transport: FakeTransport | None = None, **cfg) -> tuple[CmdExecutor, FakeTransport]:
    t = transport or FakeTransport()
    return CmdExecutor(t, ExecConfig(**cfg), snapshot_name=lambda: SNAP), t


def brick(bid: str = BRICK, **kw) -> BrickRequest:
    return BrickRequest(id=bid, device_id=DEV, node_storage="10.0.0.1", size_kib=1048576,
                        tp_size_kib=1048576, pool_metadata_kib=8192, **kw)


def mount_of(bid: str) -> str:
    return f"/var/lib/heketi/mounts/vg_{DEV}/brick_{bid}"


def volume(n: int = 3, **kw) -> VolumeRequest:
    return VolumeRequest(name="vol1", id=VOL_ID, durability="replicate", replica=3,
                         bricks=[(f"h{i}", f"/p{i}") for i in range(1, n + 1)], **kw)


# -- nodes ------------------------------------------------------------------

async def test_glusterd_check_and_error_text():
    ex, t = make()
    await ex.glusterd_check("node1")
    assert t.batches[0][0] == "node1" and t.lines() == ["systemctl status glusterd"]
    # systemctl status: the unit's "Active:" line, never the journal lines after it
    t.on("systemctl", exit_status=3, stdout=(
        "* glusterd.service - GlusterFS, a clustered file-system server\n"
        "     Active: inactive (dead) since Wed 2026-12-02 15:00:00 UTC; 1min ago\n\n"
        "Dec 02 15:00:00 node1 glusterd[812]: a journal line (anything a daemon logged)\n"))
    with pytest.raises(ExecutorError, match="^glusterd is not running: Active: inactive "
                                            r"\(dead\) since .*; 1min ago$") as err:
        await ex.glusterd_check("node1")
    assert err.value.host == "node1" and "journal" not in str(err.value)
    ex, t = make()
    t.on("systemctl", exit_status=4, stdout="", stderr="Unit glusterd.service could not be "
                                                        "found.")
    with pytest.raises(ExecutorError, match="^Unit glusterd.service could not be found.$"):
        await ex.glusterd_check("node2")


async def test_error_text_is_stderr_else_the_last_line_of_stdout():
    ex, t = make()
    # the gluster CLI with glusterd stopped: the reason on stdout, nothing on stderr
    t.on("volume create", exit_status=1, stdout="some earlier output\n"
         "Connection failed. Please check if gluster daemon is operational.\n\n")
    with pytest.raises(NothingChanged, match="^Connection failed. Please check if gluster "
                                             "daemon is operational.$"):
        await ex.volume_create("node1", volume())
    cmd = Command.of("x")
    assert Result(cmd, 2, stdout="out\n", stderr="err\n").error_text == "err"
    assert Result(cmd, 1).error_text == "Process exited with status 1"
    # --xml output is no reason; one line only, bounded, printable
    assert Result(cmd, 1, stdout="<cliOutput>\n</cliOutput>\n").error_text == \
        "Process exited with status 1"
    long = Result(cmd, 1, stdout="a\n" + "x" * 1000 + "\x1b[0m\n").error_text
    assert len(long) == 300 and long.endswith("...") and "\x1b" not in long


async def test_peer_probe_one_batch_with_snapshot_limit():
    ex, t = make(snapshot_limit=14)
    await ex.peer_probe("node1", "10.0.0.2")
    assert len(t.batches) == 1 and t.batches[0][2] == 660
    assert t.lines() == [f"{G} peer probe 10.0.0.2", f"{G} snapshot config snap-max-hard-limit 14"]
    t.on("peer probe", exit_status=1, stderr="peer probe: failed: Probe returned with "
                                             "Transport endpoint is not connected\n")
    with pytest.raises(ExecutorError, match="Transport endpoint is not connected$"):
        await ex.peer_probe("node1", "10.0.0.3")
    assert len(t.batches) == 2


async def test_peer_detach_not_a_peer_is_done():
    ex, t = make()
    t.on("detach 10.0.0.2", exit_status=1, stderr="peer detach: failed: 10.0.0.2 is not part "
                                                  "of cluster")
    await ex.peer_detach("node1", "10.0.0.2")
    t.on("detach 10.0.0.3", exit_status=1, stderr="peer detach: failed: Brick(s) with the peer "
                                                  "10.0.0.3 exist in cluster")
    with pytest.raises(ExecutorError, match="exist in cluster"):
        await ex.peer_detach("node1", "10.0.0.3")


# -- devices ----------------------------------------------------------------

def answer_identify(t: FakeTransport) -> FakeTransport:
    return (t.on(r"lvm pvs ", stdout=pvs_json())
             .on(r"lvm vgs ", stdout=pvs_json(key="vg"))
             .on(r"udevadm info", stdout="disk/by-path/pci-0000:00:07.0 disk/by-id/lvm-pv-uuid-"
                                         + PV_UUID)
             .on(r"vgdisplay", stdout=VGDISPLAY))


async def test_device_setup_sizes_uuid_paths():
    ex, t = make()
    answer_identify(t)
    info = await ex.device_setup("node1", "/dev/sdb", DEV)
    assert [len(b[1]) for b in t.batches] == [2, 3]
    assert all(timeout == 300 for _, _, timeout in t.batches)
    assert t.lines(1)[2] == f"/usr/sbin/lvm vgdisplay -c -- vg_{DEV}"
    assert (info.total, info.free, info.used, info.extent_size) == (
        511996 * 4096, 510996 * 4096, 1000 * 4096, 4096)
    assert info.pv_uuid == PV_UUID
    assert info.paths == ["/dev/disk/by-path/pci-0000:00:07.0", "/dev/sdb"]


async def test_device_setup_destroydata_wipes_first():
    ex, t = make()
    answer_identify(t)
    await ex.device_setup("node1", "/dev/sdb", DEV, destroy_data=True)
    assert t.lines(0)[0] == "wipefs --all -- /dev/sdb"


async def test_device_setup_init_failure_text():
    ex, t = make()
    t.on("pvcreate", exit_status=5, stderr="  Can't initialize physical volume \"/dev/sdb\" of "
                                           "volume group \"vg_x\" without -ff\n")
    with pytest.raises(NothingChanged) as err:   # someone else's PV: no undo may touch it
        await ex.device_setup("node1", "/dev/sdb", DEV)
    assert str(err.value) == ("Initializing device /dev/sdb failed (already initialized or "
                              "contains data?): Can't initialize physical volume \"/dev/sdb\" of "
                              "volume group \"vg_x\" without -ff")
    assert len(t.batches) == 1  # no identify, no teardown


async def test_device_setup_vgcreate_failure_leaves_the_new_pv_to_the_undo():
    ex, t = make()
    t.on("vgcreate", exit_status=5, stderr="boom")
    with pytest.raises(ExecutorError, match="Initializing device /dev/sdb failed .*: boom") as err:
        await ex.device_setup("node1", "/dev/sdb", DEV)
    assert not isinstance(err.value, NothingChanged)  # the PV is ours: the undo removes it
    assert len(t.batches) == 1


async def test_device_setup_bad_vgdisplay_tears_down():
    ex, t = make()
    t.on("vgdisplay", stdout="garbage")
    answer_identify(t)  # first matching rule wins: vgdisplay answers garbage
    with pytest.raises(ExecutorError, match="^vgdisplay returned an invalid string$"):
        await ex.device_setup("node1", "/dev/sdb", DEV)
    assert len(t.batches) == 2  # setup, identify: the teardown is the operation's undo


async def test_device_info_uses_pv_uuid_path():
    ex, t = make()
    answer_identify(t)
    info = await ex.device_info("node1", "/dev/sdb", DEV, pv_uuid=PV_UUID)
    assert t.lines(0)[0].endswith(f"--reportformat=json -- /dev/disk/by-id/lvm-pv-uuid-{PV_UUID}")
    assert info.paths[-1] == "/dev/sdb" and info.free == 510996 * 4096
    ex2, t2 = make()
    answer_identify(t2)
    await ex2.device_info("node1", "/dev/sdb", DEV)
    assert t2.lines(0) == [f"/usr/sbin/lvm vgs -o pv_name,pv_uuid,vg_name --reportformat=json "
                           f"-- vg_{DEV}"]
    assert PV_UUID in t2.lines(1)[0]


async def test_teardown_tolerates_missing_things_and_reports_others():
    ex, t = make()
    t.on("lvm vgs", exit_status=5, stderr=f'Volume group "vg_{DEV}" not found')
    t.on("vgremove", exit_status=5, stderr=f'  Volume group "vg_{DEV}" not found')
    t.on("pvremove", exit_status=5, stderr="  No PV found on device /dev/sdb.")
    t.on("rmdir", exit_status=1, stderr="rmdir: failed to remove '/x': No such file or directory")
    await ex.device_teardown("node1", "/dev/sdb", DEV)
    assert t.lines(1)[1] == "/usr/sbin/lvm pvremove -qq -- /dev/sdb"  # no uuid: by name
    # a teardown retried after it took effect (server killed at its end, the cleaner
    # runs it again): the VG is gone and so is the PV's by-id link (seen on the VM lab)
    ex, t = make()
    t.on("vgremove", exit_status=5, stderr=f'  Volume group "vg_{DEV}" not found')
    t.on("pvremove", exit_status=5, stderr="  No device found for "
                                           f"/dev/disk/by-id/lvm-pv-uuid-{PV_UUID}.")
    await ex.device_teardown("node1", "/dev/sdb", DEV, pv_uuid=PV_UUID)
    ex, t = make()
    t.on("vgremove", exit_status=5, stderr="Logical volume vg/brick_x in use.")
    with pytest.raises(ExecutorError, match=f"^Failed to delete device /dev/sdb with id {DEV} on "
                                            "host node1: Logical volume vg/brick_x in use.$"):
        await ex.device_teardown("node1", "/dev/sdb", DEV, pv_uuid=PV_UUID)
    assert len(t.batches) == 1  # uuid known: no lookup


async def test_forceforget_ignores_errors_rmdir_first():
    ex, t = make()
    t.on(".", exit_status=1, stderr="everything fails")
    await ex.device_teardown("node1", "/dev/sdb", DEV, pv_uuid=PV_UUID, force=True)
    assert t.lines(0)[0] == f"rmdir -- /var/lib/heketi/mounts/vg_{DEV}"


# -- bricks -----------------------------------------------------------------

async def test_bricks_create_is_one_batch():
    ex, t = make()
    await ex.bricks_create("node1", [brick(), brick(BRICK2, gid=5)])
    assert len(t.batches) == 1 and t.batches[0][2] == 600
    assert len(t.lines()) == 6 + 8


async def test_bricks_create_failure_leaves_the_undo_to_the_engine():
    ex, t = make()
    t.on(f"mkfs.xfs .*brick_{BRICK2}", exit_status=1, stderr="mkfs.xfs: cannot open")
    bricks = [brick(), brick(BRICK2), brick("a" * 32)]
    with pytest.raises(ExecutorError, match="^mkfs.xfs: cannot open$"):
        await ex.bricks_create("node1", bricks)
    assert len(t.batches) == 1  # the batch ended at the failure; no cleanup of its own


POOL_GONE = 'Failed to find logical volume "vg/tp"'


async def test_bricks_destroy_is_one_batch_and_reclaims_only_empty_pools():
    ex, t = make()
    t.on(f"thin_count -- vg_{DEV}/tp_{BRICK}$", exit_status=5, stderr=POOL_GONE)
    t.on(f"thin_count -- vg_{DEV}/tp_{BRICK2}$", stdout="  1\n")  # a clone still uses it
    assert await ex.bricks_destroy("node1", [brick(), brick(BRICK2)]) == [True, False]
    lvm = "/usr/sbin/lvm"
    assert len(t.batches) == 1
    assert t.lines(0) == [
        f"umount -- {mount_of(BRICK)}", f"umount -- {mount_of(BRICK2)}", "mount",
        f"sed -i.save -- /brick_{BRICK}/d /etc/fstab",
        f"sed -i.save -- /brick_{BRICK2}/d /etc/fstab",
        f"{lvm} lvremove --autobackup=n -f -- vg_{DEV}/brick_{BRICK}",
        f"{lvm} lvremove --autobackup=n -f -- vg_{DEV}/brick_{BRICK2}",
        f"{lvm} lvremove --autobackup=n -f --select thin_count=0 -- vg_{DEV}/tp_{BRICK}",
        f"{lvm} lvremove --autobackup=n -f --select thin_count=0 -- vg_{DEV}/tp_{BRICK2}",
        f"{lvm} lvs --noheadings --options=thin_count -- vg_{DEV}/tp_{BRICK}",
        f"{lvm} lvs --noheadings --options=thin_count -- vg_{DEV}/tp_{BRICK2}",
        f"rmdir -- {mount_of(BRICK)}", f"rmdir -- {mount_of(BRICK2)}"]
    assert not any(c.check for c in t.batches[0][1])  # every brick gets every step


async def test_bricks_destroy_missing_things_count_as_done():
    ex, t = make()
    t.on("umount", exit_status=32, stderr="umount: /x: not mounted.")
    t.on("^mount$", stdout="/dev/sda1 on / type xfs (rw)\n")
    t.on("lvremove .*brick_", exit_status=5, stderr='Failed to find logical volume "vg/brick"')
    t.on("lvremove .*tp_", exit_status=5, stderr=POOL_GONE)
    t.on("thin_count", exit_status=5, stderr=POOL_GONE)
    assert await ex.bricks_destroy("node1", [brick()]) == [True]


async def test_bricks_destroy_mounted_brick_is_an_error_and_the_others_are_destroyed():
    """LVM refuses to remove an LV in use: the mounted brick keeps its LV, so its
    pool still holds one; the other brick of the batch is destroyed all the same."""
    ex, t = make()
    t.on(f"umount -- {mount_of(BRICK)}", exit_status=32, stderr="umount: target is busy.")
    t.on("^mount$", stdout=f"/dev/mapper/x on {mount_of(BRICK)} type xfs (rw)\n")
    t.on(f"lvremove .*brick_{BRICK}", exit_status=5,
         stderr=f"Logical volume vg_{DEV}/brick_{BRICK} contains a filesystem in use.")
    t.on(f"thin_count -- vg_{DEV}/tp_{BRICK}$", stdout="  1\n")
    t.on(f"thin_count -- vg_{DEV}/tp_{BRICK2}$", exit_status=5, stderr=POOL_GONE)
    with pytest.raises(ExecutorError, match="^umount: target is busy.$"):
        await ex.bricks_destroy("node1", [brick(), brick(BRICK2)])
    assert len(t.batches) == 1
    assert any(f"brick_{BRICK2}" in line and "lvremove" in line for line in t.lines())


async def test_bricks_destroy_failed_lv_removal_is_reported():
    ex, t = make()
    t.on("lvremove .*brick_", exit_status=5, stderr="device-mapper: remove ioctl failed")
    t.on("thin_count", stdout="  1\n")
    with pytest.raises(ExecutorError, match="^device-mapper: remove ioctl failed$"):
        await ex.bricks_destroy("node1", [brick()])


async def test_bricks_destroy_pool_left_behind_is_not_reclaimed():
    ex, t = make()
    t.on("lvremove .*tp_", exit_status=5, stderr="device-mapper: remove ioctl failed")
    t.on("thin_count", stdout="  0\n")
    assert await ex.bricks_destroy("node1", [brick()]) == [False]


async def test_bricks_destroy_unknown_thin_count_is_an_error():
    ex, t = make()
    t.on("thin_count", exit_status=5, stderr="device-mapper: error")
    with pytest.raises(ExecutorError, match=f"^Unable to determine number of logical volumes in "
                                            f"thin pool vg_{DEV}/tp_{BRICK} on host node1$"):
        await ex.bricks_destroy("node1", [brick()])


# -- volumes ----------------------------------------------------------------

async def test_volume_create_single_batch():
    ex, t = make()
    await ex.volume_create("node1", volume(6, options=["", "a.b 1", ""]))
    assert len(t.batches) == 1 and t.batches[0][2] == 660
    assert t.lines() == [f"{G} volume create vol1 replica 3 h1:/p1 h2:/p2 h3:/p3",
                         f"{G} volume add-brick vol1 h4:/p4 h5:/p5 h6:/p6",
                         f"{G} volume set vol1 a.b 1",
                         f"{G} volume set vol1 user.heketi.id {VOL_ID}",
                         f"{G} volume start vol1"]


async def test_volume_create_failure_after_create_leaves_the_undo_to_the_engine():
    ex, t = make()
    t.on("volume set vol1 a.b", exit_status=1, stderr="volume set: failed: option a.b does not exist")
    with pytest.raises(ExecutorError, match="option a.b does not exist") as err:
        await ex.volume_create("node1", volume(options=["a.b 1"]))
    assert not isinstance(err.value, NothingChanged)   # the step's undo must run
    assert len(t.batches) == 1                          # one undo layer: the engine's


async def test_volume_create_existing_name_changed_nothing():
    ex, t = make()
    t.on("volume create", exit_status=1, stderr="volume create: vol1: failed: Volume vol1 "
                                                "already exists")
    with pytest.raises(NothingChanged, match="already exists"):
        await ex.volume_create("node1", volume())
    assert len(t.batches) == 1


async def test_volume_expand_rebalance_failure_is_ignored():
    ex, t = make()
    t.on("rebalance", exit_status=1, stderr="rebalance failed")
    await ex.volume_expand("node1", volume(), [("h4", "/p4"), ("h5", "/p5"), ("h6", "/p6")])
    assert t.lines() == [f"{G} volume add-brick vol1 h4:/p4 h5:/p5 h6:/p6",
                         f"{G} volume rebalance vol1 start"]
    ex, t = make(rebalance_on_expansion=False)
    await ex.volume_expand("node1", volume(), [("h4", "/p4"), ("h5", "/p5"), ("h6", "/p6")])
    assert not any("rebalance" in line for line in t.lines())
    ex, t = make()
    t.on("add-brick", exit_status=1, stderr="volume add-brick: failed: x")
    with pytest.raises(ExecutorError, match="add-brick: failed"):
        await ex.volume_expand("node1", volume(), [("h4", "/p4"), ("h5", "/p5"), ("h6", "/p6")])


async def test_volume_destroy_does_not_exist_is_success():
    ex, t = make()
    t.on("volume stop", exit_status=1, stderr="volume stop: vol1: failed: Volume vol1 does not exist")
    t.on("volume delete", exit_status=1, stderr="volume delete: vol1: failed: Volume vol1 does "
                                                "not exist")
    await ex.volume_destroy("node1", "vol1")
    ex, t = make()
    t.on("volume delete", exit_status=1, stderr="volume delete: vol1: failed: Some of the peers "
                                                "are down")
    with pytest.raises(ExecutorError, match="^Unable to delete volume vol1: volume delete: vol1: "
                                            "failed: Some of the peers are down$"):
        await ex.volume_destroy("node1", "vol1")


async def test_volume_info_and_errors():
    ex, t = make()
    t.on("volume info vol1", stdout=volume_xml("vol1", ["h1:/p1", "h2:/p2", "h3:/p3"]))
    info = await ex.volume_info("node1", "vol1")
    assert [b.name for b in info.bricks] == ["h1:/p1", "h2:/p2", "h3:/p3"]
    t.on("volume info vol2", exit_status=1,
         stdout=cli_xml(op_ret=-1, errstr="Volume vol2 does not exist"))
    with pytest.raises(ExecutorError, match="^Volume vol2 does not exist$"):
        await ex.volume_info("node1", "vol2")
    t.on("volume info vol3", exit_status=1, stderr="Connection failed.")
    with pytest.raises(ExecutorError, match="^Unable to get volume info of volume name: vol3$"):
        await ex.volume_info("node1", "vol3")


async def test_replace_brick_and_heal_info():
    ex, t = make()
    await ex.brick_replace("node1", "vol1", ("h1", "/p1"), ("h4", "/p4"))
    assert t.lines() == [f"{G} volume replace-brick vol1 h1:/p1 h4:/p4 commit force"]
    t.on("replace-brick", exit_status=1, stderr="failed")
    with pytest.raises(ExecutorError, match="^Unable to replace brick h1:/p1 with h4:/p4 for "
                                            "volume vol1$"):
        await ex.volume_replace_brick("node1", "vol1", ("h1", "/p1"), ("h4", "/p4"))
    t.on("heal vol1 info", stdout=cli_xml('<healInfo><bricks><brick hostUuid="u"><name>h1:/p1'
                                          "</name><status>Connected</status><numberOfEntries>0"
                                          "</numberOfEntries></brick></bricks></healInfo>"))
    assert [b.healed for b in await ex.volume_heal_info("node1", "vol1")] == [True]


async def test_volume_clone_sequence_and_cleanup():
    ex, t = make()
    t.on("volume info vol2", stdout=volume_xml("vol2", ["h1:/run/gluster/snaps/x/brick1/brick"]))
    t.on("--xml", stdout=cli_xml())
    info = await ex.volume_clone("node1", "vol1", "vol2")
    assert info.name == "vol2"
    assert t.lines() == [f"{G} --xml snapshot create {SNAP} vol1 no-timestamp",
                         f"{G} --xml snapshot activate {SNAP}",
                         f"{G} --xml snapshot clone vol2 {SNAP}",
                         f"{G} --xml volume start vol2",
                         f"{G} --xml snapshot deactivate {SNAP}",
                         f"{G} volume info vol2 --xml",
                         f"{G} --xml snapshot delete {SNAP}"]


async def test_volume_clone_failure_still_deactivates_and_deletes_snapshot():
    ex, t = make()
    t.on("snapshot clone", stdout=cli_xml(op_ret=-1, errstr="Volume with name:vol2 already exists"))
    t.on("--xml", stdout=cli_xml())
    with pytest.raises(ExecutorError, match=f"^Failed to clone snapshot {SNAP} to volume vol2: "
                                            "Volume with name:vol2 already exists$"):
        await ex.volume_clone("node1", "vol1", "vol2")
    assert [line.split()[4:6] for line in t.lines()] == [
        ["snapshot", "create"], ["snapshot", "activate"], ["snapshot", "clone"],
        ["snapshot", "deactivate"], ["snapshot", "delete"]]


# -- transport behaviour ----------------------------------------------------

async def test_one_batch_at_a_time_per_host():
    ex, t = make(FakeTransport(delay=0.02))
    await asyncio.gather(*(ex.glusterd_check("node1") for _ in range(5)),
                         *(ex.glusterd_check(f"node{i}") for i in range(2, 5)))
    assert t.max_active["node1"] == 1
    assert t.max_total > 1  # different hosts run in parallel


async def test_timeouts_are_configurable():
    ex, t = make(lvm_timeout=7, brick_create_timeout=8, gluster_timeout=9,
                 glusterd_check_timeout=10)
    t.on("thin_count", exit_status=5, stderr=POOL_GONE)
    await ex.bricks_create("n", [brick()])
    await ex.bricks_destroy("n", [brick()])
    await ex.volume_destroy("n", "vol1")
    await ex.glusterd_check("n")
    assert [b[2] for b in t.batches] == [8, 7, 9, 10]


async def test_unreachable_node_propagates_and_close_closes_transport():
    class Down(FakeTransport):
        async def run_batch(self, host, commands, timeout):
            raise NodeUnreachable(f"dial tcp {host}:22: connection refused", host)

    ex, t = make(Down())
    with pytest.raises(NodeUnreachable):
        await ex.volume_create("node1", volume())
    await ex.close()
    assert t.closed


async def test_short_result_list_is_a_transport_error():
    class Short(FakeTransport):
        async def run_batch(self, host, commands, timeout):
            return (await super().run_batch(host, commands, timeout))[:1]

    ex, _ = make(Short())
    with pytest.raises(ExecutorError, match="transport returned 1 results for 3 commands"):
        await ex.volume_create("node1", volume())
