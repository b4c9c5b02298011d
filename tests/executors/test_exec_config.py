"""ExecConfig: heketi's sshexec/kubeexec keys, defaults and refusals."""

from __future__ import annotations

import pytest

from pyketi.executors.base import ExecutorError
from pyketi.executors.config import ExecConfig


def test_defaults_are_heketis():
    cfg = ExecConfig()
    assert (cfg.fstab, cfg.mountopts, cfg.sudo, cfg.snapshot_limit) == (
        "/etc/fstab", "rw,inode64,noatime,nouuid", False, 0)
    assert (cfg.pv_data_alignment, cfg.vg_physicalextentsize, cfg.lv_chunksize) == (
        "256K", "4M", "256K")
    assert cfg.autobackup == "n" and cfg.rebalance_on_expansion is True
    assert cfg.gluster_batch_timeout == 660  # 11 minutes
    assert (cfg.lvm_timeout, cfg.brick_create_timeout) == (300, 600)


def test_from_heketi_reads_keys_and_ignores_unknown():
    cfg = ExecConfig.from_heketi({
        "keyfile": "/etc/heketi/key", "user": "root", "port": "2222", "_comment": "x",
        "fstab": "/etc/fstab.heketi", "mountopts": "rw,noatime", "sudo": True,
        "snapshot_limit": 14, "backup_lvm_metadata": True, "gluster_cli_timeout": 1200,
        "pv_data_alignment": "1M", "vg_physicalextentsize": "8M", "lv_chunksize": "512K",
        "xfs_sw": 4, "xfs_su": 64, "lvm_wrapper": "exec-on-host",
        "rebalance_on_expansion": False, "lvm_timeout": 30})
    assert cfg.fstab == "/etc/fstab.heketi" and cfg.sudo and cfg.snapshot_limit == 14
    assert cfg.autobackup == "y" and cfg.gluster_batch_timeout == 60 * 21
    assert (cfg.xfs_sw, cfg.xfs_su, cfg.lvm_wrapper_argv) == (4, 64, ("exec-on-host",))
    assert cfg.rebalance_on_expansion is True  # forced like heketi's app.go
    assert cfg.lvm_timeout == 30


def test_empty_values_fall_back_to_defaults():
    cfg = ExecConfig.from_heketi({"fstab": "", "mountopts": "", "gluster_cli_timeout": 0})
    assert (cfg.fstab, cfg.mountopts, cfg.gluster_cli_timeout) == (
        "/etc/fstab", "rw,inode64,noatime,nouuid", 600)
    assert ExecConfig.from_heketi(None) == ExecConfig()


@pytest.mark.parametrize("section", [{"xfs_sw": "Optional: ..."}, {"sudo": "yes"},
                                     {"gluster_cli_timeout": "600"}, {"snapshot_limit": True},
                                     {"fstab": 1}])
def test_type_mismatch_is_a_startup_error(section):
    with pytest.raises(ValueError, match="Unable to parse configuration"):
        ExecConfig.from_heketi(section)


@pytest.mark.parametrize("section", [{"fstab": "/etc/fstab; reboot"}, {"fstab": "relative"},
                                     {"mountopts": "rw nouuid"}, {"lv_chunksize": "256K;x"},
                                     {"lvm_wrapper": "x;y"}, {"snapshot_limit": -1}])
def test_unsafe_values_are_refused(section):
    with pytest.raises(ValueError, match="Unable to parse configuration"):
        ExecConfig.from_heketi(section)
    with pytest.raises(ExecutorError):
        ExecConfig(**section)


def test_env_overrides():
    cfg = ExecConfig.from_heketi({"fstab": "/etc/a"}, env={
        "HEKETI_FSTAB": "/etc/b", "HEKETI_SNAPSHOT_LIMIT": "3",
        "HEKETI_GLUSTER_CLI_TIMEOUT": "60", "HEKETI_LVM_WRAPPER": "nsenter -t 1 -m",
        "HEKETI_GLUSTERAPP_REBALANCE_ON_EXPANSION": "false"})
    assert (cfg.fstab, cfg.snapshot_limit, cfg.gluster_cli_timeout) == ("/etc/b", 3, 60)
    assert cfg.lvm_wrapper_argv == ("nsenter", "-t", "1", "-m")
    assert cfg.rebalance_on_expansion is False
    assert cfg.gluster_batch_timeout == 600  # max(10, 1 + 61 // 60) minutes
