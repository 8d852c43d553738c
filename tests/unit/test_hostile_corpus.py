"""The generated hostile-input corpus (tests/hostile.py), every case in-process through the CLI
with no vCenter configured: a located error, no traceback, exit 1 and nothing written.

With no vCenter a document that passed validation would fail later with "no vCenter given",
which is not located — so a located error proves the input was refused by validation itself,
before anything could connect.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from click.testing import CliRunner

from tests.corpus_summary import CorpusRow, record
from tests.hostile import Case, corpus, located, special_files
from vnettool.cli.main import app

CASES = corpus()
CLI = typer.main.get_command(app)
"""Built once: typer rebuilds the click command on every invoke (85% of a case's time)."""
FAMILIES = sorted({c.family for c in CASES})


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("VNETTOOL_HOME", str(home))
    monkeypatch.setenv("COLUMNS", "400")
    for var in ("VSPHERE_SERVER", "GOVC_URL", "VSPHERE_USER", "VSPHERE_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    yield home


def _check(runner: CliRunner, argv: list[str], shown: str) -> tuple[bool, bool, bool, str]:
    """(located, exit 1, traceback) of one CLI run, and the output for the failure report."""
    result = runner.invoke(CLI, argv)
    out = result.output
    crashed = "Traceback" in out or not (
        result.exception is None or isinstance(result.exception, SystemExit)
    )
    return located(out, shown), result.exit_code == 1, crashed, out


def _command(case: Case, path: Path) -> list[str]:
    return ["playbook", "validate", str(path)] if case.playbook else ["plan", str(path)]


@pytest.mark.timeout(300)
@pytest.mark.parametrize("family", FAMILIES)
def test_every_generated_case_is_refused_located(family: str, clean_env: Path) -> None:
    cases = [c for c in CASES if c.family == family]
    runner = CliRunner()
    wrong: list[str] = []
    counts = {"located": 0, "exit_1": 0, "tracebacks": 0}
    for case in cases:
        path = case.write(Path.cwd())
        is_located, exit_1, crashed, out = _check(runner, _command(case, path), path.name)
        counts["located"] += is_located
        counts["exit_1"] += exit_1
        counts["tracebacks"] += crashed
        if not (is_located and exit_1 and not crashed):
            wrong.append(f"{case.name}: {out.strip()[:300]!r}")
    written = sorted(str(p.relative_to(clean_env)) for p in clean_env.rglob("*"))
    record(CorpusRow(family, "in-process", len(cases), **counts, changed=len(written)))
    assert len(cases) >= 18
    assert wrong == []
    assert written == []


@pytest.mark.timeout(120)
def test_special_files_for_every_reading_command(clean_env: Path) -> None:
    runner = CliRunner()
    commands = {
        "plan": ["plan"],
        "apply": ["apply", "--yes"],
        "run": ["run"],
        "validate": ["playbook", "validate"],
    }
    wrong: list[str] = []
    counts = {"located": 0, "exit_1": 0, "tracebacks": 0}
    cases = 0
    for kind, path in special_files(Path.cwd()).items():
        for cmd, argv in commands.items():
            cases += 1
            is_located, exit_1, crashed, out = _check(runner, [*argv, str(path)], path.name)
            counts["located"] += is_located
            counts["exit_1"] += exit_1
            counts["tracebacks"] += crashed
            if not (is_located and exit_1 and not crashed):
                wrong.append(f"{kind} {cmd}: {out.strip()[:300]!r}")
    written = sorted(str(p) for p in clean_env.rglob("*"))
    record(CorpusRow("files", "in-process", cases, **counts, changed=len(written)))
    assert wrong == []
    assert written == []


def test_the_corpus_is_a_few_hundred_generated_cases() -> None:
    assert len(CASES) >= 400
    assert len({c.name for c in CASES}) == len(CASES)
    assert {c.family for c in CASES} == {"numbers", "names", "hidden", "variables"}
