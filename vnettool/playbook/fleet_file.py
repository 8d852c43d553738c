"""The entry point from a fleet file (`fleet.yml`) to the `Fleet` model, with located errors.

The playbook loader does the reading (bounded, file:line:col, did-you-mean); this module adds
the one fleet-specific refusal: a password written inline, pointed at by its line, without
echoing its value.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from vnettool.errors import ConfigError
from vnettool.models.fleet import Fleet, VCenterEntry
from vnettool.playbook.errors import KeyPath, Location, PlaybookError, PlaybookIssue, did_you_mean
from vnettool.playbook.loader import read_file
from vnettool.playbook.validate import issue_from_error

_SECRET_KEYS = frozenset({"password", "passwd", "pass", "pwd", "secret", "token"})
_SECRET_HINT = (
    "a password is never written in the fleet file (it would be in every copy and commit); "
    "reference it: password_env: VAR, file: creds.yml (mode 0600) or keyring: SERVICE"
)


def _walk(value: Any, path: KeyPath) -> Iterator[KeyPath]:
    if isinstance(value, dict):
        for k, v in value.items():
            if str(k).lower() in _SECRET_KEYS:
                yield (*path, k)
            yield from _walk(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk(v, (*path, i))


class FleetError(PlaybookError):
    def render(self) -> str:
        n = len(self.issues)
        head = f"fleet file is invalid ({n} error{'s' if n != 1 else ''})"
        return "\n".join([head, *(str(i) for i in self.issues)])


def load_fleet(path: Path) -> Fleet:
    """Parse and validate; raises FleetError (a ConfigError) listing every located issue."""
    try:
        doc = read_file(path)
    except PlaybookError as exc:
        raise FleetError(exc.issues) from None
    data = doc.data
    if not isinstance(data, dict):
        raise FleetError([PlaybookIssue(Location(str(path), 1, 1), "expected a mapping")])
    secrets = [
        PlaybookIssue(doc.marks.at(p, key=True), "inline password refused", p, hint=_SECRET_HINT)
        for p in _walk(data, ())
    ]
    if secrets:
        raise FleetError(secrets)
    try:
        return Fleet.model_validate(data)
    except ValidationError as exc:
        raise FleetError(
            [issue_from_error(e, data, doc.marks, Fleet) for e in exc.errors()]
        ) from None


def select(fleet: Fleet, only: str | None, source: Path) -> list[VCenterEntry]:
    """The vCenters `--only` names; a word that is neither a name nor a tag is an error."""
    chosen = fleet.select(only)
    known = {vc.name for vc in fleet.vcenters} | {t for vc in fleet.vcenters for t in vc.tags}
    for word in (w.strip() for w in (only or "").split(",")):
        if word and word not in known:
            guess = did_you_mean(word, known)
            hint = f"; did you mean {guess!r}?" if guess else ""
            raise ConfigError(
                f"--only {word!r} is neither a vCenter name nor a tag of {source}{hint} "
                f"(known: {', '.join(sorted(known))})"
            )
    return chosen


def fleet_schema() -> dict[str, Any]:
    schema = Fleet.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "vnettool fleet file"
    return schema


def schema_text() -> str:
    return json.dumps(fleet_schema(), indent=2) + "\n"
