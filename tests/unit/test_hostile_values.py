"""Values vCenter would refuse (or that would mean something else) are refused at validation,
located, before anything connects: coerced numbers, hostile names, hidden characters, values
beyond the API's ranges, and variables that explode.
"""

from __future__ import annotations

import time
import tracemalloc
from typing import Any

import pytest

from vnettool.models.desired import API_LONG_MAX
from vnettool.playbook import validate
from vnettool.playbook.errors import PlaybookError, PlaybookIssue
from vnettool.playbook.loader import parse_var_option


def _issues(text: str, variables: dict[str, Any] | None = None, **kw: Any) -> list[PlaybookIssue]:
    with pytest.raises(PlaybookError) as info:
        validate(text, variables, name="doc.yml", **kw)
    return info.value.issues


def _one(text: str, **kw: Any) -> PlaybookIssue:
    issues = _issues(text, **kw)
    assert len(issues) == 1, [str(i) for i in issues]
    return issues[0]


@pytest.mark.parametrize(
    ("value", "shown"), [("true", "True"), ('"100"', "'100'"), ("1e3", "1000.0"), ("1.0", "1.0")]
)
def test_numbers_are_not_coerced_in_desired_state(value: str, shown: str) -> None:
    issue = _one(f"standard_port_groups:\n  - {{name: pg, switch: vSwitch0, vlan: {value}}}\n")
    assert (issue.location.line, issue.location.col) == (2, 40)
    assert issue.message == f"wrong value {shown}"
    assert issue.expected == "an integer"
    assert issue.path == ("standard_port_groups", 0, "vlan")


def test_booleans_and_numbers_are_not_coerced_in_playbooks() -> None:
    text = (
        "steps:\n"
        "  - assert: {that: [{portgroup: {name: pg, vlan: true}}]}\n"
        "  - latency: {count: '3'}\n"
        "  - configure: {standard_switches: [{name: vs1, security: {promiscuous: 'yes'}}]}\n"
    )
    got = {(i.location.line, i.message) for i in _issues(text)}
    assert got == {(2, "wrong value True"), (3, "wrong value '3'"), (4, "wrong value 'yes'")}


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ('"a\\nb"', "holds a newline (U+000A)"),
        ('"a\\tb"', "holds a tab (U+0009)"),
        ('" lead"', "starts or ends with a space"),
        ('"trail "', "starts or ends with a space"),
        ('"pg\U0001f525"', "holds the character fire (U+1F525); vSphere object names cannot"),
        ('"a\\u00a0b"', "holds a no-break space (U+00A0); only the plain space"),
        ('"\\ue000x"', "private-use or unassigned"),
    ],
)
def test_names_are_checked_as_vcenter_checks_them(name: str, words: str) -> None:
    issue = _one(f"standard_port_groups:\n  - {{name: {name}, switch: vSwitch0}}\n")
    assert words in issue.message
    assert (issue.location.line, issue.location.col) == (2, 12)


def test_name_lengths_per_object() -> None:
    ok = "a" * 59
    validate(f"standard_port_groups:\n  - {{name: {ok}, switch: vSwitch0}}\n", name="d.yml")
    issue = _one(f"standard_port_groups:\n  - {{name: {ok}b, switch: vSwitch0}}\n")
    assert "at most 59 characters" in issue.message
    issue = _one(f"standard_switches:\n  - {{name: {'s' * 33}}}\n")
    assert "at most 32 characters" in issue.message
    issue = _one(f"distributed_switches:\n  - {{name: {'d' * 81}}}\n")
    assert "at most 80 characters" in issue.message


@pytest.mark.parametrize(
    ("escape", "words"),
    [
        ("\\u202e", "right-to-left override (U+202E)"),
        ("\\u2067", "right-to-left isolate (U+2067)"),
        ("\\u200b", "zero-width space (U+200B)"),
        ("\\ufeff", "zero-width no-break space (BOM) (U+FEFF)"),
        ("\\e[31m", "escape character (U+001B)"),
        ("\\x07", "U+0007"),
        ("\\x85", "U+0085"),
        ("\\u2028", "line separator (U+2028)"),
    ],
)
def test_hidden_characters_are_refused_in_any_value_and_key(escape: str, words: str) -> None:
    text = f'name: "play{escape}"\nsteps:\n  - snapshot: {{path: a.json}}\n'
    issue = _one(text)
    assert words in issue.message and "at character 5" in issue.message
    assert (issue.location.line, issue.location.col) == (1, 7)
    issue = _one(f'steps:\n  - snapshot: {{"pa{escape}th": a.json}}\n')
    assert issue.message.startswith("key holds") and words in issue.message
    issue = _one(f'distributed_switches:\n  - {{name: d, description: "x{escape}"}}\n')
    assert words in issue.message and issue.path[-1] == "description"


def test_hidden_characters_from_var_and_environment_are_refused() -> None:
    with pytest.raises(PlaybookError, match=r"right-to-left override"):
        parse_var_option("site=ab\u202ec")
    issue = _one("steps:\n  - snapshot: {path: '${env.SITE}.json'}\n", environ={"SITE": "x\u200by"})
    assert "environment variable SITE holds a zero-width space" in issue.message
    assert (issue.location.line, issue.location.col) == (2, 23)


