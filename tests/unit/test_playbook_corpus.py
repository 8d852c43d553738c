"""The broken-playbook corpus: every file fails with an error at the exact line and column.

Each ``NAME.yml`` in playbook_corpus/ has a ``NAME.expected`` next to it: one expected issue
per line, ``[FILE:]LINE:COL: TEXT``, where TEXT must appear in the rendered issue. The first
expected line must be the first issue reported (issues are sorted by position); all expected
lines must be reported. Files named ``ref-*`` are checked against the corpus inventory
snapshot (the checks that need an inventory).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from vnettool.models.inventory import Inventory
from vnettool.playbook import PlaybookError, PlaybookIssue, validate

CORPUS = Path(__file__).parent / "playbook_corpus"
CASES = sorted(p.stem for p in CORPUS.glob("*.yml"))
EXPECTED_RE = re.compile(
    r"^(?:(?P<file>[^:]+\.yml):)?(?P<line>\d+)?(?::(?P<col>\d+))?:? ?(?P<text>.*)$"
)


def only_core(kind: str) -> str | None:
    """Pin availability (and, below, no desired-state model) so the corpus does not change
    as the engine and the other step kinds land."""
    return None if kind in ("assert", "snapshot") else f"{kind} is not part of this build"


def matches(issue: PlaybookIssue, spec: str, default_file: str) -> bool:
    m = EXPECTED_RE.match(spec)
    assert m, spec
    if m["line"] is None:  # text only (position is checked elsewhere)
        return m["text"] in str(issue)
    file = m["file"] or default_file
    return (
        issue.location.file == file
        and issue.location.line == int(m["line"])
        and issue.location.col == int(m["col"])
        and m["text"] in str(issue)
    )


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 50


@pytest.mark.parametrize("case", CASES)
def test_broken_playbook_error_location(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(CORPUS)
    monkeypatch.delenv("VNETTOOL_CORPUS_UNSET", raising=False)
    expected = [ln for ln in (CORPUS / f"{case}.expected").read_text().splitlines() if ln.strip()]
    assert expected, f"{case}.expected is empty"
    inventory = Inventory.load(CORPUS / "inventory.json") if case.startswith("ref-") else None
    with pytest.raises(PlaybookError) as info:
        validate(Path(f"{case}.yml"), inventory=inventory, available=only_core, desired=None)
    issues = info.value.issues
    rendered = "\n".join(map(str, issues))
    assert matches(issues[0], expected[0], f"{case}.yml"), (
        f"first issue\n  {issues[0]}\nexpected\n  {expected[0]}\nall:\n{rendered}"
    )
    for spec in expected[1:]:
        assert any(matches(i, spec, f"{case}.yml") for i in issues), f"{spec}\nnot in\n{rendered}"
