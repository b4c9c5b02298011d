"""Node commands must be heketi's lines (spec §6) once shlex-joined, plus a ``--``
ending pyketi's own flags for every tool but gluster (issue 8)."""

from __future__ import annotations

import shlex
import shutil
import subprocess

import pytest

from pyketi.executors import commands as C
from pyketi.executors.base import BrickRequest, ExecutorError, VolumeRequest
from pyketi.executors.config import ExecConfig

from executor_fakes import BRICK, DEV, PV_UUID, VOL_ID

G = "gluster --mode=script --timeout=600"
M = f"/var/lib/heketi/mounts/vg_{DEV}/brick_{BRICK}"
DEVNODE = f"/dev/mapper/vg_{DEV}-brick_{BRICK}"
CFG = ExecConfig()


def lines(cmds) -> list[str]:
    return [shlex.join(c.argv) for c in cmds]


def brick(**kw) -> BrickRequest:
    args = dict(id=BRICK, device_id=DEV, node_storage="10.0.0.1", size_kib=10485760,
                tp_size_kib=10485760, pool_metadata_kib=53248)
    args.update(kw)
    return BrickRequest(**args)


def volume(n: int, durability: str = "replicate", **kw) -> VolumeRequest:
    args = dict(name="vol1", id=VOL_ID, durability=durability, replica=3,
                bricks=[(f"h{i}", f"/p{i}") for i in range(1, n + 1)])
    args.update(kw)
    return VolumeRequest(**args)


# -- peers ------------------------------------------------------------------

def test_peer_commands():
    assert lines(C.glusterd_check()) == ["systemctl status glusterd"]
    assert lines(C.peer_probe(CFG, "192.168.10.101")) == [f"{G} peer probe 192.168.10.101"]
    assert lines(C.peer_probe(ExecConfig(snapshot_limit=14), "n2")) == [
        f"{G} peer probe n2", f"{G} snapshot config snap-max-hard-limit 14"]
    assert lines(C.peer_detach(CFG, "n2.example.com")) == [f"{G} peer detach n2.example.com"]


def test_gluster_cli_timeout_in_prefix():
    cmd = C.peer_detach(ExecConfig(gluster_cli_timeout=120), "n2")[0]
    assert shlex.join(cmd.argv) == "gluster --mode=script --timeout=120 peer detach n2"


# -- devices ----------------------------------------------------------------

def test_device_setup_lines():
    cmds = C.device_setup(CFG, "/dev/sdb", DEV, destroy_data=True)
    spec = ["wipefs --all -- /dev/sdb",
            "/usr/sbin/lvm pvcreate -qq --metadatasize=128M --dataalignment=256K -- '/dev/sdb'",
            f"/usr/sbin/lvm vgcreate -qq --physicalextentsize=4M --autobackup=n -- vg_{DEV} /dev/sdb"]
    assert [list(c.argv) for c in cmds] == [shlex.split(s) for s in spec]
    assert all(c.check for c in cmds)
    assert lines(C.device_setup(CFG, "/dev/sdb", DEV))[0].startswith("/usr/sbin/lvm pvcreate")


def test_device_setup_config_values():
    cfg = ExecConfig(pv_data_alignment="1M", vg_physicalextentsize="8M",
                     backup_lvm_metadata=True, lvm_wrapper="exec-on-host")
    assert lines(C.device_setup(cfg, "/dev/vdc", DEV)) == [
        "exec-on-host /usr/sbin/lvm pvcreate -qq --metadatasize=128M --dataalignment=1M -- /dev/vdc",
        f"exec-on-host /usr/sbin/lvm vgcreate -qq --physicalextentsize=8M --autobackup=y "
        f"-- vg_{DEV} /dev/vdc"]


