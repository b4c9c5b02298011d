"""Device (LVM PV/VG) commands (heketi ``executors/cmdexec/device.go``), spec §6.3."""

from __future__ import annotations

from pyketi.executors import validate as V
from pyketi.executors.commands.base import (device_mount_parent, lvm, udevadm,
                                            vg_name)
from pyketi.executors.config import ExecConfig
from pyketi.executors.transports.base import Command


def device_setup(cfg: ExecConfig, device: str, device_id: str,
                 destroy_data: bool = False) -> list[Command]:
    """[``wipefs --all <dev>``,] ``L pvcreate ...``, ``L vgcreate ...``."""
    V.check_device_path(device)
    V.check_id(device_id, "device id")
    cmds = [Command.of("wipefs", "--all", "--", device)] if destroy_data else []
    cmds.append(Command.of(*lvm(cfg), "pvcreate", "-qq", "--metadatasize=128M",
                           f"--dataalignment={cfg.pv_data_alignment}", "--", device))
    cmds.append(Command.of(*lvm(cfg), "vgcreate", "-qq",
                           f"--physicalextentsize={cfg.vg_physicalextentsize}",
                           f"--autobackup={cfg.autobackup}", "--", vg_name(device_id), device))
    return cmds


def pv_lookup(cfg: ExecConfig, device_id: str) -> Command:
    """``L vgs -o pv_name,pv_uuid,vg_name --reportformat=json vg_<id>`` (resync/teardown)."""
    V.check_id(device_id, "device id")
    return Command.of(*lvm(cfg), "vgs", "-o", "pv_name,pv_uuid,vg_name",
                      "--reportformat=json", "--", vg_name(device_id))


def device_identify(cfg: ExecConfig, path: str) -> list[Command]:
    """``L pvs ... --reportformat=json <path>`` and ``U info --query=symlink``.

    The udevadm query does not stop the batch when it fails (no udev in a
    container): the device name alone is then used as its path.
    """
    V.check_device_path(path)
    return [Command.of(*lvm(cfg), "pvs", "-o", "pv_name,pv_uuid,vg_name",
                       "--reportformat=json", "--", path),
            Command.of(*udevadm(cfg), "info", "--query=symlink", f"--name={path}",
                       check=False)]


def vg_display(cfg: ExecConfig, device_id: str) -> Command:
    """``L vgdisplay -c vg_<id>``."""
    V.check_id(device_id, "device id")
    return Command.of(*lvm(cfg), "vgdisplay", "-c", "--", vg_name(device_id))


def vg_remove(cfg: ExecConfig, device_id: str, check: bool = True) -> Command:
    V.check_id(device_id, "device id")
    return Command.of(*lvm(cfg), "vgremove", "-qq", "--", vg_name(device_id), check=check)


def pv_remove(cfg: ExecConfig, path: str, check: bool = True) -> Command:
    V.check_device_path(path)
    return Command.of(*lvm(cfg), "pvremove", "-qq", "--", path, check=check)


def device_rmdir(device_id: str, check: bool = True) -> Command:
    """``rmdir /var/lib/heketi/mounts/vg_<id>``."""
    V.check_id(device_id, "device id")
    return Command.of("rmdir", "--", device_mount_parent(device_id), check=check)


def device_teardown(cfg: ExecConfig, path: str, device_id: str,
                    force: bool = False) -> list[Command]:
    """vgremove, pvremove, rmdir (forceforget: rmdir first).

    No command stops the batch: the executor judges each result (a missing
    VG/PV or directory counts as done; with ``force`` every error is ignored).
    """
    steps = [vg_remove(cfg, device_id, check=False),
             pv_remove(cfg, path, check=False),
             device_rmdir(device_id, check=False)]
    return [steps[2], steps[0], steps[1]] if force else steps
