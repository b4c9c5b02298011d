"""Real-node integration tests (pytest marker ``lab``) on the QEMU VM lab.

They run only when asked for: ``pytest -m lab tests/integration`` (or
``PYKETI_LAB=1``); a plain ``pytest`` skips them, so nobody boots VMs by
accident.  One lab (3 VMs) is brought up per session and brought down at the
end.  ``PYKETI_LAB_REUSE=1`` uses a lab that is already up and leaves it up.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lab"))
from vmlab import VmLab  # noqa: E402

LAB_NODES = 3


def _lab_requested(config) -> bool:
    expr = config.getoption("markexpr", default="") or ""
    return os.environ.get("PYKETI_LAB") == "1" or ("lab" in expr and "not lab" not in expr)


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).resolve().parent
    skip = None if _lab_requested(config) else pytest.mark.skip(
        reason="VM lab test: run with `pytest -m lab tests/integration` (boots 3 QEMU VMs)")
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.lab)
            if skip is not None:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def lab():
    reason = VmLab.unavailable_reason()
    if reason:
        pytest.skip(reason)
    vm = VmLab()
    reuse = os.environ.get("PYKETI_LAB_REUSE") == "1" and vm.is_up()
    if not reuse:
        if vm.is_up():
            vm.down()
        t0 = time.monotonic()
        try:
            vm.up(LAB_NODES)
        except BaseException:
            vm.down()  # never leave VMs behind, whatever failed
            raise
        vm.timings["up_total"] = time.monotonic() - t0
    try:
        yield vm
    finally:
        if not reuse:
            vm.down()


@pytest.fixture
def in_lab(lab):
    """``in_lab(coro)``: run a coroutine on an event loop inside the lab netns."""
    def run(coro, timeout: float = 1800):
        return lab.run_in_netns(asyncio.run, coro, timeout=timeout)
    return run
