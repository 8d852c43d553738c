"""Run journals: what an apply changed, with before-values, for reports and `--rollback`.

One JSON-lines file per run under $VNETTOOL_HOME/runs/ (default ~/.vnettool/runs): a header,
one line per result as it completes (so a crash mid-run still leaves what was done), and an
end line with the verification. Append-only: cheap at hundreds of changes, never half-written.
"""

from __future__ import annotations

import json
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vnettool import paths
from vnettool.errors import ConfigError
from vnettool.models.plan import Result


def runs_dir() -> Path:
    return paths.runs_dir()


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


class Journal:
    """Writer of one run's journal."""

    def __init__(self, run_id: str | None = None, directory: Path | None = None) -> None:
        self.id = run_id or new_run_id()
        self.path = (directory or runs_dir()) / f"{self.id}.jsonl"

    def _write(self, record: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # user-only: a journal names every object and value changed in the vCenter
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, default=str) + "\n")

    def start(self, *, source: str, vcenter: str, changes: int, rollback_of: str | None) -> None:
        self._write(
            {
                "type": "run",
                "id": self.id,
                "started": datetime.now(UTC).isoformat(),
                "source": source,
                "vcenter": vcenter,
                "changes": changes,
                "rollback_of": rollback_of,
            }
        )

    def result(self, r: Result) -> None:
        self._write({"type": "result", "result": r.model_dump(mode="json")})

    def end(self, *, verified: bool | None, remaining: int | None) -> None:
        self._write(
            {
                "type": "end",
                "finished": datetime.now(UTC).isoformat(),
                "verified": verified,
                "remaining": remaining,
            }
        )


class RunRecord:
    """A journal read back."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.header: dict[str, Any] = {}
        self.end: dict[str, Any] | None = None
        self.results: list[Result] = []
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            rec = json.loads(line)
            if rec.get("type") == "run":
                self.header = rec
            elif rec.get("type") == "result":
                self.results.append(Result.model_validate(rec["result"]))
            elif rec.get("type") == "end":
                self.end = rec

    @property
    def id(self) -> str:
        return str(self.header.get("id") or self.path.stem)


def find_run(ref: str) -> RunRecord:
    """A run by id, 'last', or path to its journal file."""
    path = Path(ref)
    if not path.is_file():
        runs = sorted(runs_dir().glob("*.jsonl"))
        if ref == "last":
            if not runs:
                raise ConfigError(f"no runs recorded under {runs_dir()}")
            path = runs[-1]
        else:
            hits = [p for p in runs if p.stem == ref or p.stem.startswith(ref)]
            if len(hits) != 1:
                known = ", ".join(p.stem for p in runs[-5:]) or "none"
                what = "no run" if not hits else "more than one run"
                raise ConfigError(f"{what} matches {ref!r} in {runs_dir()} (latest: {known})")
            path = hits[0]
    try:
        return RunRecord(path)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read run journal {path}: {exc}") from exc
