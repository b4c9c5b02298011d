"""Fixtures: a real pyketi server subprocess (shared with tests/cli) and
clients for it."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from pyketi.client import Client, RetryPolicy

_path = Path(__file__).resolve().parents[1] / "cli" / "server_process.py"
_spec = importlib.util.spec_from_file_location("server_process", _path)
server_process = sys.modules.get("server_process") or importlib.util.module_from_spec(_spec)
if "server_process" not in sys.modules:
    sys.modules["server_process"] = server_process
    _spec.loader.exec_module(server_process)

server_factory = server_process.server_factory
server = server_process.server
heketi_like = server_process.heketi_like


@pytest.fixture
def client(server) -> Client:
    """An admin client for ``server`` with a short 429 backoff."""
    return Client(server.url, "admin", server_process.ADMIN_SECRET, timeout=30.0,
                  retry=RetryPolicy(attempts=20, min_delay=0.1, max_delay=0.3))
