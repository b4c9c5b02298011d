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


def _helps(parser, path=()) -> dict:
    """Every parser's help text in a tree, by command path."""
    import argparse
    out = {(path, "help"): parser.format_help(), (path, "usage"): parser.format_usage()}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                out.update(_helps(child, (*path, name)))
    return out


def test_a_command_parses_with_only_its_group_built_and_reads_the_same():
    """pyketi-cli builds the parser of the command group it runs only (the others are
    not imported): every help and usage text of the group is the one of the whole tree."""
    from pyketi.cli import main
    full = _helps(main.build_parser())
    for name in main.COMMANDS:
        assert main.command_of([name, "info"]) == name
        alone = _helps(main.build_parser(name))
        mine = {(path, kind): v for (path, kind), v in full.items() if path[:1] == (name,)}
        assert mine and {(path, kind): v for (path, kind), v in alone.items() if path} == mine
    assert main.command_of(["-s", "http://h:1", "--user=admin", "--json", "-I", "--secret",
                            "topology", "topology", "info"]) == "topology"
    for argv in ([], ["--help"], ["-h", "volume"], ["-v"], ["vollume", "list"], ["-s"],
                 ["--ser", "http://h:1", "volume", "list"], ["-shttp://h:1", "volume"]):
        assert main.command_of(argv) is None, argv


def test_errors_and_help_of_the_root_are_the_whole_trees():
    assert "topology" in CLI.fails("topologi", "info").stderr
    root = CLI.ok("--help").stdout
    assert all(name in root for name in ("cluster", "volume", "audit", "completion"))
    assert CLI.ok("--user", "admin", "topology", "--help").stdout == CLI.ok(
        "topology", "--help").stdout
