"""``/metrics``: open by default as heketi; ``metrics_require_admin`` puts it behind the
admin token (no token 401, user token refused, admin token 200)."""

from __future__ import annotations

import json

from pyketi.config import load_config


async def test_metrics_open_by_default(make_api, sqlite_url):
    api = await make_api(sqlite_url)
    r = await api.get("/metrics", auth=False)
    assert r.status == 200 and "heketi_up 1.0" in r.text


async def test_metrics_require_admin_needs_the_admin_token(make_api, sqlite_url):
    api = await make_api(sqlite_url, metrics_require_admin=True)
    await api.post("/clusters", {})
    anonymous = await api.get("/metrics", auth=False)
    assert anonymous.status == 401
    assert anonymous.text.strip() == "Required authorization token not found"
    assert "heketi_" not in anonymous.text
    user = await api.get("/metrics", role="user")
    assert user.status == 401 and user.text.strip() == "Administrator access required"
    admin = await api.get("/metrics")
    assert admin.status == 200 and "heketi_cluster_count 1.0" in admin.text
    assert (await api.get("/hello", auth=False)).status == 200  # /hello stays open


def test_metrics_require_admin_is_read_from_heketi_json(tmp_path):
    path = tmp_path / "heketi.json"
    path.write_text(json.dumps({"port": "8080", "metrics_require_admin": True}))
    keys = {"HEKETI_ADMIN_KEY": "a" * 32, "HEKETI_USER_KEY": "u" * 32}
    assert load_config(str(path), env=keys).metrics_require_admin is True
    assert load_config(None, env=keys).metrics_require_admin is False
