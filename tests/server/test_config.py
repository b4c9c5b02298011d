"""heketi.json parsing, pyketi keys, environment overrides and refusals."""

import json
import logging

import pytest

from pyketi.config import ConfigError, load_config

KEYS = {"HEKETI_ADMIN_KEY": "a", "HEKETI_USER_KEY": "u"}


def write(tmp_path, data) -> str:
    path = tmp_path / "heketi.json"
    path.write_text(json.dumps(data))
    return str(path)


def test_no_config_defaults_to_loopback_sqlite_mock(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load_config(None, env=KEYS)
    assert (cfg.bind, cfg.port, cfg.executor) == ("127.0.0.1", 8080, "mock")
    assert cfg.database_url == f"sqlite:///{tmp_path / 'pyketi.db'}"


def test_auth_on_without_keys_refuses_and_says_what_to_set():
    with pytest.raises(ConfigError) as e:
        load_config(None, env={})
    assert "jwt.admin.key" in str(e.value) and "HEKETI_ADMIN_KEY" in str(e.value)
    assert "--disable-auth" in str(e.value)
    assert load_config(None, disable_auth=True, env={}).auth is False


def test_heketi_json_is_read_unchanged(tmp_path, caplog):
    path = write(tmp_path, {
        "_port_comment": "Heketi Server Port Number", "port": "9090",
        "use_auth": True, "jwt": {"admin": {"key": "adm"}, "user": {"key": "usr"}},
        "glusterfs": {"_executor_comment": "x", "executor": "mock", "db": "/tmp/x/heketi.db",
                      "brick_max_size_gb": 1024, "brick_min_size_gb": 2,
                      "max_bricks_per_volume": 33, "zone_checking": "strict",
                      "max_inflight_operations": 5, "pre_request_volume_options": "a b",
                      "post_request_volume_options": "c d",
                      "sshexec": {"keyfile": "/k", "user": "root"}}})
    with caplog.at_level(logging.WARNING, logger="pyketi.config"):
        cfg = load_config(path, env={})
    assert (cfg.port, cfg.admin_key, cfg.user_key) == (9090, "adm", "usr")
    assert (cfg.brick_max_size_gb, cfg.brick_min_size_gb, cfg.max_bricks_per_volume) == (1024, 2, 33)
    assert (cfg.zone_checking, cfg.max_inflight_operations) == ("strict", 5)
    assert cfg.database_url == "sqlite:////tmp/x/heketi.db"
    assert cfg.bind == "0.0.0.0"
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "_port_comment" in warnings[0] and "glusterfs._executor_comment" in warnings[0]


def test_type_mismatch_aborts_like_heketi(tmp_path):
    path = write(tmp_path, {"port": "8080", "jwt": {"admin": {"key": "a"}, "user": {"key": "u"}},
                            "glusterfs": {"brick_max_size_gb": "lots"}})
    with pytest.raises(ConfigError, match="Unable to parse configuration: glusterfs.brick_max_size_gb"):
        load_config(path, env={})


def test_environment_overrides(tmp_path):
    path = write(tmp_path, {"port": "8080", "glusterfs": {"executor": "mock"}})
    cfg = load_config(path, env={**KEYS, "HEKETI_HTTP_PORT": "7777",
                                 "HEKETI_MAX_INFLIGHT_OPERATIONS": "3",
                                 "PYKETI_DATABASE_URL": "postgresql://x@h/db",
                                 "HEKETI_ZONE_CHECKING": "strict"})
    assert (cfg.port, cfg.max_inflight_operations, cfg.zone_checking) == (7777, 3, "strict")
    assert cfg.database_url == "postgresql://x@h/db"
    assert (cfg.admin_key, cfg.user_key) == ("a", "u")


def test_executor_defaults_to_ssh_with_a_glusterfs_section(tmp_path):
    path = write(tmp_path, {"port": "8080", "glusterfs": {"sshexec": {"keyfile": "/k"}}})
    assert load_config(path, env=KEYS).executor == "ssh"


@pytest.mark.parametrize("glusterfs,message", [
    ({"zone_checking": "loose"}, "zone_checking"),
    ({"max_inflight_operations": 0}, "max_inflight_operations"),
    ({"gid_range": {"min": 3000, "max": 2000}}, "gid_range"),
])
def test_invalid_values_are_refused(tmp_path, glusterfs, message):
    path = write(tmp_path, {"port": "8080", "glusterfs": glusterfs})
    with pytest.raises(ConfigError, match=message):
        load_config(path, env=KEYS)


def test_job_retention_seconds(tmp_path):
    """pyketi's ``glusterfs.job_retention_seconds``: finished queue entries nobody polls."""
    assert load_config(None, env=KEYS).job_retention_seconds == 24 * 3600
    path = write(tmp_path, {"glusterfs": {"job_retention_seconds": 600}})
    assert load_config(path, env=KEYS).job_retention_seconds == 600
    for bad in (0, -5):
        path = write(tmp_path, {"glusterfs": {"job_retention_seconds": bad}})
        with pytest.raises(ConfigError, match="job_retention_seconds"):
            load_config(path, env=KEYS)


def test_heketi_keys_without_effect_are_named_in_one_warning(tmp_path):
    from pyketi.config import startup_warnings

    path = write(tmp_path, {"profiling": True, "glusterfs": {
        "executor": "mock", "auto_create_block_hosting_volume": True,
        "block_hosting_volume_size": 500, "disable_monitor_gluster_nodes": True,
        "kubeexec": {"namespace": "glusterfs"}}})
    cfg = load_config(path, env={"HEKETI_ADMIN_KEY": "a" * 32, "HEKETI_USER_KEY": "u" * 32})
    (line,) = startup_warnings(cfg)
    assert line == ("these heketi.json keys have no effect in pyketi: profiling (no Go profiler), "
                    "glusterfs.auto_create_block_hosting_volume (no block volumes), "
                    "glusterfs.block_hosting_volume_size (no block volumes), "
                    "glusterfs.kubeexec (the kubernetes executor is not supported)")
    # disable_monitor_gluster_nodes: true is what pyketi does anyway: not named


def test_loglevel_log_format_and_db_read_only(tmp_path):
    path = write(tmp_path, {"log_format": "json", "log_file": "/var/log/pyketi.log",
                            "glusterfs": {"loglevel": "debug", "db_read_only": True}})
    cfg = load_config(path, env=KEYS)
    assert (cfg.loglevel, cfg.log_format, cfg.log_file) == ("debug", "json", "/var/log/pyketi.log")
    assert cfg.default_state == "read-only"  # heketi opened the database read-only: no writes
    assert load_config(path, env={**KEYS, "HEKETI_DEFAULT_STATE": "normal"}).default_state \
        == "read-only"
    overridden = load_config(path, env={**KEYS, "HEKETI_GLUSTERAPP_LOGLEVEL": "error"})
    assert overridden.loglevel == "error"
    assert load_config(None, env=KEYS).loglevel == "info"
    with pytest.raises(ConfigError, match="log_format: 'xml' is not one of text|json"):
        load_config(write(tmp_path, {"log_format": "xml"}), env=KEYS)


def test_backup_db_to_kube_secret_from_the_environment_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="backup_db_to_kube_secret is not supported"):
        load_config(None, env={**KEYS, "HEKETI_BACKUP_DB_TO_KUBE_SECRET": "1"})
    path = write(tmp_path, {"backup_db_to_kube_secret": False})
    assert load_config(path, env=KEYS).auth  # false is what pyketi does: accepted
