"""Issue 28 item 8: one name per meaning across commands, enums as choices, flags without a
type, defaults shown. Walks the real click command tree, so a new command is checked too."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import typer
from typer.testing import CliRunner

from vnettool.cli.main import app


def _commands() -> Iterator[tuple[str, Any]]:
    def walk(cmd: Any, path: str) -> Iterator[tuple[str, Any]]:
        yield path, cmd
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                yield from walk(sub, f"{path} {name}".strip())

    yield from walk(typer.main.get_command(app), "")


def _options(cmd: Any) -> dict[str, Any]:
    return {
        o: p
        for p in cmd.params
        if p.param_type_name == "option" and not getattr(p, "hidden", False)
        for o in p.opts
    }


def test_one_name_per_meaning() -> None:
    """`--every` is how often a round or cycle repeats, `--ping-interval` the spacing of echo
    requests; `--interval` (which meant both) is only a hidden, warned alias."""
    seen_every, seen_ping = set(), set()
    for path, cmd in _commands():
        opts = _options(cmd)
        assert "--interval" not in opts, path
        if "--every" in opts:
            seen_every.add(path)
        if "--ping-interval" in opts:
            seen_ping.add(path)
    assert {"latency watch", "rebalance"} <= seen_every
    assert {"latency probe", "latency watch", "rebalance"} <= seen_ping


def test_old_interval_still_works_with_a_warning() -> None:
    r = CliRunner().invoke(app, ["rebalance", "--once", "--interval", "30s"])
    assert r.exit_code == 1
    assert "--interval is now --every" in r.output
    assert "--once and --every exclude each other" in r.output


def test_fixed_sets_of_values_are_choices() -> None:
    for path, name in [
        ("audit", "--fail-on"),
        ("audit", "--profile"),
        ("fleet merge", "--fail-on"),
        ("lab start", "--scenario"),
        ("lab fault add", "--action"),
        ("latency probe", "-o"),
        ("inventory", "-o"),
    ]:
        cmd = dict(_commands())[path]
        assert name in _options(cmd), (path, name)
        r = CliRunner().invoke(app, [*path.split(), name, "no-such-value"])
        assert r.exit_code == 2, (path, name, r.output)
        assert "is not one of" in " ".join(r.output.replace("│", " ").split()), (path, name)


def test_help_shows_defaults_and_no_bool_type() -> None:
    runner = CliRunner()
    for args in (["rebalance", "--help"], ["appliance", "deploy", "--help"], ["audit", "--help"]):
        r = runner.invoke(app, args, env={"COLUMNS": "200"})
        assert r.exit_code == 0
        assert "<bool>" not in r.output, args
    r = runner.invoke(app, ["rebalance", "--help"], env={"COLUMNS": "200"})
    assert "[default: (10 or the saved state's)]" in r.output  # --enter-ms


def test_appliance_deploy_and_remove_take_json() -> None:
    cmds = dict(_commands())
    for path in ("appliance deploy", "appliance remove", "appliance status"):
        assert "--json" in _options(cmds[path]), path
