"""Runs command batches for ``CmdExecutor``: per-host serialization and
result checking.  (``sudo`` is the transport's business, as in heketi where
only the SSH executor honours it: ``SshTransport`` reads ``sshexec.sudo``.)

heketi: ``executors/cmdexec/cmdexec.go`` (``AccessConnection`` - one batch at
a time per host) and ``pkg/remoteexec`` (``AnyError``: first failed result).
"""

from __future__ import annotations

import asyncio
import logging

from pyketi.executors.base import ExecutorError
from pyketi.executors.config import ExecConfig
from pyketi.executors.transport import Command, Result, Transport

log = logging.getLogger("pyketi.executors")


def first_failure(commands: list[Command], results: list[Result]) -> Result | None:
    """The failed ``check=True`` result that ended the batch, or None.

    A transport that returns fewer results than commands without such a
    failure broke its contract: that is an error too.
    """
    for result in results:
        if not result.ok and result.command.check:
            return result
    if len(results) < len(commands):
        raise ExecutorError(f"transport returned {len(results)} results "
                            f"for {len(commands)} commands")
    return None


class HostRunner:
    """Hands batches to a ``Transport``, one batch at a time per host."""

    def __init__(self, transport: Transport, config: ExecConfig):
        self.transport = transport
        self.config = config
        self._locks: dict[str, asyncio.Lock] = {}

    def _lock(self, host: str) -> asyncio.Lock:
        lock = self._locks.get(host)
        if lock is None:
            lock = self._locks[host] = asyncio.Lock()
        return lock

    async def run(self, host: str, commands: list[Command], timeout: float) -> list[Result]:
        """Run a batch; the result list ends at the first failed checked command."""
        if not commands:
            return []
        async with self._lock(host):
            log.debug("host %s: running %d command(s): %s", host, len(commands),
                      "; ".join(" ".join(c.argv) for c in commands))
            results = await self.transport.run_batch(host, commands, timeout)
        first_failure(commands, results)  # contract check only
        return results

    async def run_checked(self, host: str, commands: list[Command],
                          timeout: float) -> list[Result]:
        """Run a batch; raise ExecutorError(<error text>) if a checked command failed."""
        results = await self.run(host, commands, timeout)
        failed = first_failure(commands, results)
        if failed is not None:
            raise ExecutorError(failed.error_text, host)
        return results

    async def close(self) -> None:
        await self.transport.close()
