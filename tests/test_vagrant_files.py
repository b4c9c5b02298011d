"""vagrant/: the Vagrantfile parses, the lab scripts pass shellcheck, and the MAC the
Vagrantfile gives node i is the one lab-up.sh's DHCP reservation expects (else the
nodes get other addresses than 10.90.0.(10+i)).  The real `vagrant up` is
tests/integration/test_vagrant.py (PYKETI_VAGRANT=1)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

VAGRANT = Path(__file__).resolve().parents[1] / "vagrant"


@pytest.mark.skipif(shutil.which("ruby") is None, reason="ruby missing (tests/lab/install-host-deps.sh)")
def test_vagrantfile_parses():
    p = subprocess.run(["ruby", "-c", str(VAGRANT / "Vagrantfile")], capture_output=True, text=True)
    assert p.returncode == 0 and "Syntax OK" in p.stdout, p.stderr


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck missing")
def test_lab_scripts_pass_shellcheck():
    scripts = sorted(str(s) for s in VAGRANT.glob("*.sh"))
    assert len(scripts) >= 5
    p = subprocess.run(["shellcheck", "-x", "-S", "warning", *scripts], capture_output=True,
                       text=True, cwd=VAGRANT.parent)
    assert p.returncode == 0, p.stdout


@pytest.mark.skipif(shutil.which("ruby") is None, reason="ruby missing")
@pytest.mark.parametrize("net", ["10.90.0", "172.16.200"])
def test_node_mac_agrees_with_the_dhcp_reservation(net):
    text = (VAGRANT / "Vagrantfile").read_text()
    defs = [m.group(0) for m in re.finditer(r"^def node_(?:ip|mac)\(i\)\n.*?^end$", text,
                                            re.M | re.S)]
    assert len(defs) == 2
    ruby = f"NET = {net!r}\n" + "\n".join(defs) + "\nputs((1..3).map { |i| node_mac(i) })\n"
    from_vagrantfile = subprocess.run(["ruby", "-e", ruby], capture_output=True, text=True,
                                      check=True).stdout.split()
    from_lab = subprocess.run(
        ["bash", "-c", f'. "{VAGRANT}/lab-common.sh"; for i in 1 2 3; do pv_mac $i; done'],
        env={"PATH": "/usr/bin:/bin", "PYKETI_VAGRANT_NET": net},
        capture_output=True, text=True, check=True).stdout.split()
    assert from_vagrantfile == from_lab
    last = int(net.split(".")[1]), int(net.split(".")[2])
    assert from_lab[0] == "52:54:00:%02x:%02x:0b" % last
