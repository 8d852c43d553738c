"""The playbook JSON Schema, for editors (yaml-language-server) and CI linters.

Generated from the same pydantic models that validate playbooks, so the editor's completion
and the runner's validation can never disagree about which keys exist.
"""

from __future__ import annotations

import json
from typing import Any

from vnettool.playbook.steps import Playbook

SCHEMA_ID = "https://vnettool.dev/schema/playbook.json"


def playbook_schema() -> dict[str, Any]:
    schema = Playbook.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "vnettool playbook",
        **{k: v for k, v in schema.items() if k != "title"},
    }


def schema_text() -> str:
    return json.dumps(playbook_schema(), indent=2, sort_keys=True) + "\n"
