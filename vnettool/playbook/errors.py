"""Located playbook errors: every problem points at a file, a line and a column.

A playbook is reviewed and fixed in an editor, so errors read like a compiler's
(``file:line:col: message``) and all of them are reported at once: a user fixes a playbook in
one pass instead of one error per run.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from vnettool.errors import ConfigError

PathPart = str | int
KeyPath = tuple[PathPart, ...]


def format_path(path: Sequence[PathPart]) -> str:
    """``('steps', 2, 'assert', 'that')`` → ``steps[2].assert.that`` (how users read YAML)."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """The closest candidate to a misspelled word, if any is close enough to be a guess."""
    found = difflib.get_close_matches(word, sorted(set(candidates)), n=1, cutoff=0.6)
    return found[0] if found else None


@dataclass(frozen=True, order=True)
class Location:
    """A place in a file; line and column are 1-based like every editor's."""

    file: str
    line: int = 1
    col: int = 1

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True)
class PlaybookIssue:
    """One problem: where, the key path, what is wrong, and what would be right."""

    location: Location
    message: str
    path: KeyPath = ()
    expected: str | None = None
    hint: str | None = None
    # False for a file that is not a playbook (an include of /etc/shadow): its lines are not
    # shown under the error, so an error cannot be used to print a file's content
    excerpt: bool = True
    # The include steps that led to the file of `location`, from the top-level playbook down:
    # an error in a file the user never named on the command line says how it was reached.
    via: tuple[Location, ...] = ()

    def __str__(self) -> str:
        where = f" at {format_path(self.path)}" if self.path else ""
        text = f"{self.location}: {self.message}{where}"
        if self.expected:
            text += f" (expected {self.expected})"
        if self.hint:
            text += f"; {self.hint}"
        if self.via:
            text += " (included from " + " → ".join(str(v) for v in self.via) + ")"
        return text

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.location.file,
            "line": self.location.line,
            "column": self.location.col,
            "path": format_path(self.path),
            "message": self.message,
            "expected": self.expected,
            "hint": self.hint,
            "included_from": [str(v) for v in self.via],
        }


class PlaybookError(ConfigError):
    """The playbook is not valid; nothing ran. Carries every issue found, in file order."""

    def __init__(self, issues: Iterable[PlaybookIssue], what: str = "playbook is invalid") -> None:
        self.issues = sorted(issues, key=lambda i: (i.location, i.message))
        self.what = what
        super().__init__(self.render())

    def render(self) -> str:
        n = len(self.issues)
        head = f"{self.what} ({n} error{'s' if n != 1 else ''})"
        return "\n".join([head, *(str(i) for i in self.issues)])
