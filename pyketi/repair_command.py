"""``pyketi db repair --dry-run|--apply``: drift between the database and the
nodes (``operations.repair``), run against the database and the nodes directly
(the server may keep running: every action is idempotent)."""

from __future__ import annotations

import asyncio
import json
import sys
from types import SimpleNamespace

from pyketi.config import Config


async def _run(db, cfg: Config, apply: bool) -> dict:
    import pyketi.operations.registry  # noqa: F401 - operation kinds (placement helpers)
    from pyketi.executors.factory import make_executor
    from pyketi.operations import repair

    rt = SimpleNamespace(config=cfg, db=db,
                         executor=make_executor(dict(cfg.glusterfs, executor=cfg.executor)))
    try:
        findings = await repair.examine(rt)
        out: dict = {"findings": [{"kind": f.kind, "host": f.host, "subject": f.subject,
                                   "action": f.action} for f in findings]}
        if apply:
            out["results"] = await repair.apply(rt, findings)
        return out
    finally:
        await rt.executor.close()


def run_repair(db, cfg: Config, apply: bool, as_json: bool) -> int:
    try:
        out = asyncio.run(_run(db, cfg, apply))
    finally:
        db.dispose()
    if as_json:
        sys.stdout.write(json.dumps(out, indent=4) + "\n")
    else:
        rows = out.get("results") or [{"finding": f"{f['kind']}"
                                       f"{' on ' + f['host'] if f['host'] else ''}: "
                                       f"{f['subject']} -> {f['action']}"}
                                      for f in out["findings"]]
        if not rows:
            print("no differences between the database and the nodes")
        for row in rows:
            line = row["finding"]
            if "result" in row:
                line += f"\n    {'done' if row['ok'] else 'FAILED'}: {row['result']}"
            print(line)
    failed = [r for r in out.get("results", []) if not r["ok"]]
    return 1 if failed else 0
