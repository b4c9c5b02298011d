"""Fixtures: a real pyketi server subprocess and a pyketi-cli runner."""

from __future__ import annotations

import pytest
from clitools import Cli
from server_process import (ServerProcess, heketi_like, server,  # noqa: F401 (fixtures)
                            server_factory)


@pytest.fixture
def cli(server: ServerProcess) -> Cli:  # noqa: F811
    return Cli(server.url)
