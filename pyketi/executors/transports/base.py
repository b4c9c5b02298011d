"""Transports: how a batch of node commands reaches a node.

Command construction (``executors.commands``) produces ``Command`` objects
holding argv lists; a ``Transport`` runs a whole batch for one node in one
remote call (SSH: one channel running one script), sequentially, stopping at
the first failing command whose ``check`` is true.  A transport never builds a
shell string from argv by concatenation: it must ``shlex.quote`` every token.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    argv: tuple[str, ...]
    # False: a failure is recorded but does not stop the batch (e.g. "umount" of
    # something already unmounted, "volume stop" before "volume delete").
    check: bool = True

    @classmethod
    def of(cls, *argv: str, check: bool = True) -> "Command":
        return cls(tuple(str(a) for a in argv), check)


@dataclass
class Result:
    command: Command
    exit_status: int
    stdout: str = ""
    stderr: str = ""

    @property
    def ok(self) -> bool:
        return self.exit_status == 0

    @property
    def error_text(self) -> str:
        """Why the command failed: stderr if non-empty (heketi), else the last line of
        stdout (gluster prints its reason there, e.g. "Connection failed. Please check if
        gluster daemon is operational."), else a generic text with the exit status."""
        err = self.stderr.strip()
        if err:
            return err
        return last_line(self.stdout) or f"Process exited with status {self.exit_status}"


REASON_MAX = 300  # characters of stdout an error text may quote


def last_line(out: str) -> str:
    """The last non-empty line of ``out`` as a reason: one line only (never a whole
    output into an error or log), printable characters, at most ``REASON_MAX``
    characters; "" when there is none or it is markup (``--xml`` output)."""
    lines = [line.strip() for line in out.splitlines() if line.strip()]
    if not lines or lines[-1].startswith("<"):
        return ""
    line = "".join(c if c.isprintable() else " " for c in lines[-1])
    return line if len(line) <= REASON_MAX else line[:REASON_MAX - 3] + "..."


class Transport(abc.ABC):
    @abc.abstractmethod
    async def run_batch(self, host: str, commands: list[Command],
                        timeout: float) -> list[Result]:
        """Run ``commands`` on ``host`` in order, in one remote call.

        Returns one Result per command *executed*: the list ends at the first
        failed command with ``check=True`` (later commands are not run).
        Raises ``executors.base.NodeUnreachable`` when the node cannot be reached
        and ``executors.base.CommandTimeout`` (an ``ExecutorError``) on timeout
        ("SSH command timeout"): ``HostRunner`` then refuses the host for a while.
        """

    async def close(self) -> None:
        """Close pooled connections."""
