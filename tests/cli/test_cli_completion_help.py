"""Shell completion scripts and defaults in --help (no server needed)."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from clitools import Cli

CLI = Cli("http://127.0.0.1:9")  # never contacted


def complete(script: str, *words: str) -> set[str]:
    """What bash offers for the last of ``words`` after ``pyketi-cli``."""
    line = " ".join(f"'{w}'" for w in ("pyketi-cli", *words))
    probe = (f'{script}\nCOMP_WORDS=({line}); COMP_CWORD={len(words)}; _pyketi_cli\n'
             'printf "%s\\n" "${COMPREPLY[@]}"\n')
    proc = subprocess.run(["bash", "--norc", "--noprofile"], input=probe, text=True,
                          capture_output=True, timeout=30, check=True)
    return set(proc.stdout.split())


@pytest.fixture(scope="module")
def bash_script() -> str:
    return CLI.ok("completion", "bash").stdout


def test_bash_completion_of_commands_flags_and_choices(bash_script):
    assert bash_script.rstrip().endswith("complete -F _pyketi_cli pyketi-cli")
    assert complete(bash_script, "") == {"cluster", "node", "device", "volume", "brick",
                                         "topology", "db", "server", "loglevel", "audit", "completion"}
    assert complete(bash_script, "vo") == {"volume"}
    assert complete(bash_script, "volume", "endpoint", "") == {"patch", "service"}
    assert complete(bash_script, "--json", "volume", "create", "--s") == {
        "--size", "--snapshot-factor", "--server", "--secret"}
    assert complete(bash_script, "server", "mode", "set", "") == {
        "normal", "local-client", "read-only"}
    assert complete(bash_script, "server", "state", "examine", "") == {"gluster"}
    # an id argument does not derail it
    assert "--expert-option-disable-heal-check" in complete(
        bash_script, "device", "remove", "0123abcd", "--exp")
    assert complete(bash_script, "node", "deltags", "x", "--a") == {"--all"}


def test_zsh_completion_uses_the_bash_script_through_bashcompinit(bash_script):
    zsh = CLI.ok("completion", "zsh").stdout
    assert "autoload -U +X bashcompinit && bashcompinit\n" in zsh
    assert zsh.endswith(bash_script)
    if shutil.which("zsh"):
        subprocess.run(["zsh", "-n"], input=zsh, text=True, check=True, timeout=30)


def test_help_shows_defaults_as_cobra_does():
    text = " ".join(CLI.ok("volume", "create", "--help").stdout.split())
    for expected in ('(default "replicate")', "replica count for replicate (default 3)",
                     "(default 4)", "(default 2)", "(default 1)"):
        assert expected in text, text
    assert "(default 0)" not in text and "(default false)" not in text
    cluster = " ".join(CLI.ok("cluster", "create", "--help").stdout.split())
    assert "allow block volumes (default true)" in cluster
    assert "allow file volumes (default true)" in cluster
    assert "server URL (env HEKETI_CLI_SERVER, default http://localhost:8080)" in cluster
