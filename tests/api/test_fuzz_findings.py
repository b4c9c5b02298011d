"""Answers the schemathesis run (tests/server/test_openapi_fuzz.py) found wrong:
each was a 500 or an undocumented answer, now a clear 4xx."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("level", [[], {}, 3, None])
async def test_set_loglevel_with_a_non_string_level_is_422(api, level):
    r = await api.post("/internal/logging", {"loglevel": {"glusterfs": level}})
    assert r.status == 422
    assert r.text.startswith("invalid log level: ")
