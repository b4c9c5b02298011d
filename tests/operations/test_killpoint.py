"""The opt-in kill hook's setting (``PYKETI_TEST_KILL_AT``): parsed strictly, off when unset."""

import pytest

from pyketi.operations import killpoint
from pyketi.operations.killpoint import KillPoint


def test_parse_and_match():
    point = KillPoint.parse("expand-volume:2:during:2.5")
    assert point == KillPoint("expand-volume", 2, "during", 2.5)
    assert point.matches("expand-volume", 1) and not point.matches("expand-volume", 0)
    assert not point.matches("create-volume", 1)
    assert KillPoint.parse("delete-volume:1:end").seconds == 1.0


@pytest.mark.parametrize("text", ["", "create-volume", "create-volume:1", "create-volume:x:end",
                                  "create-volume:0:end", "create-volume:1:later",
                                  "create-volume:1:during:-1", "a:1:end:2:3"])
def test_bad_settings_are_refused(text):
    with pytest.raises(ValueError, match="PYKETI_TEST_KILL_AT"):
        KillPoint.parse(text)


def test_unset_means_off(monkeypatch):
    monkeypatch.delenv(killpoint.ENV_VAR, raising=False)
    monkeypatch.setattr(killpoint, "_armed", killpoint._UNSET)
    assert killpoint.armed() is None
    assert killpoint.at_start(None, "op", "create-volume", 0, 2, "bricks_create") is None
    killpoint.at_end(None, "op", "create-volume", 0, 2, "bricks_create")  # nothing happens
