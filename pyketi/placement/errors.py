"""Placement failure type and the wording helpers for its messages.

heketi answers every placement failure of a volume create with the bare text
``No space`` (``tryAllocateBricks`` maps ``ErrNoSpace``, ``ErrMaxBricks`` and
``ErrMinimumBrickSize`` to it).  We keep that prefix, so clients matching on
it still work, and add the reason in plain words.  The original heketi error
text is kept on :attr:`PlacementError.heketi_message` for callers that must
return it verbatim (volume expand returns the raw error in heketi).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from pyketi.placement.sizes import GB, MB, TB

NO_SPACE = "No space"

#: ``kind`` values and the heketi error text each corresponds to (errors.go).
HEKETI_MESSAGES = {
    "min_brick_size": "Minimum brick size limit reached.  Out of space.",
    "max_bricks": "Maximum number of bricks reached.",
    "no_storage": "No online storage devices in cluster",
}


class PlacementError(Exception):
    """A volume could not be placed.  ``str()`` is the user message.

    The message always starts with ``No space``.  ``kind`` is one of
    ``min_brick_size`` (splitting stopped at the minimum brick size),
    ``max_bricks`` (splitting stopped at the maximum brick count) or
    ``no_storage`` (no candidate devices at all).
    """

    def __init__(self, reason: str, kind: str) -> None:
        if kind not in HEKETI_MESSAGES:
            raise ValueError(f"unknown placement error kind {kind!r}")
        self.reason = reason
        self.kind = kind
        super().__init__(f"{NO_SPACE}: {reason}")

    @property
    def heketi_message(self) -> str:
        """The exact error text heketi's allocator would have produced."""
        return HEKETI_MESSAGES[self.kind]


def _one_decimal(value: Decimal) -> str:
    text = str(value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
    return text[:-2] if text.endswith(".0") else text


def format_kib(kib: int) -> str:
    """Human size of a KiB amount: ``512 MiB``, ``50.3 GiB``, ``4 TiB``."""
    for unit_kib, unit in ((TB, "TiB"), (GB, "GiB"), (MB, "MiB")):
        if kib >= unit_kib:
            return f"{_one_decimal(Decimal(kib) / unit_kib)} {unit}"
    return f"{kib} KiB"


def format_kib_pair(have_kib: int, need_kib: int) -> tuple[str, str]:
    """Format two sizes so that different values never print the same."""
    have, need = format_kib(have_kib), format_kib(need_kib)
    if have == need and have_kib != need_kib:
        return f"{have_kib} KiB", f"{need_kib} KiB"
    return have, need


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``1 node`` / ``2 nodes``."""
    word = singular if count == 1 else (plural_form or singular + "s")
    return f"{count} {word}"


def verb(count: int, singular: str, plural_form: str) -> str:
    """Pick the verb form agreeing with ``count`` (``has``/``have``)."""
    return singular if count == 1 else plural_form
