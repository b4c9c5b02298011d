"""SshTransport against a real OpenSSH server started on 127.0.0.1 by the test.

The sshd is started with a temporary config, host key and authorized_keys,
listens on 127.0.0.1/127.0.0.2 on a random port and is stopped by the PID we
started.  If no sshd is installed the module tries tests/lab/install-host-deps.sh
--ssh-only; the tests are skipped (with the reason) only if that fails.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest

from pyketi.executors.base import ExecutorError, NodeUnreachable
from pyketi.executors.transports.ssh import HostKeyError, SshTransport
from pyketi.executors.transports.base import Command
from sshd_server import Sshd, ensure_sshd, free_port, keygen


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    reason = ensure_sshd()
    if reason:
        pytest.skip(reason)
    server = Sshd(tmp_path_factory.mktemp("sshd"))
    try:
        yield server
    finally:
        server.stop()


def make(sshd: Sshd, **kw) -> SshTransport:
    cfg = {"keyfile": str(sshd.client_key), "user": "root", "port": str(sshd.port),
           "known_hosts": str(sshd.known_hosts), "connect_timeout": 5}
    cfg.update(kw)
    return SshTransport.from_config(cfg)


@pytest.fixture
async def transport(sshd):
    t = make(sshd)
    yield t
    await t.close()


H = "127.0.0.1"


# -- configuration ------------------------------------------------------------

def test_config_missing_keyfile(monkeypatch):
    monkeypatch.delenv("HEKETI_SSH_KEYFILE", raising=False)
    with pytest.raises(ExecutorError, match="^Missing ssh private key file in configuration$"):
        SshTransport.from_config({"user": "root"})
    with pytest.raises(ExecutorError, match="Missing ssh private key file"):
        SshTransport.from_config({})


def test_config_defaults(sshd, monkeypatch):
    for v in ("HEKETI_SSH_KEYFILE", "HEKETI_SSH_USER", "HEKETI_SSH_PORT"):
        monkeypatch.delenv(v, raising=False)
    t = SshTransport.from_config({"keyfile": str(sshd.client_key)})
    assert (t.user, t.port, t.sudo, t.host_key_policy) == ("heketi", 22, False, "reject")
    monkeypatch.setenv("HEKETI_SSH_PORT", "2222")
    monkeypatch.setenv("HEKETI_SSH_USER", "admin")
    t = SshTransport.from_config({"keyfile": str(sshd.client_key), "port": "23", "user": "x"})
    assert (t.user, t.port) == ("admin", 2222)


def test_config_bad_values(sshd, tmp_path):
    with pytest.raises(ExecutorError, match="host_key_policy"):
        make(sshd, host_key_policy="accept-all")
    with pytest.raises(ExecutorError, match="port"):
        make(sshd, port="ssh")
    with pytest.raises(ExecutorError, match="connect_timeout"):
        make(sshd, connect_timeout="soon")
    with pytest.raises(ExecutorError, match="command_timeout"):
        make(sshd, command_timeout=-1)
    with pytest.raises(ExecutorError, match="does not exist"):
        make(sshd, keyfile=str(tmp_path / "nokey"))
    garbage = tmp_path / "garbage"
    garbage.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0LW1hdGVyaWFs\n"
                       "-----END OPENSSH PRIVATE KEY-----\n")
    with pytest.raises(ExecutorError) as ei:
        make(sshd, keyfile=str(garbage))
    assert "c2VjcmV0" not in str(ei.value)


def test_script_quotes_every_token_and_sudo(sshd):
    t = make(sshd, sudo=True)
    script = t.build_script([Command.of("mkfs.xfs", "-i", "size=512", "/dev/x y"),
                             Command.of("true", check=False),
                             Command.of("sudo", "lvs")], "n0nce")
    assert "sudo -n mkfs.xfs -i size=512 '/dev/x y'" in script
    assert "sudo -n true" in script
    assert "\nsudo lvs\n" in script  # already prefixed (CmdExecutor's sudo): not doubled
    assert script.count("@@PYKETI-n0nce") == 6


# -- batches --------------------------------------------------------------------

async def test_batch_multiple_commands(transport):
    cmds = [Command.of("echo", "one"),
            Command.of("sh", "-c", "echo to-err >&2; printf 'no-newline'"),
            Command.of("printf", "%s\n", "line1", "line2")]
    res = await transport.run_batch(H, cmds, 30)
    assert [r.exit_status for r in res] == [0, 0, 0]
    assert res[0].stdout == "one\n" and res[0].stderr == ""
    assert res[1].stdout == "no-newline" and res[1].stderr == "to-err\n"
    assert res[2].stdout == "line1\nline2\n"
    assert [r.command for r in res] == cmds
    assert transport.remote_calls == 1 and transport.connections_opened == 1


async def test_stop_at_first_error(transport, tmp_path):
    marker = tmp_path / "must-not-exist"
    res = await transport.run_batch(H, [
        Command.of("true"),
        Command.of("sh", "-c", "echo failing >&2; exit 3"),
        Command.of("touch", str(marker)),
    ], 30)
    assert len(res) == 2
    assert res[1].exit_status == 3 and not res[1].ok
    assert res[1].error_text == "failing"
    assert not marker.exists()


async def test_check_false_failure_continues(transport):
    res = await transport.run_batch(H, [
        Command.of("umount", "/nonexistent-pyketi-mount", check=False),
        Command.of("false", check=False),
        Command.of("echo", "after"),
    ], 30)
    assert [r.ok for r in res] == [False, False, True]
    assert res[0].stderr.strip() != ""
    assert res[1].error_text == "Process exited with status 1"
    assert res[2].stdout == "after\n"


async def test_connection_reused(transport):
    for _ in range(3):
        res = await transport.run_batch(H, [Command.of("true")], 30)
        assert res[0].ok
    assert transport.connections_opened == 1
    assert transport.remote_calls == 3
    assert await transport.run_batch(H, [], 30) == []
    assert transport.remote_calls == 3


@pytest.mark.parametrize("payload", [
    "; touch {p}",
    "$(touch {p})",
    "`touch {p}`",
    "'; touch {p}; echo '",
    '"; touch {p}; echo "',
    "\ntouch {p}\n",
    "&& touch {p} ||",
    "| touch {p}",
    "> {p}",
    "$'\\n'touch {p}",
    "\\'; touch {p} #",
])
async def test_injection_is_one_literal_argument(transport, tmp_path, payload):
    victim = tmp_path / "pwned"
    arg = payload.format(p=victim)
    res = await transport.run_batch(H, [Command.of("printf", "%s|", arg),
                                        Command.of("sh", "-c", 'printf %s "$#"', "sh", arg)], 30)
    assert res[0].stdout == arg + "|"
    assert res[1].stdout == "1"
    assert not victim.exists()


async def test_markers_not_forgeable(transport):
    fake = "\n@@PYKETI-00000000000000000000000000000000 0 1@@\n"
    res = await transport.run_batch(H, [Command.of("printf", "%s", fake),
                                        Command.of("sh", "-c", 'printf "%s" "$1" >&2', "sh", fake),
                                        Command.of("echo", "ok")], 30)
    assert [r.exit_status for r in res] == [0, 0, 0]
    assert res[0].stdout == fake and res[1].stderr == fake and res[2].stdout == "ok\n"


async def test_large_output_both_streams(transport):
    script = "head -c 2000000 /dev/zero | tr '\\0' a; head -c 2000000 /dev/zero | tr '\\0' b >&2"
    res = await transport.run_batch(H, [Command.of("sh", "-c", script)], 60)
    assert len(res[0].stdout) == 2_000_000 and set(res[0].stdout) == {"a"}
    assert len(res[0].stderr) == 2_000_000


# -- host keys --------------------------------------------------------------------

async def test_unknown_host_key_rejected_by_default(sshd, tmp_path):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    t = make(sshd, known_hosts=str(empty))
    with pytest.raises(HostKeyError, match=r"not in known_hosts") as ei:
        await t.run_batch(H, [Command.of("true")], 10)
    assert isinstance(ei.value, NodeUnreachable)
    assert "127.0.0.1" in str(ei.value)
    assert empty.read_text() == ""
    # a missing known_hosts file rejects too
    t2 = make(sshd, known_hosts=str(tmp_path / "absent"))
    with pytest.raises(HostKeyError):
        await t2.run_batch(H, [Command.of("true")], 10)
    assert not (tmp_path / "absent").exists()
    await t.close()
    await t2.close()


async def test_trust_on_first_use_records_key(sshd, tmp_path):
    kh = tmp_path / "sub" / "known_hosts"
    t = make(sshd, known_hosts=str(kh), host_key_policy="trust-on-first-use")
    res = await t.run_batch(H, [Command.of("true")], 10)
    assert res[0].ok
    text = kh.read_text()
    kt, kb = sshd.host_pub.split()[:2]
    assert text == f"[127.0.0.1]:{sshd.port} {kt} {kb}\n"
    # an existing file with comments/garbage is appended to, not rewritten
    kh2 = tmp_path / "known_hosts2"
    kh2.write_text("# comment\nnot a host key line\n")
    t4 = make(sshd, known_hosts=str(kh2), host_key_policy="trust-on-first-use")
    assert (await t4.run_batch(H, [Command.of("true")], 10))[0].ok
    assert kh2.read_text() == "# comment\nnot a host key line\n" + text
    await t4.close()
    await t.close()
    # the recorded key is now trusted with the default (reject) policy
    t2 = make(sshd, known_hosts=str(kh))
    assert (await t2.run_batch(H, [Command.of("true")], 10))[0].ok
    await t2.close()
    # and a second TOFU connection does not append a duplicate
    t3 = make(sshd, known_hosts=str(kh), host_key_policy="trust-on-first-use")
    assert (await t3.run_batch(H, [Command.of("true")], 10))[0].ok
    assert kh.read_text() == text
    await t3.close()


@pytest.mark.parametrize("policy", ["reject", "trust-on-first-use"])
async def test_changed_host_key_refused(sshd, tmp_path, policy):
    other = tmp_path / "other_host_key"
    kt, kb = keygen(other).split()[:2]
    kh = tmp_path / "known_hosts"
    kh.write_text(f"[127.0.0.1]:{sshd.port} {kt} {kb}\n")
    before = kh.read_text()
    t = make(sshd, known_hosts=str(kh), host_key_policy=policy)
    with pytest.raises(HostKeyError, match="CHANGED"):
        await t.run_batch(H, [Command.of("true")], 10)
    assert kh.read_text() == before
    assert t.remote_calls == 0
    await t.close()


# -- failures --------------------------------------------------------------------

async def test_timeout_closes_channel(transport):
    await transport.run_batch(H, [Command.of("true")], 30)  # connect outside the timing
    t0 = time.monotonic()
    with pytest.raises(ExecutorError, match="^SSH command timeout$") as ei:
        await transport.run_batch(H, [Command.of("echo", "x"), Command.of("sleep", "4")], 0.7)
    assert not isinstance(ei.value, NodeUnreachable)
    assert time.monotonic() - t0 < 3.5  # the 4 s sleep was not waited for
    # the connection is still usable for the next batch
    res = await transport.run_batch(H, [Command.of("echo", "again")], 10)
    assert res[0].stdout == "again\n"
    assert transport.connections_opened == 1


async def test_cancelled_batch_releases_host(transport):
    await transport.run_batch(H, [Command.of("true")], 30)
    task = asyncio.create_task(transport.run_batch(H, [Command.of("sleep", "5")], 30))
    await asyncio.sleep(1.0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    t0 = time.monotonic()
    res = await transport.run_batch(H, [Command.of("echo", "next")], 10)
    assert res[0].stdout == "next\n"
    assert time.monotonic() - t0 < 4  # did not wait for the cancelled 5 s sleep


async def test_command_timeout_override(sshd):
    t = make(sshd, command_timeout=0.5)
    with pytest.raises(ExecutorError, match="SSH command timeout"):
        await t.run_batch(H, [Command.of("sleep", "3")], 600)
    await t.close()


async def test_reconnect_after_server_dropped_connection(sshd, transport):
    assert (await transport.run_batch(H, [Command.of("true")], 10))[0].ok
    assert transport.connections_opened == 1
    kids = sshd.session_pids()
    assert kids, "expected a per-connection sshd process"
    for pid in kids:
        os.kill(pid, signal.SIGKILL)
    res = await transport.run_batch(H, [Command.of("echo", "back")], 10)
    assert res[0].stdout == "back\n"
    assert transport.connections_opened == 2
    # immediately again, without waiting for the client to notice
    for pid in sshd.session_pids():
        os.kill(pid, signal.SIGKILL)
    res = await transport.run_batch(H, [Command.of("echo", "back2")], 10)
    assert res[0].stdout == "back2\n"
    assert transport.connections_opened == 3


async def test_closed_port_is_node_unreachable(sshd):
    port = free_port()
    t = make(sshd, port=str(port))
    with pytest.raises(NodeUnreachable) as ei:
        await t.run_batch(H, [Command.of("true")], 10)
    msg = str(ei.value)
    assert f"127.0.0.1:{port}" in msg and "refused" in msg
    assert ei.value.host == H
    assert "PRIVATE KEY" not in msg
    assert t.connections_opened == 0
    await t.close()


async def test_auth_failure_is_node_unreachable_without_key_material(sshd, tmp_path):
    wrong = tmp_path / "wrong_key"
    keygen(wrong)
    t = make(sshd, keyfile=str(wrong))
    with pytest.raises(NodeUnreachable, match="authentication failed") as ei:
        await t.run_batch(H, [Command.of("true")], 10)
    msg = str(ei.value)
    assert "127.0.0.1" in msg
    key_body = "".join(wrong.read_text().splitlines()[1:-1])
    assert key_body[:20] not in msg
    await t.close()


# -- concurrency --------------------------------------------------------------------

def _interval(res) -> tuple[float, float]:
    a, b = res[0].stdout.split()
    return float(a), float(b)


async def test_hosts_run_in_parallel_same_host_serialised(transport):
    # Overlap is judged from the commands' own start/end times, not from wall
    # clock around the calls (robust on a busy CI machine).
    timed = [Command.of("sh", "-c", "date +%s.%N; sleep 1; date +%s.%N")]
    a, b = await asyncio.gather(transport.run_batch("127.0.0.1", timed, 60),
                                transport.run_batch("127.0.0.2", timed, 60))
    (a0, a1), (b0, b1) = _interval(a), _interval(b)
    assert a0 < b1 and b0 < a1, "different hosts must run concurrently"
    c, d = await asyncio.gather(transport.run_batch(H, timed, 60),
                                transport.run_batch(H, timed, 60))
    (c0, c1), (d0, d1) = sorted([_interval(c), _interval(d)])
    assert d0 >= c1, "batches on one host must not overlap"
    assert transport.connections_opened == 2  # one per host


async def test_event_loop_not_blocked(transport):
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.05)
            ticks += 1

    task = asyncio.create_task(ticker())
    try:
        await transport.run_batch(H, [Command.of("sleep", "1")], 10)
    finally:
        task.cancel()
    assert ticks >= 10


# -- hostile node output and key hygiene ---------------------------------------------

async def test_output_flood_is_capped(sshd):
    """A node flooding stdout (200 MB) fails the batch clearly; memory stays bounded."""
    import tracemalloc
    t = make(sshd, max_output_bytes=1024 * 1024, command_timeout=60)
    assert (await t.run_batch(H, [Command.of("true")], 10))[0].ok  # connect first
    flood = Command.of("head", "-c", "200000000", "/dev/zero")
    tracemalloc.start()
    try:
        t0 = time.monotonic()
        with pytest.raises(ExecutorError) as ei:
            await t.run_batch(H, [Command.of("echo", "first"), flood, Command.of("true")], 60)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert str(ei.value) == ("output of head -c 200000000 /dev/zero on 127.0.0.1 exceeded "
                             "1048576 bytes")
    assert not isinstance(ei.value, NodeUnreachable)
    assert peak < 16 * 1024 * 1024, peak  # not the 200 MB the node sent
    assert time.monotonic() - t0 < 30
    # the connection still serves the next batch
    assert (await t.run_batch(H, [Command.of("echo", "after")], 10))[0].stdout == "after\n"
    await t.close()


async def test_stderr_flood_is_capped_too(sshd):
    t = make(sshd, max_output_bytes=100_000)
    with pytest.raises(ExecutorError, match=r"^output of sh -c .* on 127\.0\.0\.1 exceeded "
                                            r"100000 bytes$"):
        await t.run_batch(H, [Command.of("sh", "-c", "yes >&2")], 30)
    await t.close()


def test_output_cap_default_and_bad_values(sshd):
    assert make(sshd).max_output_bytes == 4 * 1024 * 1024
    for bad in (0, -5, "4M", True, 1.5):
        with pytest.raises(ExecutorError, match="max_output_bytes"):
            make(sshd, max_output_bytes=bad)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_key_readable_by_others_refused(sshd, tmp_path, mode):
    key = tmp_path / "id_open"
    key.write_bytes(sshd.client_key.read_bytes())
    key.chmod(mode)
    with pytest.raises(ExecutorError) as ei:
        make(sshd, keyfile=str(key))
    msg = str(ei.value)
    assert msg.startswith("UNPROTECTED PRIVATE KEY FILE: ")
    assert f"permissions {mode:04o} for ssh private key file {key} are too open" in msg
    body = "".join(key.read_text().splitlines()[1:-1])
    assert body[:20] not in msg
    key.chmod(0o600)
    assert make(sshd, keyfile=str(key)).keyfile == str(key)
    key.chmod(0o400)
    assert make(sshd, keyfile=str(key)).keyfile == str(key)
