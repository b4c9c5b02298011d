"""The node service with the real mounter against the kernel (bind mounts,
read-only remount, umount, /proc/self/mountinfo), in a private mount
namespace made for the test (``unshare --mount``): nothing reaches the
host's mount table."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from server_process import python_env

HERE = Path(__file__).resolve().parent


def test_publish_read_only_stats_unpublish_unstage_on_the_kernel():
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare(1) for a private mount namespace")
    base = tempfile.mkdtemp(prefix="csik", dir="/tmp")
    try:
        done = subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "--",
             sys.executable, str(HERE / "kernel_node.py"), base],
            capture_output=True, text=True, timeout=120, env=python_env())
        if done.returncode != 0 and "unshare failed" in done.stderr:
            pytest.skip(f"no mount namespaces here: {done.stderr.strip()}")
        assert done.returncode == 0, done.stdout + done.stderr
        report = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(base, ignore_errors=True)
    rw, ro = f"{base}/pod/rw", f"{base}/pod/ro"
    assert report["published"] == sorted([f"{base}/staging", rw, ro])
    assert report["through_staging"] == "hello"
    assert report["ro_write"] == "EROFS"
    assert report["ro_flag"] == {rw: False, ro: True}
    assert report["stats_total"]["BYTES"] == 8 << 20
    assert report["stats_total"]["INODES"] > 0
    assert report["ro_then_rw"] == "ALREADY_EXISTS"
    assert report["after_unpublish"] == [f"{base}/staging"]
    assert report["targets_left"] == []
    assert report["after_unstage"] == []
    # and the host never saw any of it
    with open("/proc/self/mountinfo") as f:
        assert base not in f.read()
