"""Test doubles for the executor tests: an in-memory Transport and node outputs."""

from __future__ import annotations

import asyncio
import json
import re
import shlex
from collections import defaultdict
from dataclasses import dataclass

from pyketi.executors.transports.base import Command, Result, Transport

DEV = "d" * 32
BRICK = "b" * 32
VOL_ID = "e" * 32
PV_UUID = "rJ0bIG-3XNc-NoS0-fkKm-batK-dFyX-xbxHym"
# sampleVg:r/w:772:-1:0:0:0:-1:0:4:4:2097135616:4096:511996:0:511996:<uuid>
VGDISPLAY = (f"  vg_{DEV}:r/w:772:-1:0:0:0:-1:0:1:1:2097135616:4096:511996:1000:510996:"
             "kPnJBx-Bh0y-yUyj-ZQC6-CqT7-ZZoU-XPJg3k\n")


def pvs_json(device: str = "/dev/sdb", vg: str = f"vg_{DEV}", key: str = "pv") -> str:
    return json.dumps({"report": [{key: [{"pv_name": device, "pv_uuid": PV_UUID,
                                          "vg_name": vg}]}]})


def cli_xml(body: str = "", op_ret: int = 0, errstr: str = "") -> str:
    err = f"<opErrstr>{errstr}</opErrstr>" if errstr else "<opErrstr/>"
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<cliOutput>'
            f"<opRet>{op_ret}</opRet><opErrno>0</opErrno>{err}{body}</cliOutput>")


def volume_xml(name: str, bricks: list[str], replica: int = 3, arbiter: bool = False) -> str:
    brick_xml = "".join(
        f'<brick uuid="u{i}">{b}<name>{b}</name><hostUuid>h{i}</hostUuid>'
        f"<isArbiter>{int(arbiter and i % 3 == 2)}</isArbiter></brick>"
        for i, b in enumerate(bricks))
    return cli_xml(
        f"<volInfo><volumes><volume><name>{name}</name><id>5a1c-0001</id><status>1</status>"
        f"<statusStr>Started</statusStr><brickCount>{len(bricks)}</brickCount>"
        f"<distCount>{replica}</distCount><stripeCount>1</stripeCount>"
        f"<replicaCount>{replica}</replicaCount><arbiterCount>{int(arbiter)}</arbiterCount>"
        f"<disperseCount>0</disperseCount><redundancyCount>0</redundancyCount><type>2</type>"
        f"<typeStr>Replicate</typeStr><transport>0</transport><bricks>{brick_xml}</bricks>"
        f"<optCount>2</optCount><options><option><name>user.heketi.id</name>"
        f"<value>{VOL_ID}</value></option><option><name>performance.readdir-ahead</name>"
        f"<value>on</value></option></options></volume><count>1</count></volumes></volInfo>")


@dataclass
class _Rule:
    pattern: re.Pattern[str]
    exit_status: int
    stdout: str
    stderr: str
    host: str | None
    times: int | None


class FakeTransport(Transport):
    """Records batches; answers commands from scripted rules (default: exit 0, no output).

    Honours the Transport contract: a batch stops after the first failed
    ``check=True`` command.
    """

    def __init__(self, delay: float = 0.0):
        self.delay = delay
        self.batches: list[tuple[str, list[Command], float]] = []
        self.rules: list[_Rule] = []
        self.active: dict[str, int] = defaultdict(int)
        self.max_active: dict[str, int] = defaultdict(int)
        self.max_total = 0
        self.closed = False

    def on(self, pattern: str, exit_status: int = 0, stdout: str = "", stderr: str = "",
           host: str | None = None, times: int | None = None) -> "FakeTransport":
        """Answer commands whose shlex-joined line matches ``pattern`` (re.search)."""
        self.rules.append(_Rule(re.compile(pattern), exit_status, stdout, stderr, host, times))
        return self

    def _answer(self, host: str, cmd: Command) -> Result:
        line = shlex.join(cmd.argv)
        for rule in self.rules:
            if rule.times == 0 or (rule.host and rule.host != host):
                continue
            if rule.pattern.search(line):
                if rule.times is not None:
                    rule.times -= 1
                return Result(cmd, rule.exit_status, rule.stdout, rule.stderr)
        return Result(cmd, 0)

    async def run_batch(self, host: str, commands: list[Command], timeout: float) -> list[Result]:
        self.batches.append((host, list(commands), timeout))
        self.active[host] += 1
        self.max_active[host] = max(self.max_active[host], self.active[host])
        self.max_total = max(self.max_total, sum(self.active.values()))
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            results = []
            for cmd in commands:
                results.append(self._answer(host, cmd))
                if not results[-1].ok and cmd.check:
                    break
            return results
        finally:
            self.active[host] -= 1

    async def close(self) -> None:
        self.closed = True

    # -- assertions helpers -----------------------------------------------
    def lines(self, batch: int | None = None) -> list[str]:
        """shlex-joined command lines of one batch, or of all batches."""
        chosen = self.batches if batch is None else [self.batches[batch]]
        return [shlex.join(c.argv) for _, cmds, _ in chosen for c in cmds]