def test_identify_size_and_lookup_lines():
    assert lines(C.device_identify(CFG, "/dev/sdb")) == [
        "/usr/sbin/lvm pvs -o pv_name,pv_uuid,vg_name --reportformat=json -- /dev/sdb",
        "/usr/bin/udevadm info --query=symlink --name=/dev/sdb"]
    assert C.device_identify(CFG, "/dev/sdb")[1].check is False
    assert shlex.join(C.vg_display(CFG, DEV).argv) == f"/usr/sbin/lvm vgdisplay -c -- vg_{DEV}"
    assert shlex.join(C.pv_lookup(CFG, DEV).argv) == (
        f"/usr/sbin/lvm vgs -o pv_name,pv_uuid,vg_name --reportformat=json -- vg_{DEV}")
    wrapped = C.device_identify(ExecConfig(lvm_wrapper="exec-on-host"), "/dev/sdb")[1]
    assert shlex.join(wrapped.argv).startswith("exec-on-host /usr/bin/udevadm info")


def test_teardown_order_and_forceforget_order():
    by_id = C.pv_uuid_path(PV_UUID)
    spec = [f"/usr/sbin/lvm vgremove -qq -- vg_{DEV}", f"/usr/sbin/lvm pvremove -qq -- '{by_id}'",
            f"rmdir -- /var/lib/heketi/mounts/vg_{DEV}"]
    assert [list(c.argv) for c in C.device_teardown(CFG, by_id, DEV)] == [
        shlex.split(s) for s in spec]
    forced = C.device_teardown(CFG, by_id, DEV, force=True)
    assert lines(forced)[0] == f"rmdir -- /var/lib/heketi/mounts/vg_{DEV}"
    assert [list(c.argv) for c in forced[1:]] == [shlex.split(s) for s in spec[:2]]


# -- bricks -----------------------------------------------------------------

AWK_SPEC = (f'awk -- "BEGIN {{print \\"{DEVNODE} {M} xfs rw,inode64,noatime,nouuid 1 2\\" '
            f'>> \\"/etc/fstab\\"}}"')


def test_brick_create_is_heketis_batch():
    spec = [
        f"mkdir -p -- {M}",
        f"/usr/sbin/lvm lvcreate -qq --autobackup=n --poolmetadatasize 53248K --chunksize 256K "
        f"--size 10485760K --thin --virtualsize 10485760K --name brick_{BRICK} "
        f"-- vg_{DEV}/tp_{BRICK}",
        f"mkfs.xfs -i size=512 -n size=8192 -- {DEVNODE}",
        AWK_SPEC,
        f"mount -o rw,inode64,noatime,nouuid -- {DEVNODE} {M}",
        f"mkdir -- {M}/brick",
        f"chown -- :2001 {M}/brick",
        f"chmod -- 2775 {M}/brick",
    ]
    cmds = C.brick_create(CFG, brick(gid=2001))
    assert [list(c.argv) for c in cmds] == [shlex.split(s) for s in spec]
    assert all(c.check for c in cmds)


def test_brick_create_without_gid_has_no_chown_chmod():
    got = lines(C.brick_create(CFG, brick()))
    assert len(got) == 6 and got[-1] == f"mkdir -- {M}/brick"
    assert not any(line.startswith(("chown", "chmod")) for line in got)


def test_brick_create_arbiter_and_xfs_stripe():
    arb = lines(C.brick_create(ExecConfig(lv_chunksize="512K"), brick(arbiter=True)))
    assert arb[2] == f"mkfs.xfs -i maxpct=100 -n size=8192 -- {DEVNODE}"
    assert "--chunksize 256K" in arb[1]
    plain = lines(C.brick_create(ExecConfig(lv_chunksize="512K", xfs_su=64, xfs_sw=4), brick()))
    assert "--chunksize 512K" in plain[1]
    assert plain[2] == f"mkfs.xfs -i size=512 -d su=64,sw=4 -n size=8192 -- {DEVNODE}"
    only_su = lines(C.brick_create(ExecConfig(xfs_su=64), brick()))
    assert only_su[2] == f"mkfs.xfs -i size=512 -n size=8192 -- {DEVNODE}"


