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
        e = exc.errors()[0]
        loc = [str(x) for x in e["loc"]]
        line = _line_of(data, e["loc"])
        where = f"{path}:{line}" if line else str(path)
        raise ConfigError(f"{where}: {'.'.join(loc)}: {e['msg']}") from exc


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
