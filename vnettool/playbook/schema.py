"""The playbook JSON Schema, for editors (yaml-language-server) and CI linters.

Generated from the same pydantic models that validate playbooks, so the editor's completion
and the runner's validation cannot disagree about which keys exist. Two adjustments make it
describe the file *as written*, which is what an editor sees: a ``${variable}`` is accepted
wherever a number, boolean or enumerated value goes (it is substituted before validation),
and a step may be an ``include:``.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from vnettool.models.desired import DesiredState
from vnettool.playbook.steps import IncludeStep, Playbook

SCHEMA_ID = "https://vnettool.dev/schema/playbook.json"
VARIABLE = {
    "type": "string",
    "pattern": r"^\s*\$\{[^}]+\}\s*$",
    "description": "A ${variable} substituted before validation",
}
TYPED = frozenset({"integer", "number", "boolean"})


def _allow_variables(node: Any) -> Any:
    """Walk a schema (and only schemas: not the name maps of properties or $defs)."""
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for k, v in node.items():
        if k in ("properties", "$defs", "patternProperties") and isinstance(v, dict):
            out[k] = {name: _allow_variables(sub) for name, sub in v.items()}
        elif k in ("items", "additionalProperties", "not") and isinstance(v, dict):
            out[k] = _allow_variables(v)
        elif k in ("anyOf", "allOf", "oneOf", "prefixItems") and isinstance(v, list):
            out[k] = [_allow_variables(sub) for sub in v]
        else:
            out[k] = v
    typed = isinstance(out.get("type"), str) and out["type"] in TYPED
    if typed or "enum" in out or "const" in out:
        keep = {k: v for k, v in out.items() if k in ("title", "description", "default")}
        inner = {k: v for k, v in out.items() if k not in keep}
        return {**keep, "anyOf": [inner, VARIABLE]}
    return out


def playbook_schema(desired: type[BaseModel] | None = None) -> dict[str, Any]:
    """The schema; `desired` (default: the engine's `DesiredState`) types configure."""
    if desired is None:
        desired = DesiredState
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        (Playbook, "validation"),
        (IncludeStep, "validation"),
    ]
    if desired is not None:
        models.append((desired, "validation"))
    refs, combined = models_json_schema(models, by_alias=True)
    defs = combined.get("$defs", {})
    root_ref = refs[(Playbook, "validation")]["$ref"].split("/")[-1]
    schema = dict(defs.pop(root_ref))
    schema["$defs"] = defs
    schema["properties"]["steps"]["items"] = {
        "anyOf": [
            {"$ref": "#/$defs/Step"},
            refs[(IncludeStep, "validation")],
        ]
    }
    if desired is not None:
        schema["$defs"]["Step"]["properties"]["configure"] = {
            "anyOf": [refs[(desired, "validation")], {"type": "null"}],
            "description": "Desired state (the configuration engine's model)",
        }
    schema = _allow_variables(schema)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "vnettool playbook",
        **{k: v for k, v in schema.items() if k != "title"},
    }


def schema_text() -> str:
    return json.dumps(playbook_schema(), indent=2, sort_keys=True) + "\n"