def test_brick_create_custom_fstab_and_mountopts():
    cfg = ExecConfig(fstab="/var/lib/heketi/fstab", mountopts="rw,noatime")
    got = lines(C.brick_create(cfg, brick()))
    assert got[3] == (f"awk -- 'BEGIN {{print \"{DEVNODE} {M} xfs rw,noatime 1 2\" >> "
                      f"\"/var/lib/heketi/fstab\"}}'")
    assert got[4] == f"mount -o rw,noatime -- {DEVNODE} {M}"


@pytest.mark.skipif(not shutil.which("awk") or not shutil.which("bash"), reason="needs awk, bash")
def test_awk_writes_the_same_fstab_line_as_heketi(tmp_path):
    """Run heketi's shell string and our argv: the fstab files must be identical."""
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    cfg = ExecConfig(fstab=str(ours))
    subprocess.run(list(C.brick_create(cfg, brick())[3].argv), check=True)
    heketi_line = AWK_SPEC.replace("awk -- ", "awk ", 1)
    subprocess.run(["bash", "-c", heketi_line.replace("/etc/fstab", str(theirs))], check=True)
    assert ours.read_bytes() == theirs.read_bytes() == (
        f"{DEVNODE} {M} xfs rw,inode64,noatime,nouuid 1 2\n").encode()


@pytest.mark.skipif(not shutil.which("sed"), reason="needs sed")
def test_fstab_removal_deletes_only_that_brick(tmp_path):
    fstab = tmp_path / "fstab"
    other = "c" * 32
    fstab.write_text(f"/dev/sda1 / xfs defaults 0 0\n{DEVNODE} {M} xfs rw 1 2\n"
                     f"/dev/mapper/vg_{DEV}-brick_{other} /x/brick_{other} xfs rw 1 2\n")
    cmd = C.brick_fstab_remove(ExecConfig(fstab=str(fstab)), brick())
    assert shlex.join(cmd.argv) == f"sed -i.save -- /brick_{BRICK}/d {fstab}"
    subprocess.run(list(cmd.argv), check=True)
    assert BRICK not in fstab.read_text() and other in fstab.read_text()
    assert (tmp_path / "fstab.save").exists()


def test_brick_destroy_lines():
    spec = [f"umount -- {M}", f'sed -i.save -- "/brick_{BRICK}/d" /etc/fstab',
            f"/usr/sbin/lvm lvremove --autobackup=n -f -- vg_{DEV}/brick_{BRICK}",
            f"/usr/sbin/lvm lvremove --autobackup=n -f --select thin_count=0 -- "
            f"vg_{DEV}/tp_{BRICK}",
            f"/usr/sbin/lvm lvs --noheadings --options=thin_count -- vg_{DEV}/tp_{BRICK}",
            f"rmdir -- {M}"]
    assert [list(c.argv) for c in C.brick_destroy(CFG, brick())] == [shlex.split(s) for s in spec]


def test_clone_brick_destroy_uses_its_path_and_skips_fstab():
    path = "/run/gluster/snaps/0123456789abcdef0123456789abcdef/brick1/brick"
    clone = brick(path=path, lv_name="0123456789abcdef0123456789abcdef_0", tp_name=f"tp_{'a' * 32}")
    got = lines(C.brick_destroy(CFG, clone))
    assert got[0] == "umount -- /run/gluster/snaps/0123456789abcdef0123456789abcdef/brick1"
    assert not any(line.startswith("sed") for line in got)
    assert got[1].endswith(f"vg_{DEV}/0123456789abcdef0123456789abcdef_0")
    assert got[2].endswith(f"vg_{DEV}/tp_{'a' * 32}")


# -- volumes ----------------------------------------------------------------

def test_volume_create_replicate_first_set_then_add_brick_chunks():
    got = lines(C.volume_create(CFG, volume(36, options=["", "performance.rda-cache-limit 10MB",
                                                         ""])))
    bricks = [f"h{i}:/p{i}" for i in range(1, 37)]
    assert got[0] == f"{G} volume create vol1 replica 3 {' '.join(bricks[:3])}"
    # replicate: 5 sets of 3 per add-brick
    assert got[1] == f"{G} volume add-brick vol1 {' '.join(bricks[3:18])}"
    assert got[2] == f"{G} volume add-brick vol1 {' '.join(bricks[18:33])}"
    assert got[3] == f"{G} volume add-brick vol1 {' '.join(bricks[33:])}"
    assert got[4:] == [f"{G} volume set vol1 performance.rda-cache-limit 10MB",
                       f"{G} volume set vol1 user.heketi.id {VOL_ID}",
                       f"{G} volume start vol1"]


