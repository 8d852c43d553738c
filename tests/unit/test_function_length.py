"""No function in vnettool/ is longer than 80 lines.

A function's length is what a reader scrolls through: from its first decorator to its last
line (`end_lineno - lineno + 1`, decorators included), nested functions counted inside their
parent and on their own. Typer commands count their option declarations too, which is why
they declare options once as `Annotated` aliases and hand the work to a function of their
domain package.

`KNOWN` lists offenders allowed for a while (empty today): the test fails if one of them
grows, if one of them is fixed and still listed (remove the entry), or if any other function
goes over the limit.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "vnettool"
LIMIT = 80

# path relative to vnettool/ :: qualified name -> its length today (must only shrink)
KNOWN: dict[str, int] = {}


def function_lengths(root: Path) -> dict[str, int]:
    """`path::qualified.name` -> lines, for every function and method under `root`."""
    out: dict[str, int] = {}

    def visit(node: ast.AST, prefix: str, rel: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    first = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                    out[f"{rel}::{name}"] = (child.end_lineno or child.lineno) - first + 1
                visit(child, f"{name}.", rel)
            else:
                visit(child, prefix, rel)

    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        visit(ast.parse(path.read_text(encoding="utf-8"), str(path)), "", rel)
    return out


def test_the_counter_counts_decorators_and_nested_functions(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(
        "@app.command()\n@handle\ndef cmd(\n    a: int = 1,\n) -> None:\n"
        "    def inner() -> None:\n        pass\n    return None\n\n"
        "class K:\n    def meth(self) -> None:\n        pass\n"
    )
    assert function_lengths(tmp_path) == {"m.py::cmd": 8, "m.py::cmd.inner": 2, "m.py::K.meth": 2}


def test_no_function_over_80_lines() -> None:
    lengths = function_lengths(PACKAGE)
    assert len(lengths) > 500  # the walk found the package
    over = {k: n for k, n in lengths.items() if n > LIMIT and k not in KNOWN}
    assert not over, "functions over 80 lines (split them): " + ", ".join(
        f"{k} ({n})" for k, n in sorted(over.items(), key=lambda x: -x[1])
    )


def test_known_offenders_only_shrink_and_leave_the_list_when_fixed() -> None:
    lengths = function_lengths(PACKAGE)
    grown = {k: lengths[k] for k, n in KNOWN.items() if lengths.get(k, 0) > n}
    fixed = [k for k in KNOWN if lengths.get(k, 0) <= LIMIT]
    assert not grown, f"known long functions grew: {grown}"
    assert not fixed, f"no longer over 80 lines (or gone): remove from KNOWN: {fixed}"


def test_option_objects_name_every_parameter_of_their_command() -> None:
    """`rebalance` and `latency probe` gather their parameters into one object with
    `Args(**locals())`; a parameter added to one and not the other fails here, not at run."""
    import dataclasses
    import inspect

    from vnettool.cli import latency

    for command, args in (
        (latency.rebalance, latency.RebalanceArgs),
        (latency.probe, latency.ProbeArgs),
    ):
        params = list(inspect.signature(inspect.unwrap(command)).parameters)
        assert params == [f.name for f in dataclasses.fields(args)]
