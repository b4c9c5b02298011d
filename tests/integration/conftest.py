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

LAB_NODES = int(os.environ.get("PYKETI_LAB_NODES", "3"))  # the dead-node test needs 4


def _lab_requested(config) -> bool:
    expr = config.getoption("markexpr", default="") or ""
    return os.environ.get("PYKETI_LAB") == "1" or ("lab" in expr and "not lab" not in expr)


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).resolve().parent
    skip = None if _lab_requested(config) else pytest.mark.skip(
        reason="VM lab test: run with `pytest -m lab tests/integration` (boots 3 QEMU VMs)")
    vagrant = os.environ.get("PYKETI_VAGRANT") == "1"
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            if Path(str(item.fspath)).name == "test_vagrant.py":
                # its own lab (vagrant/lab-up.sh), never in the PYKETI_LAB=1 run
                if not vagrant:
                    item.add_marker(pytest.mark.skip(
                        reason="Vagrant lab test: run with PYKETI_VAGRANT=1 (vagrant up, ~15 min)"))
                continue
            item.add_marker(pytest.mark.lab)
            if skip is not None:
                item.add_marker(skip)


_SESSION: dict = {"lab": None, "up": False, "reuse": False}


def _is_lab_item(item) -> bool:
    return item is not None and item.get_closest_marker("lab") is not None


def _ensure_lab() -> VmLab:
    vm = _SESSION["lab"] or VmLab()
    _SESSION["lab"] = vm
    if _SESSION["up"]:
        return vm
    if os.environ.get("PYKETI_LAB_REUSE") == "1" and vm.is_up():
        _SESSION.update(up=True, reuse=True)
        return vm
    if vm.is_up():
        vm.down()
    t0 = time.monotonic()
    try:
        vm.up(LAB_NODES)
    except BaseException:
        vm.down()  # never leave VMs behind, whatever failed
        raise
    vm.timings["up_total"] = time.monotonic() - t0
    _SESSION["up"] = True
    return vm


def _close_lab() -> None:
    vm = _SESSION["lab"]
    if vm is not None and _SESSION["up"] and not _SESSION["reuse"]:
        _SESSION["up"] = False
        vm.down()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """Bring the VMs down right after the last lab test (not at session end), so a
    full `PYKETI_LAB=1 pytest` run does not keep 3 emulated CPUs busy meanwhile."""
    yield
    if _is_lab_item(item) and not _is_lab_item(nextitem):
        _close_lab()


@pytest.fixture(scope="session")
def lab():
    reason = VmLab.unavailable_reason()
    if reason:
        pytest.skip(reason)
    try:
        yield _ensure_lab()
    finally:
        _close_lab()


@pytest.fixture(scope="module", autouse=True)
def _clean_nodes_per_module(request):
    """Every lab module starts from clean nodes (no volume, brick mount, fstab line,
    VG/PV or peer left), so one that failed or ended with devices set up never makes
    the next one fail."""
    if not (_lab_requested(request.config) and request.module.__name__.startswith("test_lab")):
        return
    from labcheck import wipe

    vm = request.getfixturevalue("lab")
    wipe(vm, [n.ip for n in vm.nodes])


@pytest.fixture(autouse=True)
def _lab_is_up(request):
    """A lab test after non-lab tests (unusual order) brings the lab back up."""
    if _is_lab_item(request.node) and _SESSION["lab"] is not None:
        _ensure_lab()


@pytest.fixture
def in_lab(lab):
    """``in_lab(coro)``: run a coroutine on an event loop inside the lab netns."""
    def run(coro, timeout: float = 1800):
        return lab.run_in_netns(asyncio.run, coro, timeout=timeout)
    return run
