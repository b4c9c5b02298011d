"""Every command builder, every string it takes, every hostile token (issue 8, item 1).

The builders are found by introspection of the ``commands_*`` modules, so a new
builder is walked without touching this file (a new parameter name fails
``test_every_parameter_has_a_benign_value`` until it gets a benign value here).

For each hostile value put in one string slot (a plain argument, a field of a
``BrickRequest``/``VolumeRequest``, a brick host or path, a volume option key or
value) the builder must either raise ``ExecutorError`` or return commands where:

* no token holds a control character (newline, NUL, ...) or a ``..`` path component
  (gluster option values aside);
* tools that take ``--`` (everything but gluster, and commands without any
  variable token) have it, and no token after it starts with ``-``;
* the option section (before ``--``, or the whole argv for gluster, whose CLI
  reads a ``--flag`` anywhere) holds no ``-`` token the benign call does not
  hold: nothing from the input became an option.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from collections import Counter

import pytest

from pyketi.executors.commands import base as commands_base
from pyketi.executors.commands import brick as commands_brick
from pyketi.executors.commands import device as commands_device
from pyketi.executors.commands import peer as commands_peer
from pyketi.executors.commands import volume as commands_volume
from pyketi.executors.base import BrickRequest, ExecutorError, VolumeRequest
from pyketi.executors.config import ExecConfig
from pyketi.executors.transports.base import Command

from executor_fakes import BRICK, DEV, PV_UUID, VOL_ID

MODULES = (commands_base, commands_brick, commands_device, commands_peer, commands_volume)
HOSTILE = ["-x", "--log-file=/etc/cron.d/x", "--xml", "--remote-host=evil", "--version",
           "-", "--", "a\nb", "a\x00b", "a\rb", "..", "/dev/../etc/shadow", "/dev//sdb",
           "/dev/./sdb", "/dev/sdb/", "a b", "fe80::1%eth0\nx", "all"]
# tools whose options end at "--" (getopt): pyketi must always put it there
DASHDASH_TOOLS = {"mkdir", "/usr/sbin/lvm", "mkfs.xfs", "mount", "umount", "wipefs", "sed",
                  "rmdir", "chown", "chmod", "awk"}
# no "--" needed: gluster (the CLI has no portable end of options: validation instead),
# systemctl with constant words, udevadm whose only variable is glued (--name=<path>)
NO_DASHDASH = {"gluster", "systemctl", "/usr/bin/udevadm"}
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _brick(**kw) -> BrickRequest:
    args = dict(id=BRICK, device_id=DEV, node_storage="10.0.0.1", size_kib=1024,
                tp_size_kib=2048, pool_metadata_kib=8, gid=2001)
    return BrickRequest(**{**args, **kw})


def _volume(**kw) -> VolumeRequest:
    args = dict(name="vol1", id=VOL_ID, durability="replicate", replica=3,
                bricks=[("h1", "/p1"), ("h2", "/p2"), ("h3", "/p3")],
                options=["performance.rda-cache-limit 10MB"])
    return VolumeRequest(**{**args, **kw})


BENIGN = {
    "cfg": ExecConfig(), "b": _brick(), "vol": _volume(), "device": "/dev/sdb",
    "path": "/dev/sdb", "device_id": DEV, "destroy_data": True, "force": False,
    "check": True, "rebalance": True, "need_bricks": True, "new_node_storage": "n2",
    "node_storage": "n2", "name": "vol1", "snap": "snap1", "volume": "vol1",
    "clone": "clone1", "new_bricks": [("h4", "/p4"), ("h5", "/p5"), ("h6", "/p6")],
    "bricks": [("h1", "/p1"), ("h2", "/p2"), ("h3", "/p3")], "per_set": 3,
    "old": ("h1", "/p1"), "new": ("h4", "/p4"), "pv_uuid": PV_UUID,
}


def builders() -> list:
    found = {}
    for module in MODULES:
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if not name.startswith("_") and fn.__module__ == module.__name__:
                found[f"{module.__name__.rsplit('.', 1)[1]}.{name}"] = fn
    return sorted(found.items())


def _commands(result: object) -> list[Command] | None:
    """The commands a builder returned; None when it is not a command builder."""
    if isinstance(result, Command):
        return [result]
    if isinstance(result, list) and result and all(isinstance(c, Command) for c in result):
        return result
    return None


def _slots(args: dict) -> list[tuple[str, object]]:
    """(slot name, a function value -> args with that slot replaced) for every string slot."""
    slots = []
    for pname, value in args.items():
        if isinstance(value, str):
            slots.append((pname, lambda v, p=pname: {**args, p: v}))
        elif isinstance(value, tuple) and len(value) == 2:
            for k in (0, 1):
                slots.append((f"{pname}[{k}]", lambda v, p=pname, k=k: {
                    **args, p: tuple(v if j == k else x for j, x in enumerate(args[p]))}))
        elif isinstance(value, list) and value and isinstance(value[0], tuple):
            for k in (0, 1):
                slots.append((f"{pname}[1][{k}]", lambda v, p=pname, k=k: {
                    **args, p: [args[p][0], tuple(v if j == k else x for j, x in
                                                  enumerate(args[p][1])), *args[p][2:]]}))
        elif isinstance(value, (BrickRequest, VolumeRequest)):
            for field in dataclasses.fields(value):
                if isinstance(getattr(value, field.name), str):
                    slots.append((f"{pname}.{field.name}", lambda v, p=pname, f=field.name: {
                        **args, p: dataclasses.replace(args[p], **{f: v})}))
            if isinstance(value, VolumeRequest):
                for form in ("{v}", "{v} on", "performance.readdir-ahead {v}",
                             "user.x a {v}"):
                    slots.append((f"{pname}.options:{form}", lambda v, p=pname, f=form: {
                        **args, p: dataclasses.replace(args[p], options=[f.format(v=v)])}))
                for k in (0, 1):
                    slots.append((f"{pname}.bricks[1][{k}]", lambda v, p=pname, k=k: {
                        **args, p: dataclasses.replace(args[p], bricks=[
                            args[p].bricks[0],
                            tuple(v if j == k else x for j, x in enumerate(args[p].bricks[1])),
                            *args[p].bricks[2:]])}))
    return slots


def _option_section(argv: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if "--" in argv:
        i = argv.index("--")
        return argv[:i], argv[i + 1:]
    return argv, ()


def _dash_tokens(cmds: list[Command]) -> Counter:
    """Option-section tokens starting with '-', a glued value cut at '='."""
    return Counter(t.split("=", 1)[0] + ("=" if "=" in t else "")
                   for c in cmds for t in _option_section(c.argv)[0] if t.startswith("-"))


def check_argv(cmds: list[Command], benign: list[Command]) -> list[str]:
    problems = []
    for c in cmds:
        tool = c.argv[0]
        options, operands = _option_section(c.argv)
        for t in c.argv:
            if CONTROL.search(t):
                problems.append(f"control character in {t!r}")
            # paths: every non-gluster token, and gluster brick specs (an option
            # value is gluster's to interpret, it may mention any path)
            if (tool != "gluster" or ":/" in t) and ".." in t.split("/"):
                problems.append(f"'..' path component in {t!r}")
        if tool in DASHDASH_TOOLS and len(c.argv) > 1 and "--" not in c.argv:
            problems.append(f"no '--' in {c.argv}")
        if tool not in DASHDASH_TOOLS | NO_DASHDASH:
            problems.append(f"unknown tool {tool!r}: add it to DASHDASH_TOOLS or NO_DASHDASH")
        if tool == "gluster" and "--" in c.argv:
            problems.append(f"gluster argv with '--' (not portable): {c.argv}")
        problems += [f"operand {t!r} starts with '-' in {c.argv}"
                     for t in operands if t.startswith("-")]
    extra = _dash_tokens(cmds) - _dash_tokens(benign)
    if extra:
        problems.append(f"input became option(s) {sorted(extra)}: {[c.argv for c in cmds]}")
    return problems


def _call(fn, args: dict):
    return fn(**args)


def _benign_args(fn) -> dict:
    return {p: BENIGN[p] for p in inspect.signature(fn).parameters if p in BENIGN}


def test_builders_are_found():
    names = [n for n, _ in builders()]
    for expected in ("device.device_setup", "brick.brick_create",
                     "volume.volume_create", "peer.peer_probe",
                     "volume.volume_options", "brick.brick_destroy"):
        assert expected in names
    assert len(names) >= 30


@pytest.mark.parametrize("name,fn", builders(), ids=[n for n, _ in builders()])
def test_every_parameter_has_a_benign_value(name, fn):
    missing = [p for p in inspect.signature(fn).parameters if p not in BENIGN]
    assert not missing, f"{name}: give {missing} a benign value in BENIGN"


@pytest.mark.parametrize("name,fn", builders(), ids=[n for n, _ in builders()])
def test_benign_call_passes_the_argv_checks(name, fn):
    cmds = _commands(_call(fn, _benign_args(fn)))
    if cmds is not None:
        assert check_argv(cmds, cmds) == []


@pytest.mark.parametrize("name,fn", builders(), ids=[n for n, _ in builders()])
def test_hostile_tokens_are_refused_or_inert(name, fn):
    args = _benign_args(fn)
    benign = _commands(_call(fn, args))
    if benign is None:
        pytest.skip(f"{name} builds no command (a path/name helper or a request check)")
    problems = []
    for slot, replace in _slots(args):
        for value in HOSTILE:
            try:
                result = _call(fn, replace(value))
            except ExecutorError:
                continue
            cmds = _commands(result) or []
            problems += [f"{slot}={value!r}: {p}" for p in check_argv(cmds, benign)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("option", [
    "performance.readdir-ahead --log-file=/etc/cron.d/x", "--xml --remote-host=evil.example",
    "-x on", "performance.cache-size -1", "performance.cache-size\t--xml",
    "user.x a\x1bb", "user.x a\u2028b", "group ../../../etc/passwd", "group /etc/passwd"])
def test_issue_options_never_reach_gluster(option):
    with pytest.raises(ExecutorError, match="invalid volume option"):
        commands_volume.volume_create(ExecConfig(), _volume(options=[option]))


@pytest.mark.parametrize("option,argv_tail", [
    ("performance.rda-cache-limit 10MB", ("performance.rda-cache-limit", "10MB")),
    ("user.heketi.average-file-size 64", ("user.heketi.average-file-size", "64")),
    ("server.tcp-user-timeout 42", ("server.tcp-user-timeout", "42")),
    ("auth.allow 10.0.0.1, 10.0.0.2", ("auth.allow", "10.0.0.1, 10.0.0.2")),
    ("group gluster-block", ("group", "gluster-block")),
    ("user.heketi.device-tag-match disktype!=hdd", ("user.heketi.device-tag-match",
                                                    "disktype!=hdd")),
])
def test_heketi_client_options_still_reach_gluster(option, argv_tail):
    cmds = commands_volume.volume_create(ExecConfig(), _volume(options=[option]))
    assert cmds[1].argv == ("gluster", "--mode=script", "--timeout=600", "volume", "set",
                            "vol1", *argv_tail)


@pytest.mark.parametrize("name", ["--version", "-x", "all", "ALL", "force", "vol\n"])
def test_hostile_volume_names_never_reach_gluster(name):
    with pytest.raises(ExecutorError, match="invalid volume name"):
        commands_volume.volume_create(ExecConfig(), _volume(name=name))
    with pytest.raises(ExecutorError, match="invalid volume name"):
        commands_volume.volume_destroy(ExecConfig(), name)
