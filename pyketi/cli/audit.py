"""``audit list``: the server's audit trail of accepted changes (``GET /audit``, admin)."""

from __future__ import annotations

import argparse
import time
from urllib.parse import urlencode

from pyketi.cli.args import Commands
from pyketi.cli.context import Context

COLUMNS = ("Time", "Result", "Kind", "Role", "Subject", "Remote", "Objects", "Duration")


def _when(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def audit_text(records: list[dict], next_marker: str | None) -> str:
    lines = []
    for r in records:
        lines.append(
            f"{_when(r['time'])}  {r['result']:<8}  {r['kind']:<24}  {r['role']:<5}  "
            f"{r['subject'] or '-'}  {r['remote'] or '-'}  "
            f"{','.join(r['objects']) or '-'}  {r['duration']:.3f}s"
            + (f"  Error: {r['error']}" if r.get("error") else ""))
    if next_marker:
        lines.append(f"More records: --marker {next_marker}")
    return "".join(line + "\n" for line in lines)


def audit_list(ctx: Context, args: argparse.Namespace) -> None:
    query = {k: v for k, v in (("since", args.since), ("until", args.until),
                               ("role", args.role), ("result", args.result),
                               ("object", args.object), ("limit", args.limit),
                               ("marker", args.marker)) if v is not None}
    path = "/audit" + (f"?{urlencode(query)}" if query else "")
    page = ctx.client.transport.request("GET", path).json()
    ctx.result(page, audit_text(page.get("audit", []), page.get("next")))


def register(sub: object) -> None:
    group = Commands(sub, "audit", "Audit trail of accepted changes (admin)")
    p = group.leaf("list", audit_list, "List audit records, newest first")
    p.add_argument("--since", type=float, help="records at or after this Unix time")
    p.add_argument("--until", type=float, help="records before this Unix time")
    p.add_argument("--role", choices=["admin", "user"], help="requester role")
    p.add_argument("--result", choices=["accepted", "done", "failed"], help="outcome")
    p.add_argument("--object", help="records naming this object id")
    p.add_argument("--limit", type=int, help="records per page (server default 100)")
    p.add_argument("--marker", help="the 'More records' marker of the previous page")
