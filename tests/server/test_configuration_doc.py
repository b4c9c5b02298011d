"""docs/configuration.md against the loader: every key the loader reads is documented,
every documented key is read by something, the documented defaults are the loader's, and
every environment variable the loader reads is documented (so the page cannot drift)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from pyketi.config import Config, known_keys
from pyketi.executors.config import ExecConfig

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "configuration.md"
ROW = re.compile(r"^\| `([a-z_.]+)` \| (.*?) \| (.*) \|$")


def documented() -> dict[str, str]:
    """key -> default column, from every table row whose first cell is a key."""
    rows = {}
    for line in DOC.read_text().splitlines():
        match = ROW.match(line)
        if match:
            assert match.group(1) not in rows, f"{match.group(1)} documented twice"
            rows[match.group(1)] = match.group(2)
    return rows


def source_text() -> str:
    return "\n".join(p.read_text() for p in (REPO / "pyketi").rglob("*.py"))


def test_every_key_the_loader_reads_is_documented():
    doc = documented()
    missing = [key for key in known_keys()
               if key not in doc and not any(d.startswith(key + ".") for d in doc)]
    assert missing == []


def test_every_documented_key_is_read_by_something():
    loader, source = known_keys(), source_text()
    settings = {f"glusterfs.sshexec.{f.name}" for f in dataclasses.fields(ExecConfig)}
    unknown = []
    for key in documented():
        if key in loader or key in settings:
            continue
        parent = next((k for k in loader if key.startswith(k + ".") and dict in loader[k]), None)
        # a key inside a section (jwt.admin.key, glusterfs.sshexec.user) is looked up by name
        names = key[len(parent) + 1:].split(".") if parent else [key]
        if parent is None or any(f'"{name}"' not in source for name in names):
            unknown.append(key)
    assert unknown == []


def test_every_executor_setting_is_documented():
    doc = documented()
    missing = [f.name for f in dataclasses.fields(ExecConfig)
               if f"glusterfs.sshexec.{f.name}" not in doc]
    assert missing == []


def literal(cell: str) -> str | None:
    match = re.fullmatch(r"`([^`]*)`", cell.strip())
    return match.group(1) if match else None


def shown(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if value == "":
        return '""'
    return str(value)


@pytest.mark.parametrize("defaults,prefix", [
    ({f.name: f.default for f in dataclasses.fields(Config)}, ("", "glusterfs.")),
    ({f.name: f.default for f in dataclasses.fields(ExecConfig)}, ("glusterfs.sshexec.",)),
])
def test_documented_defaults_are_the_loaders(defaults, prefix):
    checked, wrong = 0, []
    for key, cell in documented().items():
        for start in prefix:
            name = key[len(start):] if key.startswith(start) else None
            if name in defaults and defaults[name] is not dataclasses.MISSING \
                    and literal(cell) is not None:
                checked += 1
                if literal(cell) != shown(defaults[name]):
                    wrong.append((key, literal(cell), shown(defaults[name])))
    assert wrong == []
    assert checked >= 15


def test_every_environment_variable_the_loader_reads_is_documented():
    text = DOC.read_text()
    config_source = (REPO / "pyketi" / "config.py").read_text()
    read = set(re.findall(r'"((?:HEKETI|PYKETI)_[A-Z_]+)"', config_source))
    assert read and sorted(v for v in read if f"`{v}`" not in text) == []
    source = source_text()
    invented = {v for v in re.findall(r"`((?:HEKETI|PYKETI)_[A-Z_]+)`", text)
                if f'"{v}"' not in source and f"'{v}'" not in source}
    assert invented == set()
