"""Read playbook YAML into plain data while keeping where every key and value came from.

ruamel.yaml's round-trip loader records the line and column of each mapping key, mapping
value and sequence item; we copy those marks into a table keyed by the data path
(``('steps', 2, 'assert')``) and hand pydantic plain dicts and lists. When validation fails,
the path pydantic reports is looked up in the table, so every error points into the file.

Everything that can go wrong while reading (bad encoding, YAML syntax, duplicate keys, unknown
tags, alias bombs, absurd nesting, include cycles, unknown variables) becomes a
`PlaybookIssue`; nothing else escapes `load_playbook`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vnettool import userfile
from vnettool.models.desired import DesiredState
from vnettool.models.text import hidden_char
from vnettool.playbook.errors import (
    KeyPath,
    Location,
    PlaybookError,
    PlaybookIssue,
    did_you_mean,
)

MAX_BYTES = 4 * 1024 * 1024
"""Larger files are refused before parsing: a playbook is written by hand."""
MAX_NODES = 200_000
"""Bound on values after alias expansion (a YAML 'billion laughs' must not hang us)."""
MAX_DEPTH = 64
MAX_INCLUDE_DEPTH = 16
MAX_VAR_DEPTH = 32
"""Variables defined through more variables than this are refused (and Python's stack kept)."""
MAX_VALUE_CHARS = 1024 * 1024
"""One interpolated string may not grow beyond this (variables doubling each other)."""
MAX_EXPANDED = 4 * 1024 * 1024
"""Values and characters all references together may insert: what a playbook file could hold.
A list variable referenced twice by the next one doubles without using memory (both references
are the same object), then explodes whatever walks the result; counting sizes catches that."""

# ${name}, ${env.NAME}, ${name:-default}; $${ is a literal ${.
VAR_RE = re.compile(r"\$\$\{|\$\{([^}]*)\}")
VAR_NAME_RE = re.compile(r"^(env\.)?[A-Za-z_][A-Za-z0-9_]*$")
LOOP_VARS = frozenset({"host"})


@dataclass
class Marks:
    """Where each value (and each mapping key) of a document is, by data path."""

    value: dict[KeyPath, Location] = field(default_factory=dict)
    key: dict[KeyPath, Location] = field(default_factory=dict)
    file: str = "<playbook>"

    def at(self, path: KeyPath, *, key: bool = False) -> Location:
        """The mark of `path`, or of its nearest ancestor that has one."""
        p = tuple(path)
        if key and p in self.key:
            return self.key[p]
        while p:
            if p in self.value:
                return self.value[p]
            if p in self.key:
                return self.key[p]
            p = p[:-1]
        return self.value.get((), Location(self.file, 1, 1))

    def graft(self, other: Marks, src: KeyPath, dst: KeyPath) -> None:
        """Copy `other`'s marks under `src` to this table under `dst` (used by include)."""
        n = len(src)
        for table, mine in ((other.value, self.value), (other.key, self.key)):
            for p, loc in table.items():
                if p[:n] == src:
                    mine[dst + p[n:]] = loc

    def by_step(self) -> dict[int, list[tuple[bool, KeyPath, Location]]]:
        """Marks under ``steps[i]`` grouped by i, as (is_key, path below the step, location)."""
        out: dict[int, list[tuple[bool, KeyPath, Location]]] = {}
        for is_key, table in ((False, self.value), (True, self.key)):
            for p, loc in table.items():
                if len(p) >= 2 and p[0] == "steps" and isinstance(p[1], int):
                    out.setdefault(p[1], []).append((is_key, p[2:], loc))
        return out

    def put_step(self, index: int, marks: list[tuple[bool, KeyPath, Location]]) -> None:
        for is_key, rest, loc in marks:
            (self.key if is_key else self.value)[("steps", index, *rest)] = loc


@dataclass
class Document:
    """A parsed file: plain data, its marks, and its source lines (for precise columns)."""

    data: Any
    marks: Marks
    lines: list[str]
    path: Path | None = None


class IssueList:
    def __init__(self) -> None:
        self.items: list[PlaybookIssue] = []
        # file name → the include steps that reached it, from the top-level playbook down
        self.reached: dict[str, tuple[Location, ...]] = {}

    def located(self, items: list[PlaybookIssue]) -> list[PlaybookIssue]:
        """`items` with the include chain of the file each one is in."""
        return [
            dataclasses.replace(x, via=self.reached[x.location.file])
            if x.location.file in self.reached and not x.via
            else x
            for x in items
        ]

    def add(
        self,
        loc: Location,
        message: str,
        path: KeyPath = (),
        expected: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.items.append(PlaybookIssue(loc, message, path, expected, hint))


def _decode(raw: bytes, name: str) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        col = len(before) - (before.rfind(b"\n") + 1) + 1
        raise PlaybookError(
            [
                PlaybookIssue(
                    Location(name, line, col),
                    f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); is this a binary file?",
                )
            ]
        ) from None


def _line_col(text: str, position: int) -> tuple[int, int]:
    before = text[:position]
    return before.count("\n") + 1, position - (before.rfind("\n") + 1) + 1


QUOTE_BRACES = (
    "a value that starts with '{' is a YAML mapping (a flow mapping), not text: quote it, "
    'e.g. name: "{pg}-web"; vnettool\'s variables are written ${pg}, which needs no quotes'
)


def _brace_hint(text: str, line: int, problem: str) -> str | None:
    """The YAML trap behind most syntax errors on a line with braces: `name: {pg}-web` or an
    Ansible-style `{{ pg }}` opens a mapping, and `{name: a: b}` needs quotes inside."""
    lines = text.splitlines()
    here = lines[line - 1] if 0 < line <= len(lines) else ""
    if "flow mapping" in problem:
        return (
            "inside { } entries are separated by ',' and a value containing ':' or ',' must be "
            'quoted (name: "a: b"), or '
            "write the mapping as indented key: value lines"
        )
    if re.search(r":\s+\{", here) or here.lstrip(" -").startswith("{"):
        return QUOTE_BRACES
    return None


def _yaml_issue(exc: Exception, text: str, name: str) -> PlaybookIssue:
    """A ruamel error as one located issue, in words a user can act on."""
    from ruamel.yaml.constructor import DuplicateKeyError
    from ruamel.yaml.error import MarkedYAMLError
    from ruamel.yaml.reader import ReaderError

    if isinstance(exc, DuplicateKeyError):
        mark = exc.problem_mark
        found = re.search(r'duplicate key "(.*?)"', str(exc.problem))
        key = found.group(1) if found else "?"
        first = exc.context_mark
        hint = f"first defined at line {first.line + 1}" if first is not None else None
        return PlaybookIssue(
            Location(name, mark.line + 1, mark.column + 1),
            f"duplicate key {key!r}",
            hint=hint,
        )
    if isinstance(exc, MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        problem = (exc.problem or exc.context or "YAML syntax error").strip()
        context = (exc.context or "").strip()
        if exc.context and exc.problem:
            problem = f"{problem} ({context})"
        # At the end of the file, or for a key without ':', the useful place is where the
        # unfinished construct started (the opening quote or bracket, the bare key).
        unfinished = "end of stream" in problem or "<stream end>" in problem
        if exc.context_mark is not None and (unfinished or "simple key" in context):
            mark = exc.context_mark
            if unfinished:
                problem = f"{context} that is never closed ({exc.problem.strip()})"
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        return PlaybookIssue(
            Location(name, line, col),
            f"YAML syntax error: {problem}",
            hint=_brace_hint(text, line, problem),
        )
    if isinstance(exc, ReaderError):
        line, col = _line_col(text, int(exc.position))
        return PlaybookIssue(
            Location(name, line, col),
            f"character {exc.character!r} is not allowed in YAML; is this a binary file?",
        )
    if isinstance(exc, RecursionError):
        return PlaybookIssue(Location(name, 1, 1), "document is nested too deeply")
    return PlaybookIssue(Location(name, 1, 1), f"cannot read YAML: {exc}")


class _Converter:
    """ruamel round-trip nodes → plain data + marks, bounded in size and depth."""

    def __init__(self, name: str, issues: IssueList) -> None:
        self.name = name
        self.issues = issues
        self.marks = Marks(file=name)
        self.nodes = 0
        self.too_big = False

    def loc(self, lc: tuple[int, int] | None) -> Location:
        if lc is None:
            return Location(self.name, 1, 1)
        return Location(self.name, lc[0] + 1, lc[1] + 1)

    def convert(self, node: Any, path: KeyPath, depth: int) -> Any:
        from ruamel.yaml.comments import TaggedScalar

        self.nodes += 1
        if self.too_big:
            return None
        if self.nodes > MAX_NODES:
            self.too_big = True
            self.issues.add(
                self.marks.at(path),
                f"document expands to more than {MAX_NODES} values (aliases?)",
                path,
            )
            return None
        if depth > MAX_DEPTH:
            self.issues.add(self.marks.at(path), f"nested deeper than {MAX_DEPTH} levels", path)
            self.too_big = True
            return None
        if isinstance(node, TaggedScalar):
            self.issues.add(
                self.marks.at(path),
                f"YAML tag {str(node.tag.value).replace('tag:yaml.org,2002:', '!!')} is not supported",
                path,
                hint="remove the tag; playbooks use plain YAML",
            )
            return node.value
        if isinstance(node, Mapping):
            return self._mapping(node, path, depth)
        if isinstance(node, (list, tuple)):
            return self._sequence(node, path, depth)
        if isinstance(node, bool) or node is None:
            return node
        if isinstance(node, int):
            return int(node)
        if isinstance(node, float):
            return float(node)
        if isinstance(node, str):
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                self.issues.add(
                    self.marks.at(path),
                    "string holds an invalid escape (a lone UTF-16 surrogate)",
                    path,
                    hint="write the character itself or use \\UXXXXXXXX",
                )
                return ""
            self._hidden(str(node), path)
            return str(node)
        if isinstance(node, (dt.date, dt.datetime)):
            return node.isoformat()
        return str(node)

    def _hidden(self, text: str, path: KeyPath, *, key: bool = False) -> None:
        found = hidden_char(text)
        if found:
            self.issues.add(
                self.marks.at(path, key=key),
                f"{'key' if key else 'value'} holds {found[1]} at character {found[0] + 1}",
                path,
                hint="remove it: such characters hide or reorder what a reviewer reads",
            )

    def _mapping(self, node: Mapping[Any, Any], path: KeyPath, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        lc = getattr(node, "lc", None)
        for k in list(node.keys()):
            kpos = vpos = None
            if lc is not None:
                try:
                    kpos = lc.key(k)
                    vpos = lc.value(k)
                except (KeyError, TypeError, AttributeError):
                    pass  # merged (<<) keys have no position of their own
            if isinstance(k, bool) or k is None or isinstance(k, (int, float)):
                key = "null" if k is None else str(k).lower() if isinstance(k, bool) else str(k)
            elif isinstance(k, str):
                key = str(k)
            else:
                self.issues.add(
                    self.loc(kpos) if kpos else self.marks.at(path),
                    "a key must be a plain scalar, not a list or mapping",
                    path,
                    hint=QUOTE_BRACES if isinstance(k, Mapping) else None,
                )
                continue
            sub = (*path, key)
            if kpos is not None:
                self.marks.key[sub] = self.loc(kpos)
            if vpos is not None:
                self.marks.value[sub] = self.loc(vpos)
            elif kpos is not None:
                self.marks.value[sub] = self.loc(kpos)
            self._hidden(key, sub, key=True)
            out[key] = self.convert(node[k], sub, depth + 1)
        return out

    def _sequence(self, node: Sequence[Any], path: KeyPath, depth: int) -> list[Any]:
        out: list[Any] = []
        lc = getattr(node, "lc", None)
        for i, item in enumerate(node):
            sub = (*path, i)
            if lc is not None:
                try:
                    self.marks.value[sub] = self.loc(lc.item(i))
                except (KeyError, TypeError, AttributeError, IndexError):
                    pass
            out.append(self.convert(item, sub, depth + 1))
        return out


def parse_text(text: str | bytes, name: str = "<playbook>") -> Document:
    """Parse one YAML document into located plain data; raise PlaybookError on any problem."""
    from ruamel.yaml import YAML

    if isinstance(text, bytes):
        if len(text) > MAX_BYTES:
            raise PlaybookError(
                [
                    PlaybookIssue(
                        Location(name, 1, 1),
                        f"file is {len(text)} bytes; playbooks are limited to {MAX_BYTES}",
                    )
                ]
            )
        text = _decode(text, name)
    elif len(text) > MAX_BYTES:
        raise PlaybookError(
            [PlaybookIssue(Location(name, 1, 1), f"playbooks are limited to {MAX_BYTES} bytes")]
        )
    text = text.removeprefix("\ufeff")
    if not text.strip() or all(
        ln.strip() == "" or ln.lstrip().startswith("#") for ln in text.splitlines()
    ):
        raise PlaybookError(
            [PlaybookIssue(Location(name, 1, 1), "playbook is empty", expected="a mapping")]
        )
    yaml = YAML(typ="rt", pure=True)
    yaml.allow_duplicate_keys = False
    try:
        docs = list(yaml.load_all(text))
    except Exception as exc:  # ruamel raises many classes; each becomes one located issue
        raise PlaybookError([_yaml_issue(exc, text, name)]) from None
    if len(docs) > 1:
        raise PlaybookError(
            [
                PlaybookIssue(
                    _second_document(text, name),
                    "a playbook file holds one YAML document, found several ('---')",
                )
            ]
        )
    root = docs[0] if docs else None
    if root is None:
        raise PlaybookError(
            [
                PlaybookIssue(
                    Location(name, *_first_content(text)), "playbook is empty", expected="a mapping"
                )
            ]
        )
    issues = IssueList()
    conv = _Converter(name, issues)
    conv.marks.value[()] = Location(name, *_first_content(text))
    try:
        data = conv.convert(root, (), 0)
    except RecursionError:
        issues.add(Location(name, 1, 1), "document is nested too deeply")
        data = None
    if issues.items:
        raise PlaybookError(issues.items)
    return Document(data=data, marks=conv.marks, lines=text.splitlines())


def _first_content(text: str) -> tuple[int, int]:
    for n, ln in enumerate(text.splitlines(), 1):
        s = ln.strip()
        if s and not s.startswith("#") and s != "---" and not s.startswith("%"):
            return n, len(ln) - len(ln.lstrip()) + 1
    return 1, 1


def _second_document(text: str, name: str) -> Location:
    seen = False
    for n, ln in enumerate(text.splitlines(), 1):
        if ln.startswith("---"):
            if seen or any(
                s.strip() and not s.strip().startswith(("#", "%"))
                for s in text.splitlines()[: n - 1]
            ):
                return Location(name, n, 1)
            seen = True
    return Location(name, 1, 1)


def _all_lines(doc: Document) -> dict[str, list[str]]:
    """Source lines of the playbook and of every file it included (for column refinement)."""
    out = {doc.marks.file: doc.lines}
    for loc in (*doc.marks.value.values(), *doc.marks.key.values()):
        if loc.file not in out:
            try:
                raw = userfile.read_bytes(loc.file, limit=MAX_BYTES)
                out[loc.file] = raw.decode("utf-8", errors="replace").splitlines()
            except userfile.UserFileError:
                out[loc.file] = []
    return out


def read_file(path: Path, name: str | None = None) -> Document:
    shown = name or str(path)
    try:
        raw = userfile.read_bytes(path, limit=MAX_BYTES, what="playbook")
    except userfile.UserFileError as exc:
        raise PlaybookError([PlaybookIssue(Location(shown, 1, 1), exc.reason)]) from None
    doc = parse_text(raw, shown)
    doc.path = path
    return doc


# -- includes -------------------------------------------------------------------------------


def resolve_includes(
    doc: Document,
    issues: IssueList,
    stack: tuple[Path, ...] = (),
    base: Path | None = None,
    anywhere: bool = False,
    via: tuple[Location, ...] = (),
) -> None:
    """Replace each ``- include: FILE`` step with the steps of FILE, marks and all.

    Paths are relative to the including file and must stay inside the top playbook's
    directory tree unless `anywhere` (a playbook from elsewhere must not read ~/.ssh). A
    file that includes itself, directly or through others, is an error at the include that
    closes the loop. An included file that is not YAML steps is reported without its lines.
    """
    data = doc.data
    if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
        return
    if not any(isinstance(s, dict) and "include" in s for s in data["steps"]):
        return
    own = doc.marks.by_step()
    here = (doc.path.resolve(),) if doc.path else ()
    stack = stack + here
    base_dir = doc.path.parent if doc.path else (base or Path.cwd())
    root = stack[0].parent if stack else base_dir.resolve()
    new_steps: list[Any] = []
    new_marks = Marks(file=doc.marks.file)
    # Copy the marks of everything but the steps; steps are re-added at their new indexes.
    for table, mine in ((doc.marks.value, new_marks.value), (doc.marks.key, new_marks.key)):
        for p, loc in table.items():
            if not (len(p) >= 2 and p[0] == "steps" and isinstance(p[1], int)):
                mine[p] = loc
    for i, step in enumerate(data["steps"]):
        inc = step.get("include") if isinstance(step, dict) else None
        if not isinstance(step, dict) or "include" not in step:
            new_marks.put_step(len(new_steps), own.get(i, []))
            new_steps.append(step)
            continue
        where = doc.marks.at(("steps", i, "include"))
        extra = sorted(set(step) - {"include", "tags"})
        for k in extra:
            hint = did_you_mean(k, ["include", "tags"])
            issues.add(
                doc.marks.at(("steps", i, k), key=True),
                f"unknown key {k!r} in an include step",
                ("steps", i, k),
                expected="include, tags",
                hint=f"did you mean {hint!r}?" if hint else None,
            )
        if not isinstance(inc, str) or not inc.strip():
            issues.add(where, "include needs a file name", ("steps", i, "include"), "a string")
            continue
        try:
            target = (base_dir / inc).resolve()
            exists = target.is_file()
        except (OSError, ValueError, UnicodeError):
            issues.add(where, f"{inc!r} is not a usable file name", ("steps", i, "include"))
            continue
        if not anywhere and not target.is_relative_to(root):
            issues.add(
                where,
                f"included file {inc!r} is outside the directory of the playbook "
                f"{_top_name(stack, doc)} ({root}); pass --include-anywhere to allow it",
                ("steps", i, "include"),
            )
            continue
        if target in stack:
            chain = " → ".join(p.name for p in (*stack[stack.index(target) :], target))
            issues.add(where, f"include cycle: {chain}", ("steps", i, "include"))
            continue
        if len(stack) >= MAX_INCLUDE_DEPTH:
            issues.add(where, "includes nested too deeply", ("steps", i, "include"))
            continue
        if not exists:
            issues.add(where, f"included file {inc!r} not found", ("steps", i, "include"))
            continue
        issues.reached.setdefault(_shown(target), (*via, where))
        _splice_one(doc, issues, target, stack, anywhere, (i, step), new_steps, new_marks)
    data["steps"] = new_steps
    doc.marks = new_marks


def _splice_one(
    doc: Document,
    issues: IssueList,
    target: Path,
    stack: tuple[Path, ...],
    anywhere: bool,
    at: tuple[int, dict[str, Any]],
    new_steps: list[Any],
    new_marks: Marks,
) -> None:
    """Read one included file and append its steps (tags, variables, marks) to the new list."""
    i, step = at
    data = doc.data
    try:
        sub = read_file(target, _shown(target))
    except PlaybookError as exc:
        issues.items.extend(dataclasses.replace(x, excerpt=False) for x in exc.issues)
        return
    if isinstance(sub.data, list):
        sub.data = {"steps": sub.data}
        sub.marks = _reroot(sub.marks, ("steps",))
    elif is_desired_state(sub.data):
        sub.data = {"steps": [{"configure": sub.data}]}
        sub.marks = _reroot(sub.marks, ("steps", 0, "configure"))
        sub.marks.value[("steps", 0)] = sub.marks.value[()]
    if not isinstance(sub.data, dict) or not isinstance(sub.data.get("steps"), list):
        issues.items.append(
            PlaybookIssue(
                sub.marks.at(()),
                "an included file must be a list of steps or a mapping with 'steps'",
                excerpt=False,
            )
        )
        return
    unknown = sorted(set(sub.data) - {"steps", "vars", "name", "description"})
    for k in unknown:
        issues.add(
            sub.marks.at((k,), key=True),
            f"unknown key {k!r} in an included file",
            (k,),
            expected="steps, vars, name, description",
        )
    resolve_includes(sub, issues, stack, anywhere=anywhere, via=issues.reached[sub.marks.file])
    # Variables of an included file are defaults; the including playbook's win.
    sub_vars = sub.data.get("vars")
    if isinstance(sub_vars, dict) and isinstance(data.get("vars", {}), dict):
        merged = dict(sub_vars)
        merged.update(data.get("vars") or {})
        for k in sub_vars:
            if k not in (data.get("vars") or {}):
                new_marks.graft(sub.marks, ("vars", k), ("vars", k))
                doc.marks.graft(sub.marks, ("vars", k), ("vars", k))
        data["vars"] = merged
    extra_tags = step.get("tags")
    if extra_tags is not None and not (
        isinstance(extra_tags, list) and all(isinstance(t, str) and t for t in extra_tags)
    ):
        issues.add(
            doc.marks.at(("steps", i, "tags")),
            f"wrong value {extra_tags!r}",
            ("steps", i, "tags"),
            expected="a list of tag names",
        )
    theirs = sub.marks.by_step()
    for j, sub_step in enumerate(sub.data["steps"]):
        if isinstance(sub_step, dict) and isinstance(extra_tags, list):
            tags = sub_step.get("tags")
            sub_step["tags"] = [*tags, *extra_tags] if isinstance(tags, list) else extra_tags
        new_marks.put_step(len(new_steps), theirs.get(j, []))
        new_steps.append(sub_step)


def _top_name(stack: tuple[Path, ...], doc: Document) -> str:
    top = stack[0] if stack else doc.path
    return _shown(top) if top is not None else "<playbook>"


# Top-level keys of a desired-state document (the configuration engine's YAML), taken from the
# model itself. A file with one of them and no `steps` is a one-step playbook: `configure:`
# with the whole document, so `vnettool run --check FILE` plans the same files
# `vnettool plan FILE` reads — a section added to DesiredState is accepted by both at once.
DESIRED_STATE_KEYS = frozenset(DesiredState.model_fields) - {"target"}


def is_desired_state(data: Any) -> bool:
    return isinstance(data, dict) and "steps" not in data and bool(DESIRED_STATE_KEYS & set(data))


def _reroot(marks: Marks, prefix: KeyPath) -> Marks:
    out = Marks(file=marks.file)
    out.value = {prefix + p: v for p, v in marks.value.items()}
    out.key = {prefix + p: v for p, v in marks.key.items()}
    out.value.setdefault(prefix, marks.value.get((), Location(marks.file, 1, 1)))
    out.value[()] = marks.value.get((), Location(marks.file, 1, 1))
    return out


def _shown(path: Path) -> str:
    """A path as users typed it: relative to the current directory when below it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# -- variables ------------------------------------------------------------------------------


def parse_var_option(text: str) -> tuple[str, Any]:
    """``k=v`` from ``--var``; the value is read as a YAML scalar (so ``vlan=100`` is an int)."""
    from ruamel.yaml import YAML

    if "=" not in text:
        raise PlaybookError(
            [PlaybookIssue(Location("--var", 1, 1), f"expected NAME=VALUE, got {text!r}")]
        )
    key, _, raw = text.partition("=")
    key = key.strip()
    if not VAR_NAME_RE.match(key) or key.startswith("env."):
        raise PlaybookError(
            [PlaybookIssue(Location("--var", 1, 1), f"{key!r} is not a variable name")]
        )
    try:
        value = YAML(typ="safe", pure=True).load(raw) if raw.strip() else ""
    except Exception:
        value = raw
    if isinstance(value, (dict, list)) or value is None:
        value = raw
    found = hidden_char(raw)
    if found:
        raise PlaybookError(
            [PlaybookIssue(Location("--var", 1, 1), f"{key} holds {found[1]}; it is refused")]
        )
    return key, value


class Variables:
    """Resolves ``${name}`` (playbook vars, overridden by --var) and ``${env.NAME}``."""

    def __init__(
        self,
        defined: dict[str, Any],
        overrides: dict[str, Any],
        marks: Marks,
        issues: IssueList,
        environ: Mapping[str, str] | None = None,
        lines: Mapping[str, list[str]] | None = None,
    ) -> None:
        self.lines = lines or {}
        self.raw = {**defined, **overrides}
        self.overridden = set(overrides)
        self.marks = marks
        self.issues = issues
        self.environ = os.environ if environ is None else environ
        self.done: dict[str, Any] = {}
        self.resolving: list[str] = []
        self.sizes: dict[str, int] = {}
        self.shared: dict[int, int] = {}
        self.expanded = 0
        self.exploded = False

    def get(self, name: str, loc: Location, path: KeyPath) -> tuple[bool, Any]:
        if name in self.done:
            return True, self.done[name]
        if name not in self.raw:
            return False, None
        if name in self.resolving:
            chain = " → ".join([*self.resolving[self.resolving.index(name) :], name])
            self.issues.add(loc, f"variables refer to each other in a loop: {chain}", path)
            return True, None
        if len(self.resolving) >= MAX_VAR_DEPTH:
            self.issues.add(
                loc,
                f"variables are defined through more than {MAX_VAR_DEPTH} other variables "
                f"({self.resolving[0]} → ... → {name})",
                path,
            )
            return True, None
        self.resolving.append(name)
        value = self.raw[name]
        if name not in self.overridden:
            value = self.substitute(value, ("vars", name), loops=frozenset())
        self.resolving.pop()
        self.done[name] = value
        self.sizes[name] = self._size(value)
        if isinstance(value, (dict, list)):
            self.shared[id(value)] = self.sizes[name]
        return True, value

    def _size(self, value: Any) -> int:
        """Values plus characters of `value`; a variable's own value inside counts its known
        size without being walked again (walking a doubled DAG is the explosion itself)."""
        if id(value) in self.shared:
            return self.shared[id(value)]
        if isinstance(value, dict):
            return 1 + sum(len(str(k)) + self._size(v) for k, v in value.items())
        if isinstance(value, list):
            return 1 + sum(self._size(v) for v in value)
        return 1 + (len(value) if isinstance(value, str) else 0)

    def _charge(self, name: str, loc: Location, path: KeyPath) -> bool:
        """Count what a reference to `name` inserts; False once the document has exploded."""
        self.expanded += self.sizes.get(name, 1)
        if self.expanded <= MAX_EXPANDED:
            return True
        if not self.exploded:
            self.exploded = True
            self.issues.add(
                loc,
                f"variables expand to more than {MAX_EXPANDED} values and characters "
                f"(at ${{{name}}}; variables doubling each other?)",
                path,
            )
        return False

    def substitute(self, value: Any, path: KeyPath, loops: frozenset[str]) -> Any:
        if isinstance(value, dict):
            return {k: self.substitute(v, (*path, k), loops) for k, v in value.items()}
        if isinstance(value, list):
            return [self.substitute(v, (*path, i), loops) for i, v in enumerate(value)]
        if not isinstance(value, str) or "${" not in value:
            return value
        whole = VAR_RE.fullmatch(value.strip())
        if whole and whole.group(1) is not None:
            offset = len(value) - len(value.lstrip())
            found, result = self._lookup(whole.group(1), value, path, loops, offset)
            return result if found else value
        return self._interpolate(value, path, loops)

    def _interpolate(self, value: str, path: KeyPath, loops: frozenset[str]) -> str:
        grown = len(value)

        def repl(m: re.Match[str]) -> str:
            nonlocal grown
            if m.group(0) == "$${":
                return "${"
            found, result = self._lookup(m.group(1), value, path, loops, m.start())
            if not found:
                return m.group(0)
            if isinstance(result, bool):
                return "true" if result else "false"
            text = "" if result is None else str(result)
            grown += len(text)
            if grown > MAX_VALUE_CHARS:
                if grown - len(text) <= MAX_VALUE_CHARS:  # report once per value
                    self.issues.add(
                        self._loc(path, value, m.start()),
                        f"this value grows beyond {MAX_VALUE_CHARS} characters at "
                        f"${{{m.group(1)}}} (variables doubling each other?)",
                        path,
                    )
                return ""
            return text

        return VAR_RE.sub(repl, value)

    def _lookup(
        self, expr: str, text: str, path: KeyPath, loops: frozenset[str], offset: int = -1
    ) -> tuple[bool, Any]:
        """(found, value); `found` False keeps the text (loop variables, reported errors)."""
        loc = self._loc(path, text, offset)
        name, has_default, default = expr.partition(":-")
        name = name.strip()
        if not VAR_NAME_RE.match(name):
            self.issues.add(
                loc,
                f"bad variable reference ${{{expr}}}",
                path,
                expected="${name}, ${env.NAME} or ${name:-default}",
            )
            return False, None
        if name.startswith("env."):
            env_name = name[4:]
            if env_name in self.environ:
                value = self.environ[env_name]
                bad = hidden_char(value)
                if bad:
                    self.issues.add(loc, f"environment variable {env_name} holds {bad[1]}", path)
                    return False, None
                return True, value
            if has_default:
                return True, default
            self.issues.add(
                loc,
                f"environment variable {env_name} is not set",
                path,
                hint=f"set it, or give a default: ${{env.{env_name}:-value}}",
            )
            return False, None
        if name in loops:
            return False, None
        found, result = self.get(name, loc, path)
        if found:
            return (True, result) if self._charge(name, loc, path) else (False, None)
        if has_default:
            return True, default
        guess = did_you_mean(name, [*self.raw, *loops])
        where = " (only inside a step with 'loop:')" if name in LOOP_VARS else ""
        self.issues.add(
            loc,
            f"undefined variable {name!r}{where}",
            path,
            hint=f"did you mean {guess!r}?" if guess else "define it under 'vars:' or pass --var",
        )
        return False, None

    def _loc(self, path: KeyPath, text: str, offset: int) -> Location:
        """The column of the ``${`` itself when the scalar sits on one line."""
        base = self.marks.at(path)
        if offset < 0 or "\n" in text:
            return base
        src = self.lines.get(base.file, [])
        ch = src[base.line - 1][base.col - 1 : base.col] if 0 < base.line <= len(src) else ""
        quoted = ch in ("'", '"')
        return Location(base.file, base.line, base.col + offset + (1 if quoted else 0))


@dataclass
class Loaded:
    """A playbook read, includes spliced and variables substituted; not yet validated."""

    data: dict[str, Any]
    marks: Marks
    lines: dict[str, list[str]]
    variables: dict[str, Any]
    issues: list[PlaybookIssue] = field(default_factory=list)
    """Problems found while loading (includes, variables); validation reports them too."""
    wrapped: bool = False
    """The file was a desired-state document, run as one configure step."""
    reached: IssueList = field(default_factory=IssueList)
    """Which include steps reached each included file (to say so in its errors)."""


def load_data(
    source: Path | str | bytes,
    overrides: Mapping[str, Any] | None = None,
    *,
    name: str | None = None,
    environ: Mapping[str, str] | None = None,
    includes_anywhere: bool = False,
) -> Loaded:
    """Read, splice includes, substitute variables.

    Unreadable files raise PlaybookError at once; later problems are collected in
    `Loaded.issues` so that validation can report them together with the structural ones.
    """
    if isinstance(source, Path):
        doc = read_file(source, name or _shown(source))
    else:
        doc = parse_text(source, name or "<playbook>")
    issues = IssueList()
    if not isinstance(doc.data, dict):
        kind = "a list" if isinstance(doc.data, list) else f"a {type(doc.data).__name__} value"
        raise PlaybookError(
            [
                PlaybookIssue(
                    doc.marks.at(()),
                    f"a playbook is a mapping with 'steps', found {kind}",
                    expected="a mapping",
                )
            ]
        )
    wrapped = is_desired_state(doc.data)
    if wrapped:
        doc.data = {"steps": [{"configure": doc.data}]}
        doc.marks = _reroot(doc.marks, ("steps", 0, "configure"))
        doc.marks.value[("steps", 0)] = doc.marks.value[()]
    resolve_includes(doc, issues, anywhere=includes_anywhere)
    data: dict[str, Any] = doc.data
    defined = data.get("vars")
    if defined is None:
        defined = {}
    if not isinstance(defined, dict):
        issues.add(doc.marks.at(("vars",)), "'vars' must be a mapping", ("vars",), "a mapping")
        defined = {}
    for k in defined:
        if not VAR_NAME_RE.match(k) or k.startswith("env."):
            issues.add(
                doc.marks.at(("vars", k), key=True),
                f"{k!r} is not a valid variable name",
                ("vars", k),
                expected="letters, digits and _, not starting with a digit",
            )
    lines = _all_lines(doc)
    variables = Variables(defined, dict(overrides or {}), doc.marks, issues, environ, lines)
    for key in list(data):
        if key == "vars":
            continue
        if key == "steps" and isinstance(data["steps"], list):
            out = []
            for i, step in enumerate(data["steps"]):
                loops = LOOP_VARS if isinstance(step, dict) and step.get("loop") else frozenset()
                out.append(variables.substitute(step, ("steps", i), loops))
            data["steps"] = out
        else:
            data[key] = variables.substitute(data[key], (key,), frozenset())
    resolved = {k: variables.get(k, Location("--var", 1, 1), ())[1] for k in variables.raw}
    return Loaded(
        data=data,
        marks=doc.marks,
        lines=lines,
        variables=resolved,
        issues=issues.items,
        wrapped=wrapped,
        reached=issues,
    )
