"""The exported JSON Schema agrees with the validator, as an editor would apply it.

An editor with yaml-language-server validates the YAML *as written* (before variables and
includes), so the examples must be schema-valid as files, and the mistakes the corpus shows
(unknown keys, wrong types, enumerations) must be flagged by the schema too.
"""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
from ruamel.yaml import YAML

from vnettool.playbook.schema import playbook_schema

ROOT = Path(__file__).parents[2]
CORPUS = Path(__file__).parent / "playbook_corpus"
EXAMPLES = sorted((ROOT / "playbooks").glob("*.yml"))
VALIDATOR = jsonschema.Draft202012Validator(playbook_schema())


def load(path: Path) -> object:
    return YAML(typ="safe", pure=True).load(path.read_text())


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(playbook_schema())


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_examples_are_valid_for_editors(example: Path) -> None:
    data = load(example)
    if isinstance(data, dict) and "steps" not in data:
        pytest.skip("a desired-state document (the engine's schema applies)")
    errors = list(VALIDATOR.iter_errors(data))
    assert errors == [], [f"{list(e.absolute_path)}: {e.message}" for e in errors]


@pytest.mark.parametrize(
    ("case", "path"),
    [
        ("unknown-line-12", ["steps", 0, "assert", "that", 1, "vmknic"]),
        ("unknown-action-snapshto", ["steps", 0]),
        ("unknown-clustr", ["target"]),
        ("type-service-literal", ["steps", 0, "assert", "that", 0, "vmknic", "service"]),
        ("type-tags-string", ["steps", 0, "tags"]),
    ],
)
def test_editor_flags_the_same_mistakes(case: str, path: list[object]) -> None:
    errors = list(VALIDATOR.iter_errors(load(CORPUS / f"{case}.yml")))
    assert errors, f"the schema accepts {case}"

    def paths(e: jsonschema.ValidationError) -> list[list[object]]:
        # anyOf branches report below their parent: collect every branch's path.
        return [list(e.absolute_path), *(p for sub in e.context or [] for p in paths(sub))]

    found = [p for e in errors for p in paths(e)]
    assert any(p[: len(path)] == path for p in found), found