def test_newline_and_tab_stay_allowed_in_free_text() -> None:
    validate(
        'distributed_switches:\n  - {name: d, description: "two\\nlines\\tand a tab"}\n',
        name="d.yml",
    )


@pytest.mark.parametrize(
    ("body", "limit"),
    [
        ("shaping: {burst_kb: %d}", API_LONG_MAX // 1024),
        ("shaping: {average_kbps: %d}", API_LONG_MAX // 1000),
        ("shaping: {average_kbps: 1, peak_kbps: %d}", API_LONG_MAX // 1000),
    ],
)
def test_shaping_within_the_api_long(body: str, limit: int) -> None:
    doc = "standard_port_groups:\n  - {name: pg, switch: vSwitch0, " + body + "}\n"
    validate(doc % limit, name="d.yml")
    issue = _one(doc % (limit + 1))
    assert f"less than or equal to {limit}" in issue.message
    assert issue.location.line == 2


def test_the_red_teams_burst_of_2_53_kb_is_refused() -> None:
    burst = f"shaping: {{burst_kb: {2**53}}}"
    issue = _one(f"standard_port_groups:\n  - {{name: pg, switch: vSwitch0, {burst}}}\n")
    assert issue.path == ("standard_port_groups", 0, "shaping", "burst_kb")


@pytest.mark.parametrize("key", ["reservation_mbps", "limit_mbps"])
def test_nioc_within_the_api_long(key: str) -> None:
    doc = "distributed_switches:\n  - name: d\n    traffic: {vmotion: {%s: %d}}\n"
    validate(doc % (key, API_LONG_MAX), name="d.yml")
    issue = _one(doc % (key, 2**63))
    assert issue.path == ("distributed_switches", 0, "traffic", "vmotion", key)
    line = (doc % (key, 2**63)).splitlines()[2]
    assert (issue.location.line, issue.location.col) == (3, line.index("9223") + 1)


def _doubling(n: int, seed: str, item: str) -> str:
    lines = ["vars:", f"  v0: {seed}"]
    lines += [f"  v{i}: {item.format(p=f'v{i - 1}')}" for i in range(1, n)]
    lines += ["steps:", f"  - snapshot: {{path: '${{v{n - 1}}}'}}"]
    return "\n".join(lines) + "\n"


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("seed", "item", "words"),
    [
        ("xy", '"${{{p}}}${{{p}}}"', "grows beyond 1048576 characters at ${v19}"),
        ("[1, 2]", '["${{{p}}}", "${{{p}}}"]', "expand to more than 4194304 values"),
    ],
)
def test_variables_doubling_each_other_are_bounded(seed: str, item: str, words: str) -> None:
    """2^30 characters (or values) if expanded; refused at the reference that crosses the
    bound, in bounded time and memory. (The red team's 40 levels also hit the depth bound.)"""
    tracemalloc.start()
    started = time.monotonic()
    try:
        issues = _issues(_doubling(30, seed, item))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < 20
    assert peak < 200 * 1024 * 1024
    hit = [i for i in issues if words in i.message]
    assert hit, [str(i) for i in issues]
    assert hit[0].location.file == "doc.yml" and hit[0].location.line > 2
    deeper = _issues(_doubling(40, seed, item))
    assert any("through more than 32" in i.message for i in deeper)


def test_a_long_chain_of_variables_is_refused_without_recursion_error() -> None:
    text = _doubling(3000, "x", '"${{{p}}}"')
    issues = _issues(text)
    assert any("through more than 32 other variables" in i.message for i in issues)
    assert all(i.location.line >= 1 for i in issues)


def test_thirty_two_levels_of_variables_still_work() -> None:
    text = _doubling(32, "x", '"${{{p}}}"')
    vp = validate(text, name="d.yml")
    assert vp.playbook.steps[0].snapshot is not None
    assert vp.playbook.steps[0].snapshot.path == "x"


def test_dvs_version_is_checked_against_what_vcenter_offers() -> None:
    """QueryAvailableDvsSpec's list (collected into the inventory) decides at plan time."""
    from tests.factories import lab_inventory
    from vnettool.engine import PlanError, plan
    from vnettool.models.desired import DesiredState

    offered = ["6.5.0", "6.6.0", "7.0.0", "7.0.2", "7.0.3"]
    inv = lab_inventory(2, dvs_versions=offered)
    doc = {"distributed_switches": [{"name": "dvs-old", "datacenter": "DC0", "version": "5.0.0"}]}
    with pytest.raises(PlanError, match=r"version 5\.0\.0 is not one this vCenter can create"):
        plan(DesiredState.model_validate(doc), inv)
    doc["distributed_switches"][0]["version"] = "7.0.3"
    assert len(plan(DesiredState.model_validate(doc), inv).changes) == 1
    # a server that cannot say (no DVSManager) leaves the check to vCenter
    doc["distributed_switches"][0]["version"] = "5.0.0"
    assert len(plan(DesiredState.model_validate(doc), lab_inventory(2)).changes) == 1
    issue = _one("distributed_switches:\n  - {name: d, version: '7.0'}\n")
    assert issue.path == ("distributed_switches", 0, "version")
