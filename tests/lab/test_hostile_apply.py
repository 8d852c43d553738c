"""A sample of the generated hostile-input corpus applied to a lab, each next to a valid change
that would be made if the document were applied half-way: exit 1, a located error, and a fresh
inventory identical to the one before (the red team saw the valid change made, then a failure).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer
from click.testing import CliRunner

from tests.conftest import RunningLab
from tests.corpus_summary import CorpusRow, record
from tests.hostile import VALID_PG, Case, corpus, located
from vnettool.cli.main import app
from vnettool.inventory import collect
from vnettool.models.inventory import Inventory

STEP = 12
SAMPLE = [c for c in corpus() if not c.playbook][::STEP]
CLI = typer.main.get_command(app)


def _with_valid_change(case: Case) -> str:
    """The case's document with a valid port group first, on one host."""
    text = case.text
    head = "standard_port_groups:\n"
    if head in text:
        text = text.replace(head, f"{head}  - {VALID_PG}\n", 1)
    else:
        text = f"{head}  - {VALID_PG}\n{text}"
    return "target: {hosts: [DC0_C0_H0]}\n" + text


def _state(inv: Inventory) -> dict[str, Any]:
    return inv.model_dump(mode="json", exclude={"version", "collected_at"})


def _differences(before: dict[str, Any], after: dict[str, Any]) -> int:
    return sum(
        1
        for key in before.keys() | after.keys()
        for a, b in [(before.get(key), after.get(key))]
        if a != b
    )


@pytest.mark.timeout(600)
def test_a_sample_applied_next_to_a_valid_change_changes_nothing(
    lab: RunningLab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VNETTOOL_HOME", lab.env()["VNETTOOL_HOME"])
    monkeypatch.setenv("COLUMNS", "400")
    for var in ("VSPHERE_SERVER", "GOVC_URL"):
        monkeypatch.delenv(var, raising=False)
    with lab.session(insecure=True) as s:
        before = _state(collect(s))
    runner = CliRunner()
    wrong: list[str] = []
    counts = {"located": 0, "exit_1": 0, "tracebacks": 0}
    for case in SAMPLE:
        path = tmp_path / f"{case.name}.yml"
        path.write_text(_with_valid_change(case), encoding="utf-8")
        result = runner.invoke(CLI, ["apply", "--yes", "--insecure", str(path)])
        crashed = "Traceback" in result.output or not (
            result.exception is None or isinstance(result.exception, SystemExit)
        )
        ok = [located(result.output, path.name), result.exit_code == 1, not crashed]
        counts["located"] += ok[0]
        counts["exit_1"] += ok[1]
        counts["tracebacks"] += crashed
        if not all(ok):
            wrong.append(f"{case.name}: exit {result.exit_code}: {result.output.strip()[:300]!r}")
    with lab.session(insecure=True) as s:
        after = _state(collect(s))
    changed = _differences(before, after)
    record(CorpusRow("sample", "lab apply", len(SAMPLE), **counts, changed=changed))
    assert len(SAMPLE) >= 25
    assert wrong == []
    assert changed == 0
    assert not any(p["name"] == "rt-valid" for p in after["standard_port_groups"])