def test_volume_create_single_set_has_no_add_brick():
    got = lines(C.volume_create(CFG, volume(3)))
    assert got == [f"{G} volume create vol1 replica 3 h1:/p1 h2:/p2 h3:/p3",
                   f"{G} volume set vol1 user.heketi.id {VOL_ID}", f"{G} volume start vol1"]


def test_volume_create_arbiter_disperse_none():
    arb = lines(C.volume_create(CFG, volume(3, arbiter=True)))
    assert arb[0] == f"{G} volume create vol1 replica 3 arbiter 1 h1:/p1 h2:/p2 h3:/p3"
    disp = lines(C.volume_create(CFG, volume(18, "disperse", disperse_data=4,
                                             disperse_redundancy=2)))
    assert disp[0].startswith(f"{G} volume create vol1 disperse-data 4 redundancy 2 h1:/p1 ")
    assert disp[0].endswith(" h6:/p6")
    assert disp[1] == f"{G} volume add-brick vol1 " + " ".join(f"h{i}:/p{i}" for i in range(7, 13))
    assert disp[2].endswith(" h18:/p18") and disp[3].startswith(f"{G} volume set")
    dist = lines(C.volume_create(CFG, volume(17, "none")))
    assert dist[0] == f"{G} volume create vol1 h1:/p1"
    assert dist[1] == f"{G} volume add-brick vol1 " + " ".join(f"h{i}:/p{i}" for i in range(2, 17))
    assert dist[2] == f"{G} volume add-brick vol1 h17:/p17"


def test_volume_expand_delete_info_replace_lines():
    vol = volume(3)
    new = [(f"n{i}", f"/q{i}") for i in range(1, 7)]
    got = C.volume_expand(CFG, vol, new)
    assert lines(got) == [f"{G} volume add-brick vol1 " + " ".join(f"n{i}:/q{i}" for i in range(1, 7)),
                          f"{G} volume rebalance vol1 start"]
    assert got[-1].check is False
    assert lines(C.volume_expand(CFG, vol, new, rebalance=False))[-1].startswith(
        f"{G} volume add-brick")
    destroy = C.volume_destroy(CFG, "vol1")
    assert lines(destroy) == [f"{G} volume stop vol1 force", f"{G} volume delete vol1"]
    assert [c.check for c in destroy] == [False, True]
    assert shlex.join(C.volume_info(CFG, "vol1").argv) == f"{G} volume info vol1 --xml"
    assert shlex.join(C.volume_heal_info(CFG, "vol1").argv) == f"{G} volume heal vol1 info --xml"
    assert shlex.join(C.volume_replace_brick(CFG, "vol1", ("h1", "/p1"), ("h4", "/p4")).argv) == (
        f"{G} volume replace-brick vol1 h1:/p1 h4:/p4 commit force")


def test_clone_sequence():
    snap = "tmpsnap_" + "f" * 32
    assert lines(C.volume_clone(CFG, "vol1", "vol2", snap)) == [
        f"{G} --xml snapshot create {snap} vol1 no-timestamp",
        f"{G} --xml snapshot activate {snap}",
        f"{G} --xml snapshot clone vol2 {snap}",
        f"{G} --xml volume start vol2",
        f"{G} --xml snapshot deactivate {snap}",
        f"{G} volume info vol2 --xml",
        f"{G} --xml snapshot delete {snap}"]


def test_incomplete_brick_sets_are_refused():
    with pytest.raises(ExecutorError, match="sets of 3"):
        C.volume_create(CFG, volume(4))
    with pytest.raises(ExecutorError, match="arbiter"):
        C.volume_create(CFG, volume(3, replica=2, arbiter=True))
