"""The Network screen: a lazy tree of the virtual network, a detail pane, and a filter box.

Children are created when a node is first expanded, so a 1,000-host estate opens with a few
datacenter nodes. A live update rebuilds only the visible part: the expanded nodes are
re-opened by key and the cursor goes back to the node it was on.
"""

from __future__ import annotations

from typing import Any, cast

from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Input, Static, Tree
from textual.widgets._tree import TOGGLE_STYLE
from textual.widgets.tree import TreeNode

from vnettool.tui.fit import fit_name_first, fit_suffix
from vnettool.tui.messages import AppView, OpenVmotion
from vnettool.tui.model import Key, NetIndex, Node

PLACEHOLDER = ("…",)


class NetTree(Tree[Key]):
    """The tree, with labels fitted to the width it has: a node's name is cut in the middle
    and its suffix (`vlan 4095`) kept whole, so a narrow terminal never shows `vlan 1` for
    VLAN 10 or `DC0_C0_H1` for DC0_C0_H12 (the viewport would cut the tail)."""

    BINDINGS = [
        Binding("right", "expand_node", "Expand", show=False),
        Binding("left", "collapse_node", "Collapse", show=False),
    ]

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.parts: dict[int, tuple[Node, str]] = {}  # node id -> (model node, style)

    def add_model(
        self, parent: TreeNode[Key], n: Node, style: str = "", **kw: Any
    ) -> TreeNode[Key]:
        child = parent.add(Text(_plain(n), style=style), data=n.key, **kw)
        self.parts[child.id] = (n, style)
        return child

    def clear(self) -> NetTree:
        self.parts = {}
        super().clear()
        return self

    def render_label(self, node: TreeNode[Key], base_style: Style, style: Style) -> Text:
        part = self.parts.get(node.id)
        width = self.scrollable_content_region.width
        if part is None or width <= 0:
            return super().render_label(node, base_style, style)
        n, extra = part
        depth, p = 0, node.parent
        while p is not None and p is not self.root:
            depth, p = depth + 1, p.parent
        toggle = 2 if node.allow_expand else 0  # "▶ "
        room = width - depth * self.guide_depth - toggle - (len(n.icon) + 1 if n.icon else 0)
        fit = fit_name_first if n.name_first else fit_suffix
        sep = " " if n.name_first else "  "
        label = Text((f"{n.icon} " if n.icon else "") + fit(n.name, n.suffix, max(room, 4), sep))
        label.stylize(extra)
        label.stylize(style)
        if node.allow_expand:
            icon = self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE
            return Text.assemble((icon, base_style + TOGGLE_STYLE), label)
        return Text.assemble(("", base_style), label)

    def action_expand_node(self) -> None:
        node = self.cursor_node
        if node is not None and node.allow_expand and not node.is_expanded:
            node.expand()

    def action_collapse_node(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        if node.is_expanded:
            node.collapse()
        elif node.parent is not None and node.parent is not self.root:
            self.move_cursor(node.parent)
            node.parent.collapse()


class NetworkPane(Vertical):
    BINDINGS = [
        Binding("slash", "focus_filter", "Filter"),
        Binding("m", "migrate", "Migrate VM"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]
    DEFAULT_CSS = """
    NetworkPane Horizontal { height: 1fr; }
    NetworkPane NetTree { width: 1fr; min-width: 30; }
    NetworkPane #net-detail-scroll { width: 1fr; border-left: solid $primary-darken-2; }
    NetworkPane #net-info { height: 1; color: $text-muted; }
    NetworkPane #net-detail { width: 100%; }  /* rendered to the pane width: tables fold */
    """

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.index: NetIndex | None = None
        self.filter_text = ""
        self.selected: Key | None = None

    @property
    def vapp(self) -> AppView:
        return cast("AppView", self.app)

    def compose(self) -> ComposeResult:
        yield Input(
            placeholder="filter: host, switch, port group, VM, vmk… (/)",
            id="net-filter",
            classes="compact",
        )
        with Horizontal():
            tree: NetTree = NetTree("vCenter", id="net-tree")
            tree.show_root = False
            yield tree
            with VerticalScroll(id="net-detail-scroll"):
                yield Static("Select a node to see its details.", id="net-detail")
        yield Static("", id="net-info")

    def on_resize(self) -> None:
        """Narrow terminal: shallower indentation and a narrower detail pane, so the tree
        keeps room for whole names (labels are fitted to what is left, NetTree)."""
        narrow = self.size.width < 100
        self.net_tree.guide_depth = 3 if narrow else 4
        self.query_one("#net-detail-scroll").styles.width = 36 if narrow else "1fr"

    @property
    def net_tree(self) -> NetTree:
        return self.query_one(NetTree)

    # -- inventory ---------------------------------------------------------------------------
    def show(self, index: NetIndex) -> None:
        """Put a (new) inventory on screen, keeping what was open and selected."""
        first = self.index is None
        self.index = index
        if self.filter_text:
            self.run_filter(self.filter_text)
            self._detail(self.selected)  # the detail follows the live inventory, filter or not
            return
        tree = self.net_tree
        expanded = {n.data for n in _all_nodes(tree.root) if n.is_expanded and n.data}
        cursor = tree.cursor_node.data if tree.cursor_node else None
        tree.clear()
        self._add(tree.root, index.roots())
        if first and not expanded:
            # open the first datacenter and its first cluster: the user sees hosts at once
            for n in list(tree.root.children)[:1]:
                n.expand()
                self._populate(n)
                for c in list(n.children)[:1]:
                    if c.data and c.data[0] == "cluster":
                        c.expand()
                        self._populate(c)
            roots = index.roots()
            self.selected = roots[0].key if roots else None
            tree.call_after_refresh(setattr, tree, "cursor_line", 0)
        else:
            self._reopen(tree.root, expanded)
        if cursor:
            self._move_to(cursor)
        self._detail(self.selected)
        self._info()

    def _add(self, parent: TreeNode[Key], nodes: list[Node]) -> None:
        tree = self.net_tree
        for n in nodes:
            child = tree.add_model(parent, n, allow_expand=n.expandable)
            if n.expandable:
                child.add_leaf("…", data=PLACEHOLDER)

    def _reopen(self, node: TreeNode[Key], expanded: set[Key]) -> None:
        for c in list(node.children):
            if c.data in expanded:
                c.expand()
                self._populate(c)
                self._reopen(c, expanded)

    def _populate(self, node: TreeNode[Key]) -> None:
        kids = list(node.children)
        if self.index is None or node.data is None:
            return
        if len(kids) == 1 and kids[0].data == PLACEHOLDER:
            node.remove_children()
            self._add(node, self.index.children(node.data))

    def _move_to(self, key: Key) -> None:
        tree = self.net_tree
        for n in _all_nodes(tree.root):
            if n.data == key:
                # after the refresh: lines of nodes added in this frame are not laid out yet
                tree.call_after_refresh(tree.move_cursor, n)
                return

    @on(Tree.NodeExpanded, "#net-tree")
    def _expanded(self, event: Tree.NodeExpanded[Key]) -> None:
        self._populate(event.node)

    @on(Tree.NodeHighlighted, "#net-tree")
    def _highlighted(self, event: Tree.NodeHighlighted[Key]) -> None:
        data = event.node.data
        if data and data != PLACEHOLDER:
            self.selected = data
            self._detail(data)

    def _detail(self, key: Key | None) -> None:
        if key is None or self.index is None:
            return
        self.query_one("#net-detail", Static).update(self.index.details(key))

    def _info(self, extra: str = "") -> None:
        if self.index is None:
            return
        inv = self.index.inv
        text = (
            f"{len(inv.hosts)} hosts · {len(inv.standard_port_groups)} std PGs · "
            f"{len(inv.distributed_port_groups)} DV PGs · {len(inv.vms)} VMs"
        )
        self.query_one("#net-info", Static).update(text + (f" · {extra}" if extra else ""))

    # -- filter --------------------------------------------------------------------------------
    @on(Input.Changed, "#net-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value
        if self.index is None:
            return
        if not event.value.strip():
            idx, self.index = self.index, None
            self.show(idx)
            return
        self.run_filter(event.value)

    @on(Input.Submitted, "#net-filter")
    def _filter_submitted(self) -> None:
        self.net_tree.focus()

    @work(thread=True, exclusive=True, group="net-filter", description="net-filter")
    def run_filter(self, text: str) -> None:
        """Search in a thread (a full walk of a large estate takes a moment), then show hits."""
        index = self.index
        if index is None:
            return
        hits, truncated = index.search(text)
        self.app.call_from_thread(self._show_hits, index, text, hits, truncated)

    def _show_hits(
        self,
        index: NetIndex,
        text: str,
        hits: list[tuple[Node, list[Node]]],
        truncated: bool,
    ) -> None:
        if text != self.filter_text or index is not self.index:
            return  # a newer filter or inventory superseded this search
        tree = self.net_tree
        tree.clear()
        made: dict[Key, TreeNode[Key]] = {}
        for node, path in hits:
            parent = tree.root
            for n in path:
                if n.key not in made:
                    made[n.key] = tree.add_model(parent, n, expand=True)
                parent = made[n.key]
            if node.key not in made:
                made[node.key] = tree.add_model(parent, node, "bold", allow_expand=node.expandable)
                if node.expandable:
                    made[node.key].add_leaf("…", data=PLACEHOLDER)
        self._info(f"{len(hits)}{'+' if truncated else ''} matches for '{text}'")
        if hits:
            self._move_to(hits[0][0].key)

    def action_focus_filter(self) -> None:
        self.query_one("#net-filter", Input).focus()

    def action_clear_filter(self) -> None:
        self.query_one("#net-filter", Input).value = ""
        self.net_tree.focus()

    def action_migrate(self) -> None:
        if self.index is None or self.selected is None:
            return
        vm = self.index.vm_of(self.selected)
        if vm is None:
            self.app.notify("select a VM NIC in the tree first", severity="warning")
            return
        self.post_message(OpenVmotion(vm.name))


def _all_nodes(root: TreeNode[Key]) -> list[TreeNode[Key]]:
    out: list[TreeNode[Key]] = []
    stack = list(root.children)
    while stack:
        n = stack.pop()
        out.append(n)
        stack.extend(n.children)
    return out


def _plain(n: Node) -> str:
    return f"{n.icon} {n.label}" if n.icon else n.label
