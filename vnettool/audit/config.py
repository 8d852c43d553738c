"""The site's audit config: a YAML file read into `AuditConfig`.

Errors name the file, line and column (ruamel keeps the positions), so a typo in a waiver is
found without reading a pydantic dump.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vnettool import userfile
from vnettool.audit.model import AuditConfig
from vnettool.errors import ConfigError


def load_config(path: Path) -> AuditConfig:
    """The audit config (YAML). Errors name the file, line and column."""
    from pydantic import ValidationError
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError

    text = userfile.read_text(path, what="audit config")
    yaml = YAML(typ="rt")
    try:
        data = yaml.load(text) or {}
    except MarkedYAMLError as exc:
        m = exc.problem_mark
        where = f"{path}:{m.line + 1}:{m.column + 1}" if m else str(path)
        raise ConfigError(f"{where}: {exc.problem}") from exc
    try:
        return AuditConfig.model_validate(_plain(data))
    except ValidationError as exc:
        raise ConfigError(_explain(path, data, exc.errors())) from exc


def _explain(path: Path, data: Any, errors: list[Any]) -> str:
    """Every problem at file:line:col. An unknown key comes first with a guess among the
    keys allowed there, and the "Field required" it causes (`patern:` for `pattern:`) is
    folded into it: the fix is the spelling, not a new key."""
    import difflib

    unknown = [e for e in errors if e["type"] == "extra_forbidden"]
    explained: set[tuple[Any, ...]] = set()
    lines = []
    for e in unknown:
        parent, key = tuple(e["loc"][:-1]), str(e["loc"][-1])
        missing = [
            str(m["loc"][-1])
            for m in errors
            if m["type"] == "missing" and tuple(m["loc"][:-1]) == parent
        ]
        allowed = missing or _allowed_keys(parent)
        guess = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        if guess:
            explained.add((*parent, guess[0]))
        hint = f"did you mean {guess[0]!r}?" if guess else f"allowed: {', '.join(allowed)}"
        lines.append(f"{_where(path, data, e['loc'])}: unknown key {key!r}; {hint}")
    for e in errors:
        if e in unknown or tuple(e["loc"]) in explained:
            continue
        loc = ".".join(str(x) for x in e["loc"])
        lines.append(f"{_where(path, data, e['loc'])}: {loc}: {e['msg']}")
    return lines[0] if len(lines) == 1 else f"{len(lines)} errors\n" + "\n".join(lines)


def _where(path: Path, data: Any, loc: tuple[Any, ...]) -> str:
    line = _line_of(data, loc)
    return f"{path}:{line}" if line else str(path)


def _allowed_keys(parent: tuple[Any, ...]) -> list[str]:
    """The keys allowed at `parent` (top level, a rule override, a waiver)."""
    from vnettool.audit.model import Allow, RuleOverride

    if not parent:
        return sorted(AuditConfig.model_fields)
    if parent[0] == "rules":
        return sorted(RuleOverride.model_fields)
    if parent[0] == "allow":
        return sorted(Allow.model_fields)
    return []


def _plain(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


def _line_of(data: Any, loc: tuple[Any, ...]) -> str | None:
    """'line:col' of the deepest key of `loc` ruamel still knows."""
    node, found = data, None
    for key in loc:
        lc = getattr(node, "lc", None)
        try:
            if lc is not None:
                pos = lc.key(key) if isinstance(key, str) else lc.item(key)
                found = f"{pos[0] + 1}:{pos[1] + 1}"
            node = node[key]
        except (KeyError, IndexError, TypeError):
            break
    return found
