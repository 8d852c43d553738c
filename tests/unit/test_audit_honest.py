"""An audit a manager can trust: the grade is capped by the worst open failure, the Summary
lists failures by severity, "not judged" never sits above a real failure, the chart is in
severity colours, the config digest is always filled and the printed tabs fit the width."""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook

from tests.factories import snapshot
from vnettool.audit.model import AuditConfig, Finding, Severity, State, score
from vnettool.audit.rules import RULES
from vnettool.audit.run import run_audit
from vnettool.audit.workbook import write_workbook


def f(rule: str, sev: Severity, state: State, obj: str = "DC0/C0/H0/vSwitch0/pg") -> Finding:
    return Finding(rule_id=rule, severity=sev, state=state, title=rule, object_type="X", object=obj)


def passes(n: int, sev: Severity = "medium") -> list[Finding]:
    return [f("HC-01", sev, "PASS", f"o{i}") for i in range(n)]


def test_a_high_failure_caps_the_grade_at_c_and_a_critical_one_at_d() -> None:
    # 200 passing medium checks and one high failure scored 99 (A) before the cap
    assert score([*passes(200), f("SEC-01", "high", "FAIL")]) == (99, "C")
    assert score([*passes(200), f("SEC-01", "critical", "FAIL")]) == (98, "D")
    assert score([*passes(200), f("HC-02", "medium", "FAIL")]) == (100, "A")
    # a waived high (EXCEPTION) is not an open failure: no cap
    assert score([*passes(10), f("SEC-01", "high", "EXCEPTION")])[1] == "A"
    assert score([f("SEC-01", "high", "FAIL")]) == (0, "D")  # below the cap stays below


def _book(tmp_path: Path, findings: list[Finding]) -> Path:
    return write_workbook(tmp_path / "a.xlsx", snapshot(), findings, rules=RULES)


def test_top_rules_are_ordered_by_severity_before_weight(tmp_path: Path) -> None:
    lows = [f("HC-09", "low", "FAIL", f"o{i}") for i in range(12)]  # weight 12
    found = [*lows, f("SEC-01", "high", "FAIL"), f("HC-02", "medium", "FAIL")]
    ws = load_workbook(_book(tmp_path, found))["Summary"]
    rows = [[c.value for c in r] for r in ws.iter_rows(max_col=4)]
    start = next(i for i, r in enumerate(rows) if r[0] == "Top rules by severity, weight")
    assert [r[0] for r in rows[start + 1 : start + 4]] == ["SEC-01", "HC-02", "HC-09"]


def test_not_judged_comes_after_every_real_failure(tmp_path: Path) -> None:
    found = [f("SEC-01", "critical", "N/A"), f("HC-09", "low", "FAIL"), f("HC-02", "low", "PASS")]
    wb = load_workbook(_book(tmp_path, found))
    assert [c.value for c in wb["Findings"]["A"][1:]] == ["HC-09", "SEC-01"]
    rules = [c.value for c in wb["Rules"]["A"][1:]]
    # the failing rule, then the judged one, and the critical N/A-only rule after both
    assert rules[:2] == ["HC-09", "HC-02"]
    assert rules.index("SEC-01") > 1


def test_chart_bars_wear_the_severity_colours(tmp_path: Path) -> None:
    ws = load_workbook(_book(tmp_path, [f("SEC-01", "high", "FAIL")]))["Summary"]
    # openpyxl does not read charts back: check the chart XML written in the file
    import zipfile

    with zipfile.ZipFile(tmp_path / "a.xlsx") as z:
        xml = z.read("xl/charts/chart1.xml").decode()
    for rgb in ("C00000", "FF6B6B", "FFC000"):  # critical, high, medium bars
        assert f'val="{rgb}"' in xml
    assert ws.title == "Summary"


def test_printed_tabs_are_landscape_fit_to_width_with_repeated_wrapped_headers(
    tmp_path: Path,
) -> None:
    wb = load_workbook(_book(tmp_path, [f("SEC-01", "high", "FAIL")]))
    for name in ("Findings", "Rules", "PortGroupMatrix"):
        ws = wb[name]
        assert ws.page_setup.orientation == "landscape", name
        assert ws.sheet_properties.pageSetUpPr.fitToPage, name
        assert (ws.page_setup.fitToWidth, ws.page_setup.fitToHeight) == (1, 0), name
        assert ws.print_title_rows == "$1:$1", name
        assert ws["A1"].alignment.wrap_text and ws["A2"].alignment.wrap_text, name
    assert wb["Findings"].print_area == "'Findings'!$A$1:$I$2"  # Rule ID .. PowerCLI
    assert [c.value for c in wb["Findings"][1][:9]][-3:] == [
        "Set (vnettool YAML)",
        "esxcli",
        "PowerCLI",
    ]
    summary = wb["Summary"]  # one landscape page: the table and the charts side by side
    assert summary.page_setup.orientation == "landscape"
    assert summary.sheet_properties.pageSetUpPr.fitToPage
    assert (summary.page_setup.fitToWidth, summary.page_setup.fitToHeight) == (1, 0)


def test_printed_rows_are_as_tall_as_their_wrapped_text(tmp_path: Path) -> None:
    # LibreOffice does not grow a row read from a file: a multi-line snippet printed over the
    # next rows until the heights were written
    from vnettool.audit.model import Remedy

    snippet = "standard_port_groups:\n  - name: pg\n    switch: vSwitch0\n    vlan: 10"
    found = [
        f("SEC-01", "high", "FAIL").model_copy(update={"remedy": Remedy(yaml=snippet)}),
        f("HC-09", "low", "FAIL", "o1"),
    ]
    ws = load_workbook(_book(tmp_path, found))["Findings"]
    assert ws.row_dimensions[2].height is not None and ws.row_dimensions[2].height >= 4 * 15
    assert ws.row_dimensions[3].height is None  # one line: the default height


def test_config_digest_is_filled_without_a_config_file(tmp_path: Path) -> None:
    inv = snapshot()
    run_audit(inv, out=tmp_path / "d.xlsx")
    run_audit(inv, out=tmp_path / "e.xlsx", config=AuditConfig(port_usage_pct=50))

    def digest(p: str) -> str:
        ws = load_workbook(tmp_path / p)["Summary"]
        return next(
            str(r[1].value) for r in ws.iter_rows(max_col=2) if r[0].value == "Audit config SHA-256"
        )

    assert len(digest("d.xlsx")) == 64
    assert digest("d.xlsx") != digest("e.xlsx")


def test_json_out_never_writes_a_workbook_named_json(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from tests.factories import SNAPSHOTS
    from vnettool.cli.main import app

    out = tmp_path / "x.json"
    args = ["audit", "--json", "--out", str(out), "--snapshot", str(SNAPSHOTS["lab"])]
    r = CliRunner().invoke(app, args)
    assert r.exit_code != 0
    assert "must end in .xlsx" in r.output
    assert not out.exists()
