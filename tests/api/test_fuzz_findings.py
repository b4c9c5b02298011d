"""Answers the schemathesis run (tests/server/test_openapi_fuzz.py) found wrong:
each was a 500 or an undocumented answer, now a clear 4xx."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("level", [[], {}, 3])
async def test_set_loglevel_with_a_non_string_level_is_400(api, level):
    # Go: json.Unmarshal into map[string]string fails -> 400 "request unable to be parsed"
    r = await api.post("/internal/logging", {"loglevel": {"glusterfs": level}})
    assert r.status == 400
    assert r.text.startswith("request unable to be parsed: ")


async def test_set_loglevel_to_null_is_an_invalid_level(api):
    # Go: null leaves the string empty -> 422 "invalid log level: "
    r = await api.post("/internal/logging", {"loglevel": {"glusterfs": None}})
    assert r.status == 422
    assert r.text.startswith("invalid log level: ")
