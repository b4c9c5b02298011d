"""Parsers of gluster CLI ``--xml`` output.

heketi: ``executors/executor.go`` (``VolInfo``, ``HealInfo`` XML structs) and
the ``CliOutput`` checks in ``executors/cmdexec/volume.go`` / ``snapshot.go``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as safe_fromstring

from pyketi.executors.base import BrickInfo, ExecutorError, HealBrickInfo, VolumeInfo


@dataclass
class CliStatus:
    op_ret: int
    op_errno: int
    op_errstr: str


def _root(text: str, what: str) -> ET.Element:
    try:
        # gluster never sends a DTD: one (entity expansion, external entities) is refused
        root = safe_fromstring(text.strip(), forbid_dtd=True)
    except DefusedXmlException as exc:
        raise ExecutorError(f"Unable to parse {what} output: refused XML with a DTD or "
                            f"entities ({type(exc).__name__})") from None
    except ET.ParseError as exc:
        raise ExecutorError(f"Unable to parse {what} output: {exc}") from None
    if root.tag != "cliOutput":
        raise ExecutorError(f"Unable to parse {what} output: unexpected <{root.tag}>")
    return root


def _text(el: ET.Element | None, tag: str, default: str = "") -> str:
    if el is None:
        return default
    child = el.find(tag)
    return (child.text or "").strip() if child is not None else default


def _int(el: ET.Element | None, tag: str) -> int:
    value = _text(el, tag, "0")
    try:
        return int(value)
    except ValueError:
        return 0


def cli_status(root: ET.Element) -> CliStatus:
    return CliStatus(_int(root, "opRet"), _int(root, "opErrno"), _text(root, "opErrstr"))


def check_cli_output(text: str, what: str) -> ET.Element:
    """Parse; a non-zero ``opRet`` or non-empty ``opErrstr`` raises ExecutorError."""
    root = _root(text, what)
    status = cli_status(root)
    if status.op_errstr:
        raise ExecutorError(status.op_errstr)
    if status.op_ret != 0:
        raise ExecutorError(f"{what} failed: opRet={status.op_ret} opErrno={status.op_errno}")
    return root


def _volume(el: ET.Element) -> VolumeInfo:
    bricks = [BrickInfo(name=_text(b, "name") or (b.text or "").strip(),
                        host_uuid=_text(b, "hostUuid"),
                        is_arbiter=_text(b, "isArbiter") == "1")
              for b in el.findall("bricks/brick")]
    options = {_text(o, "name"): _text(o, "value") for o in el.findall("options/option")}
    return VolumeInfo(
        name=_text(el, "name"), id=_text(el, "id"), status=_int(el, "status"),
        type_str=_text(el, "typeStr"), brick_count=_int(el, "brickCount"),
        replica_count=_int(el, "replicaCount"), arbiter_count=_int(el, "arbiterCount"),
        disperse_count=_int(el, "disperseCount"),
        redundancy_count=_int(el, "redundancyCount"), bricks=bricks, options=options)


def parse_volumes(text: str) -> list[VolumeInfo]:
    """Every volume of ``gluster volume info [<name>] --xml``."""
    root = check_cli_output(text, "volume info")
    return [_volume(v) for v in root.findall("volInfo/volumes/volume")]


def parse_volume_info(text: str) -> VolumeInfo:
    """The (first) volume of ``gluster volume info <name> --xml``."""
    volumes = parse_volumes(text)
    if not volumes:
        raise ExecutorError("Unable to determine volume info: no volume in output")
    return volumes[0]


def parse_heal_info(text: str) -> list[HealBrickInfo]:
    """Bricks of ``gluster volume heal <name> info --xml``."""
    root = check_cli_output(text, "heal info")
    return [HealBrickInfo(name=_text(b, "name"), host_uuid=b.get("hostUuid", ""),
                          status=_text(b, "status"),
                          number_of_entries=_text(b, "numberOfEntries"))
            for b in root.findall("healInfo/bricks/brick")]
