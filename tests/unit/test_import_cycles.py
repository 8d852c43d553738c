"""No import cycle inside vnettool, imports inside functions included.

import-linter's layers contract (pyproject.toml) only checks imports *between* the layers it
names; two modules of one layer (two CLI commands, say) can still import each other, and a
cycle hidden in function-level imports works until someone moves the import to the top of a
module. Here the whole package's import graph is built with grimp (what import-linter builds on:
every `import` statement it finds, at module level, inside functions and under TYPE_CHECKING)
and every strongly connected component of more than one module is a failure: the message
names the modules and the import lines that tie them together, so the fix (move the shared
piece into a module below both) is clear.
"""

from __future__ import annotations

import grimp

PACKAGE = "vnettool"


def import_graph() -> grimp.ImportGraph:
    # No cache: the graph must be of the files as they are now, and the test writes nothing.
    return grimp.build_graph(PACKAGE, cache_dir=None)


def cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected components with more than one module, each sorted, sorted.

    Two modules are in one component when each reaches the other: the component of `m` is
    what `m` imports (directly or not) that also imports `m` (directly or not)."""
    seen: set[str] = set()
    out: list[list[str]] = []
    for module in sorted(graph.modules):
        if module in seen:
            continue
        below = graph.find_downstream_modules(module)
        above = graph.find_upstream_modules(module)
        component = {module} | (below & above)
        seen |= component
        if len(component) > 1:
            out.append(sorted(component))
    return sorted(out)


def describe(graph: grimp.ImportGraph, component: list[str]) -> str:
    """The component's modules and each import between them, `importer:line -> imported`."""
    lines = [f"cycle between {', '.join(component)}:"]
    for importer in component:
        for imported in component:
            if importer == imported:
                continue
            for d in graph.get_import_details(importer=importer, imported=imported):
                lines.append(
                    f"  {importer}:{d['line_number']} -> {imported}  ({d['line_contents']})"
                )
    return "\n".join(lines)


def test_no_import_cycle_in_the_package() -> None:
    graph = import_graph()
    found = cycles(graph)
    assert not found, "\n".join(describe(graph, c) for c in found)


def test_the_graph_has_function_level_imports() -> None:
    """The check is only as good as its graph: it must see an import written inside a
    function (cli/common.py's `session_for` imports the vSphere connection when called)."""
    graph = import_graph()
    details = graph.get_import_details(
        importer="vnettool.cli.common", imported="vnettool.vsphere.connection"
    )
    assert details, "grimp did not record the function-level import in cli/common.py"
    assert any(d["line_contents"].startswith("from vnettool.vsphere.connection") for d in details)


def test_a_cycle_is_found_and_named() -> None:
    """The finder itself, on a graph with a known cycle (a -> b -> c -> a) and a module
    outside it (d, imported by a): one component, a b c, d not in it."""
    graph = grimp.ImportGraph()
    for name in ("p", "p.a", "p.b", "p.c", "p.d"):
        graph.add_module(name)
    for importer, imported, line in (
        ("p.a", "p.b", 3),
        ("p.b", "p.c", 4),
        ("p.c", "p.a", 5),
        ("p.a", "p.d", 6),
    ):
        graph.add_import(
            importer=importer,
            imported=imported,
            line_number=line,
            line_contents=f"from {imported.rpartition('.')[0]} import {imported[-1]}",
        )
    assert cycles(graph) == [["p.a", "p.b", "p.c"]]
    text = describe(graph, ["p.a", "p.b", "p.c"])
    assert "p.c:5 -> p.a  (from p import a)" in text
    assert "p.d" not in text
