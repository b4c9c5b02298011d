"""Runs command batches for ``CmdExecutor``: per-host serialization,
fail-fast on hosts that recently did not answer (``executors.reachability``)
and result checking.  (``sudo`` is the transport's business, as in heketi where
only the SSH executor honours it: ``SshTransport`` reads ``sshexec.sudo``.)

heketi: ``executors/cmdexec/cmdexec.go`` (``AccessConnection`` - one batch at
a time per host) and ``pkg/remoteexec`` (``AnyError``: first failed result).
"""

from __future__ import annotations

import asyncio
import logging

from pyketi.executors.base import CommandTimeout, ExecutorError, NodeUnreachable
from pyketi.executors.config import ExecConfig
from pyketi.executors.reachability import Reachability
from pyketi.executors.transports.base import Command, Result, Transport

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


def _refused(host: str, reason: str) -> str:
    return f"Node {host} is unreachable: {reason}"


class HostRunner:
    """Hands batches to a ``Transport``, one batch at a time per host.

    A host whose batch timed out or that could not be reached is refused at
    once (``NodeUnreachable`` naming it) for ``reachability.cooldown``
    seconds: before queueing for the host, and again once the host's turn
    comes (batches that queued behind the hung one fail fast instead of each
    waiting a full timeout).
    """

    def __init__(self, transport: Transport, config: ExecConfig,
                 reachability: Reachability | None = None):
        self.transport = transport
        self.config = config
        self.reachability = reachability or Reachability()
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
        self._refuse(self.reachability.refusal(host), host)
        async with self._lock(host):
            self._refuse(self.reachability.begin(host), host)
            log.debug("host %s: running %d command(s): %s", host, len(commands),
                      "; ".join(" ".join(c.argv) for c in commands))
            results = await self._run_tracked(host, commands, timeout)
        first_failure(commands, results)  # contract check only
        return results

    async def _run_tracked(self, host: str, commands: list[Command],
                           timeout: float) -> list[Result]:
        """``transport.run_batch``, telling ``reachability`` whether the host answered."""
        try:
            results = await self.transport.run_batch(host, commands, timeout)
        except (NodeUnreachable, CommandTimeout) as exc:
            self.reachability.failed(host, str(exc) or type(exc).__name__)
            if self.reachability.cooldown > 0:
                log.warning("host %s: marked unreachable for %.0f s: %s", host,
                            self.reachability.cooldown, exc)
            raise
        except ExecutorError:
            self.reachability.succeeded(host)  # it answered, with an error
            raise
        except BaseException:
            self.reachability.abandoned(host)
            raise
        self.reachability.succeeded(host)
        return results

    def refusal(self, host: str) -> str | None:
        """The error text a batch for ``host`` would fail with now, or None."""
        reason = self.reachability.refusal(host)
        return None if reason is None else _refused(host, reason)

    @staticmethod
    def _refuse(reason: str | None, host: str) -> None:
        if reason is not None:
            raise NodeUnreachable(_refused(host, reason), host)

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
