"""Tag rules used by placement: device tag matching and arbiter roles.

Mirrors heketi's ``user.heketi.device-tag-match`` rule (design doc
``docs/design/tag-matching.md``) and ``ArbiterTag`` / ``deviceHasArbiterTag``
(``tags.go``, ``placer_arbiter.go``).  Tags are the node tags merged with the
device tags (device wins); the caller does the merge.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

#: Tag key read by the arbiter placer.
ARBITER_TAG = "arbiter"
ARBITER_REQUIRED = "required"
ARBITER_SUPPORTED = "supported"
ARBITER_DISABLED = "disabled"

# heketi's documented rule regex is ([a-zA-Z0-9.-_]+)(!?=)([a-zA-Z0-9.-_]+);
# the Go class ".-_" is a range that also admits "/" and ":".  We accept the
# characters people actually use in tag keys/values and reject the rest.
_RULE_RE = re.compile(r"^([A-Za-z0-9._/:-]+)(!=|=)([A-Za-z0-9._/:-]+)$")


@dataclass(frozen=True)
class TagRule:
    """A ``key=value`` or ``key!=value`` device tag match rule.

    ``=``: the device must carry tag ``key`` with exactly ``value``.
    ``!=``: the device must not carry tag ``key`` with ``value`` (a device
    without the key matches).  Matching is exact and case sensitive.
    """

    key: str
    value: str
    negate: bool = False

    @classmethod
    def parse(cls, text: str) -> TagRule:
        """Parse ``key=value`` / ``key!=value``; ``ValueError`` otherwise."""
        match = _RULE_RE.match(text.strip())
        if match is None:
            raise ValueError(
                f"Invalid device tag match rule {text!r}: expected key=value or key!=value "
                "(letters, digits and . _ - / : only)"
            )
        key, op, value = match.groups()
        return cls(key=key, value=value, negate=(op == "!="))

    def matches(self, tags: Mapping[str, str]) -> bool:
        """True if a device with these (merged) tags satisfies the rule."""
        return (tags.get(self.key) == self.value) != self.negate

    def __str__(self) -> str:
        return f"{self.key}{'!=' if self.negate else '='}{self.value}"


def arbiter_tag(tags: Mapping[str, str]) -> str:
    """``ArbiterTag``: the merged ``arbiter`` tag; absent/unknown → ``supported``."""
    value = tags.get(ARBITER_TAG)
    if value in (ARBITER_REQUIRED, ARBITER_DISABLED):
        return value
    return ARBITER_SUPPORTED


def can_host_arbiter(tags: Mapping[str, str]) -> bool:
    """``canHostArbiter``: tag is ``required`` or ``supported``."""
    return arbiter_tag(tags) != ARBITER_DISABLED


def can_host_data(tags: Mapping[str, str]) -> bool:
    """``canHostData``: tag is ``supported`` or ``disabled``."""
    return arbiter_tag(tags) != ARBITER_REQUIRED
