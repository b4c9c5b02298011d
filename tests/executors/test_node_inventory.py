"""Node inventory for drift repair: the commands (argv, fixed words) and the
parsing of what a node prints."""

import pytest

from pyketi.executors.base import ExecutorError
from pyketi.executors.config import ExecConfig
from pyketi.executors.node_inventory import (inventory_commands, parse_inventory,
                                             reset_brick_commands)

DEV, BID = "a" * 32, "b" * 32
MNT = f"/var/lib/heketi/mounts/vg_{DEV}/brick_{BID}"


def test_inventory_parses_lvs_mounts_fstab_and_dirs():
    lvs = (f"  vg_{DEV}|brick_{BID}|tp_{BID}|1048576.00|0   \n"
           f"  vg_{DEV}|tp_{BID}||1048576.00|8192.00\n"
           "  debian|root||4000000.00|0\n")
    mounts = (f"/dev/mapper/vg_{DEV}-brick_{BID} {MNT} xfs rw 0 0\n"
              "/dev/vda / ext4 rw 0 0\n")
    fstab = f"# {MNT} commented\n/dev/mapper/vg_{DEV}-brick_{BID} {MNT} xfs rw 1 2\n"
    inv = parse_inventory("n1", [lvs, mounts, fstab, f"{MNT}\n/var/lib/heketi/mounts/x\n"])
    assert inv.lvs[(f"vg_{DEV}", f"brick_{BID}")].pool == f"tp_{BID}"
    assert inv.lvs[(f"vg_{DEV}", f"tp_{BID}")].metadata_kib == 8192
    assert ("debian", "root") not in inv.lvs
    assert inv.mounts == inv.fstab == inv.dirs == {MNT}


def test_inventory_commands_are_fixed_argv_lists():
    cmds = inventory_commands(ExecConfig())
    assert cmds[0].argv[:2] == ("/usr/sbin/lvm", "lvs")
    assert cmds[0].argv[-2:] == ("-o", "vg_name,lv_name,pool_lv,lv_size,lv_metadata_size")
    assert cmds[1].argv == ("cat", "--", "/proc/mounts")
    assert cmds[2].argv == ("cat", "--", "/etc/fstab")


def test_reset_brick_checks_the_volume_and_brick():
    start, commit = reset_brick_commands(ExecConfig(), "vol_1", "10.0.0.1", MNT + "/brick")
    assert start.argv[-4:] == ("reset-brick", "vol_1", f"10.0.0.1:{MNT}/brick", "start")
    assert commit.argv[-4:] == (f"10.0.0.1:{MNT}/brick", f"10.0.0.1:{MNT}/brick",
                                "commit", "force")
    assert not start.check and commit.check
    with pytest.raises(ExecutorError):
        reset_brick_commands(ExecConfig(), "-vol", "10.0.0.1", MNT + "/brick")
