"""No input makes the playbook loader raise anything but vnettool's own PlaybookError.

Inputs: arbitrary text, arbitrary bytes, YAML built from random structures (valid YAML with
wrong shapes), and real playbooks with random single-character edits (the typos users make).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vnettool.playbook import PlaybookError, ValidPlaybook, validate

EXAMPLE = """\
name: fuzz
target: {cluster: DC0_C0}
vars:
  vlan: 100
  pg: vMotion
steps:
  - name: vmotion everywhere
    tags: [check]
    assert:
      that:
        - portgroup: {name: "${pg}", vlan: "${vlan}"}
        - vmknic: {service: vmotion, mtu: 9000}
        - hosts: {min: 1}
  - loop: {cluster: DC0_C0}
    snapshot: {path: "reports/${host}.json"}
"""

ALPHABET = st.characters(codec="utf-8", exclude_categories=["Cs"])
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def only_core(kind: str) -> str | None:
    return None if kind in ("assert", "snapshot") else "not in this build"


def check(source: str | bytes) -> None:
    try:
        result = validate(source, name="fuzz.yml", available=only_core, environ={})
    except PlaybookError as exc:
        assert exc.issues, "a PlaybookError always lists at least one issue"
        for issue in exc.issues:
            assert issue.location.line >= 1
            assert issue.location.col >= 1
            assert str(issue).startswith("fuzz.yml:") or issue.location.file != "fuzz.yml"
    else:
        assert isinstance(result, ValidPlaybook)


@SETTINGS
@given(st.text(alphabet=ALPHABET, max_size=400))
def test_any_text_gives_valid_or_playbook_error(text: str) -> None:
    check(text)


@SETTINGS
@given(st.binary(max_size=400))
def test_any_bytes_gives_valid_or_playbook_error(data: bytes) -> None:
    check(data)


yaml_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=True),
    st.text(alphabet=ALPHABET, max_size=12),
    st.sampled_from(["${vlan}", "${nope}", "${env.HOME}", "$${x}", "${host}", "${", "}"]),
)
keys = st.one_of(
    st.sampled_from(
        [
            "name",
            "steps",
            "vars",
            "target",
            "assert",
            "snapshot",
            "that",
            "path",
            "portgroup",
            "vlan",
            "mtu",
            "loop",
            "tags",
            "include",
            "configure",
            "hosts",
            "cluster",
        ]
    ),
    st.text(alphabet=ALPHABET, min_size=1, max_size=8),
)
structures = st.recursive(
    yaml_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=20,
)


@SETTINGS
@given(structures)
def test_any_structure_gives_valid_or_playbook_error(value: object) -> None:
    # JSON is YAML: this reaches the validator with every shape of data.
    check(json.dumps(value))
    check(json.dumps({"steps": value}))
    check(json.dumps({"steps": [value]}))


@SETTINGS
@given(
    st.integers(0, len(EXAMPLE) - 1),
    st.sampled_from(["delete", "insert", "replace"]),
    st.sampled_from([*" :-{}[]'\"\n\t#&*!|>%@`,?$", "a", "0"]),
)
def test_typos_in_a_real_playbook_give_valid_or_playbook_error(pos: int, op: str, ch: str) -> None:
    if op == "delete":
        text = EXAMPLE[:pos] + EXAMPLE[pos + 1 :]
    elif op == "insert":
        text = EXAMPLE[:pos] + ch + EXAMPLE[pos:]
    else:
        text = EXAMPLE[:pos] + ch + EXAMPLE[pos + 1 :]
    check(text)


def test_the_unmodified_example_is_valid() -> None:
    vp = validate(EXAMPLE, name="fuzz.yml", available=only_core, environ={})
    assert [s.kind for s in vp.playbook.steps] == ["assert", "snapshot"]
    cond = vp.playbook.steps[0].assert_.that[0].portgroup  # type: ignore[union-attr]
    assert cond is not None and cond.vlan == 100 and cond.name == "vMotion"


def test_adversarial_inputs(tmp_path: Path) -> None:
    bomb = "a: &a ['x','x','x','x','x','x','x','x','x']\n" + "".join(
        f"{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
    for source in (
        "[" * 5000,
        "{" * 5000,
        "- " * 3000 + "x",
        bomb,
        "steps:\n" + "  - snapshot: {path: a}\n" * 2,
        "\ufeffsteps: []",
        "%YAML 1.1\n---\nsteps: []\n",
        "%FOO bar\n---\na: 1\n",
        "steps: !!binary aGVsbG8=\n",
        "steps: !!set {a, b}\n",
        "steps: !!omap [{a: 1}]\n",
        "<<: {steps: []}\n",
        "base: &b {path: x}\nsteps:\n  - snapshot: {<<: *b}\n",
        "a: 2001-12-14t21:59:43.10-05:00\nsteps: []\n",
    ):
        check(source)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.lists(st.integers(0, 4), max_size=3),  # which files each file includes
        min_size=1,
        max_size=5,
    ),
    st.lists(st.sampled_from(["", "tags: [x]", "tags: x", "bogus: 1"]), min_size=5, max_size=5),
)
def test_any_include_graph_gives_valid_or_playbook_error(
    tmp_path_factory: pytest.TempPathFactory, graph: list[list[int]], extras: list[str]
) -> None:
    """Random include graphs (cycles, self-includes, missing files, bad include keys)."""
    d = tmp_path_factory.mktemp("inc")
    for i, includes in enumerate(graph):
        lines = ["steps:", "  - snapshot: {path: a.json}"]
        for j in includes:
            lines.append(f"  - include: f{j}.yml")
            if extras[j]:
                lines.append(f"    {extras[j]}")
        (d / f"f{i}.yml").write_text("\n".join(lines) + "\n")
    try:
        vp = validate(d / "f0.yml", available=only_core, environ={})
    except PlaybookError as exc:
        assert exc.issues
        texts = "\n".join(map(str, exc.issues))
        if 0 in graph[0]:  # f0 includes itself
            assert "include cycle: f0.yml → f0.yml" in texts
    else:
        assert all(s.kind == "snapshot" for s in vp.playbook.steps)
