"""A stand-in storage node behind a real sshd: every node command is a stub.

``StubNode(dir)`` writes ``node-shell`` (the sshd ``ForceCommand``: runs the
client's command with ``PATH=<dir>/bin``, plus the sbin directories pyketi's
script appends) and one Python stub linked under every program name pyketi's
command builders use; LVM and udevadm (absolute paths in heketi's commands) go
through the stub as ``lvm_wrapper``.  No real ``mount``, ``mkfs``,
``lvcreate`` ... ever runs on the test machine; a program missing from
``PROGRAMS`` fails (command not found) instead of running for real.

Each call is appended to ``calls.log`` as JSON ``[node address, program, args...]``
(the node address is the sshd's listening address, from ``SSH_CONNECTION``).
The stub answers like a healthy node (``pvs``/``vgs`` JSON of the VGs created,
``vgdisplay -c``, ``lvs`` thin count 0 until an empty pool was removed, ``volume info
--xml`` a volume without bricks, empty output otherwise).  A file
``hang-<address>-<program>`` makes that program hang (30 s) on that node;
``glusterd-down-<address>`` makes every ``gluster`` command there fail as the CLI
does with glusterd stopped (the reason on stdout, exit status 1).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sshd_server import ensure_sshd

PROGRAMS = ("awk", "chmod", "chown", "mkdir", "mkfs.xfs", "mount", "rmdir", "sed",
            "systemctl", "umount", "wipefs", "gluster", "lvmwrap")

_STUB = r'''#!/usr/bin/python3 -S
import json, os, sys, time
HERE = os.path.dirname(os.path.dirname(os.path.abspath(sys.argv[0])))
name, args = os.path.basename(sys.argv[0]), sys.argv[1:]
node = (os.environ.get("SSH_CONNECTION", "") + " ? ? ? ?").split()[2]
with open(os.path.join(HERE, "calls.log"), "a") as log:
    log.write(json.dumps([node, name, *args]) + "\n")
prog = os.path.basename(args[0]) if name == "lvmwrap" and args else name
sub = args[1] if name == "lvmwrap" and len(args) > 1 else ""
if os.path.exists(os.path.join(HERE, f"hang-{node}-{sub or prog}")):
    time.sleep(30)
if name == "gluster" and os.path.exists(os.path.join(HERE, f"glusterd-down-{node}")):
    # what the gluster CLI prints (on stdout) when glusterd does not answer
    print("Connection failed. Please check if gluster daemon is operational.")
    sys.exit(1)
vgs_file = os.path.join(HERE, f"vgs-{node}")
vgs = open(vgs_file).read().split() if os.path.exists(vgs_file) else []
if sub == "vgcreate":
    with open(vgs_file, "a") as f:
        f.write(next(a for a in args[2:] if a.startswith("vg_")) + "\n")
elif sub in ("pvs", "vgs"):
    rows = [{"pv_name": "/dev/sdb", "pv_uuid": "rJ0bIG-3XNc-NoS0-fkKm-batK-dFyX-" + v[-6:],
             "vg_name": v} for v in vgs]
    print(json.dumps({"report": [{"pv": rows}]}))
elif sub == "vgdisplay":
    print(f"  {args[-1]}:r/w:772:-1:0:0:0:-1:0:1:1:104853504:4096:25599:0:25599:"
          "kPnJBx-Bh0y-yUyj-ZQC6-CqT7-ZZoU-XPJg3k")
elif sub == "lvremove" and "--select" in args:  # an empty thin pool goes
    with open(os.path.join(HERE, f"lvgone-{node}"), "a") as f:
        f.write(args[-1] + "\n")
elif sub == "lvs":
    gone_file = os.path.join(HERE, f"lvgone-{node}")
    gone = open(gone_file).read().split() if os.path.exists(gone_file) else []
    if args[-1] in gone:
        print(f"  Failed to find logical volume \"{args[-1]}\"", file=sys.stderr)
        sys.exit(5)
    print("  0")
elif name == "gluster" and "volume" in args and args[args.index("volume") + 1:][:1] == ["info"]:
    # ``volume info <name> --xml``: a volume with no brick
    vol = args[args.index("info") + 1]
    print("<cliOutput><opRet>0</opRet><opErrno>0</opErrno><opErrstr/><volInfo><volumes>"
          f"<volume><name>{vol}</name><status>1</status><brickCount>0</brickCount>"
          "<bricks/></volume><count>1</count></volumes></volInfo></cliOutput>")
'''

_SHELL = '''#!/bin/bash
# sshd ForceCommand: the client's command with only the stubs in PATH
# (HOME: no ~/.bashrc of the test machine's user runs with the stubs)
export PATH={bin} HOME={home}
unset BASH_ENV
exec /bin/bash -c "$SSH_ORIGINAL_COMMAND"
'''


class StubNode:
    def __init__(self, d: Path):
        self.dir = d
        bin_dir = d / "bin"
        bin_dir.mkdir(parents=True)
        stub = d / "stub.py"
        stub.write_text(_STUB)
        stub.chmod(0o755)
        for prog in PROGRAMS:
            (bin_dir / prog).symlink_to(stub)
        self.shell = d / "node-shell"
        self.shell.write_text(_SHELL.format(bin=bin_dir, home=d))
        self.shell.chmod(0o755)
        self.lvm_wrapper = str(bin_dir / "lvmwrap")
        self.log = d / "calls.log"

    @property
    def sshd_config(self) -> tuple[str, ...]:
        return (f"ForceCommand {self.shell}", f"SetEnv HOME={self.dir}")

    def calls(self, node: str | None = None) -> list[list[str]]:
        if not self.log.exists():
            return []
        rows = [json.loads(line) for line in self.log.read_text().splitlines() if line]
        return [r for r in rows if node is None or r[0] == node]

    def glusterd_down(self, node: str, down: bool = True) -> None:
        """Every ``gluster`` command on ``node`` fails as with glusterd stopped."""
        flag = self.dir / f"glusterd-down-{node}"
        if down:
            flag.write_text("")
        else:
            flag.unlink(missing_ok=True)

    def hang(self, node: str, program: str, on: bool = True) -> None:
        flag = self.dir / f"hang-{node}-{program}"
        if on:
            flag.write_text("")
        else:
            flag.unlink(missing_ok=True)


def stub_node_or_skip(d: Path) -> StubNode:
    """A ``StubNode`` in ``d``; the test is skipped when no sshd can serve it."""
    reason = ensure_sshd()
    if reason:
        pytest.skip(reason)
    return StubNode(d)
