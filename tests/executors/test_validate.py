"""Whatever reaches a node is either refused or one literal argv token."""

from __future__ import annotations

import shlex
import shutil
import subprocess

import pytest

from pyketi.executors import commands as C
from pyketi.executors import validate as V
from pyketi.executors.base import BrickRequest, ExecutorError, VolumeRequest
from pyketi.executors.config import ExecConfig

from executor_fakes import BRICK, DEV, VOL_ID

CFG = ExecConfig()
HOSTILE_VALUES = ["10MB; rm -rf /", "$(reboot)", "`reboot`", "a' b\" c", "x && y | z > /etc/passwd",
                  "*", "~root", "${IFS}"]


def vol(**kw) -> VolumeRequest:
    args = dict(name="vol1", id=VOL_ID, durability="replicate", replica=3,
                bricks=[("h1", "/p1"), ("h2", "/p2"), ("h3", "/p3")])
    args.update(kw)
    return VolumeRequest(**args)


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_option_value_is_one_token(value):
    cmds = C.volume_create(CFG, vol(options=[f"performance.cache-size {value}"]))
    setter = cmds[1]
    assert setter.argv[-3:] == ("vol1", "performance.cache-size", value)
    # the remote shell splits the joined line back into exactly these tokens
    assert shlex.split(shlex.join(setter.argv)) == list(setter.argv)


@pytest.mark.skipif(not shutil.which("bash"), reason="needs bash")
def test_hostile_value_stays_literal_in_a_real_shell(tmp_path):
    marker = tmp_path / "pwned"
    value = f"$(touch {marker}); touch {marker}; `touch {marker}`"
    cmd = C.volume_create(CFG, vol(options=[f"user.x {value}"]))[1]
    argv = ["printf", "%s\\n", *cmd.argv[-2:]]
    out = subprocess.run(["bash", "-c", shlex.join(argv)], capture_output=True, text=True,
                         check=True).stdout
    assert out == f"user.x\n{value}\n"
    assert not marker.exists()


def test_option_parsing():
    assert V.parse_volume_option("") is None
    assert V.parse_volume_option("  ") is None
    assert V.parse_volume_option(" client.event-threads 4") == ("client.event-threads", "4")
    assert V.parse_volume_option("auth.allow 10.0.0.1, 10.0.0.2") == (
        "auth.allow", "10.0.0.1, 10.0.0.2")
    assert V.parse_volume_option("group\tgluster-block") == ("group", "gluster-block")


@pytest.mark.parametrize("option", ["performance.x 1\nreboot", "a.b c\x00d", "a.b c\rd",
                                    "nokey", "bad;key value", "$(x) value", "k'ey v"])
def test_bad_options_are_refused(option):
    with pytest.raises(ExecutorError, match="volume option"):
        C.volume_create(CFG, vol(options=[option]))


@pytest.mark.parametrize("name", ["vol 1", "vol;reboot", "vol\n", "", "vol/1", "$(x)"])
def test_bad_volume_names(name):
    with pytest.raises(ExecutorError, match="invalid volume name"):
        C.volume_destroy(CFG, name)


@pytest.mark.parametrize("device", ["sdb", "/dev/sdb;reboot", "/dev/sd b", "/dev/sdb\n",
                                    "$(reboot)", "/dev/`x`"])
def test_bad_device_paths(device):
    with pytest.raises(ExecutorError, match="invalid device path"):
        C.device_setup(CFG, device, DEV)


@pytest.mark.parametrize("host", ["-oProxyCommand=x", "h1 h2", "h1;reboot", "", "a" * 300,
                                  "h1\n", "h/1"])
def test_bad_hosts(host):
    with pytest.raises(ExecutorError, match="hostname"):
        C.peer_probe(CFG, host)


@pytest.mark.parametrize("host", ["node1.example.com", "192.168.10.100", "fe80::1", "n_1"])
def test_good_hosts(host):
    assert C.peer_probe(CFG, host)[0].argv[-1] == host


def test_bad_ids_and_paths_in_requests():
    good = dict(id=BRICK, device_id=DEV, node_storage="h", size_kib=1, tp_size_kib=1,
                pool_metadata_kib=1)
    for bad in ({"id": "x" * 32}, {"device_id": DEV[:-1]}, {"path": "/a/../etc/brick"},
                {"path": "relative/brick"}, {"lv_name": "-rf"}, {"gid": -1},
                {"gid": 2**31}, {"size_kib": 0}, {"tp_size_kib": 0}):
        with pytest.raises(ExecutorError):
            C.brick_create(CFG, BrickRequest(**{**good, **bad}))
    with pytest.raises(ExecutorError, match="brick host"):
        C.volume_create(CFG, vol(bricks=[("h1", "/p1"), ("h2;x", "/p2"), ("h3", "/p3")]))
    with pytest.raises(ExecutorError, match="brick path"):
        C.volume_create(CFG, vol(bricks=[("h1", "/p1"), ("h2", "p2"), ("h3", "/p3")]))
    with pytest.raises(ExecutorError, match="volume id"):
        C.volume_create(CFG, vol(id="1234"))
