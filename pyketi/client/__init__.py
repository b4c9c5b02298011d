"""Synchronous Python client for a pyketi (or heketi) server."""

from pyketi.client.api import Client
from pyketi.client.errors import PyketiError, ServerUnreachable, WaitInterrupted
from pyketi.client.http import PollPolicy, RetryPolicy

__all__ = ["Client", "PollPolicy", "PyketiError", "RetryPolicy", "ServerUnreachable",
           "WaitInterrupted"]
