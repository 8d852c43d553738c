"""The Topology tab: per cluster, the picture `vnettool topology --cluster C` draws.

A reviewer reading the workbook (often printed, or opened where vnettool is not installed)
sees the network's shape next to the findings about it: hosts → switches → uplinks →
neighbour switches, port groups with VLANs and VM counts. The pictures are PNGs rendered by
Graphviz, embedded with openpyxl, one under the other with the cluster's name above each;
wide pictures are scaled to a printable width (the layout groups identical hosts, so even
a 1,000-host cluster stays legible at that size). Without Graphviz's `dot` program the tab
says so and how to get the picture, instead of failing the audit.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

from openpyxl import Workbook
from openpyxl.drawing.image import Image
from openpyxl.styles import Font

from vnettool.audit.workbook.printing import print_setup
from vnettool.impact.topology import build_topology
from vnettool.models.inventory import Inventory

TITLE = "Topology"
MAX_WIDTH_PX = 1600  # about a landscape A3/ledger page at print resolution
MAX_HEIGHT_PX = 20000
ROW_PX = 20  # openpyxl's default row height (15 pt) in pixels


def _scopes(inv: Inventory) -> Iterator[tuple[str, str | None]]:
    """(title, cluster) per cluster; standalone hosts (no cluster) get one picture too."""
    for name in sorted({h.cluster for h in inv.hosts if h.cluster}):
        yield f"Cluster {name}", name
    if any(not h.cluster for h in inv.hosts):
        yield "Hosts outside clusters", ""


def render_pngs(inv: Inventory) -> list[tuple[str, bytes | None]]:
    """(title, PNG) per cluster; the PNG is None when Graphviz's `dot` is not installed."""
    import graphviz

    out: list[tuple[str, bytes | None]] = []
    for title, cluster in _scopes(inv):
        if cluster == "":
            sub = inv.model_copy(update={"hosts": [h for h in inv.hosts if not h.cluster]})
            g = build_topology(sub)
        else:
            g = build_topology(inv, cluster=cluster)
        try:
            out.append((title, g.pipe(format="png")))
        except graphviz.ExecutableNotFound:
            out.append((title, None))
    return out


def _scaled(png: bytes) -> Image:
    img = Image(io.BytesIO(png))  # openpyxl reads the size through Pillow
    w, h = int(img.width), int(img.height)
    k = min(1.0, MAX_WIDTH_PX / max(1, w), MAX_HEIGHT_PX / max(1, h))
    img.width, img.height = max(1, int(w * k)), max(1, int(h * k))
    return img


def write_topology(wb: Workbook, inv: Inventory) -> None:
    """Append the Topology tab to a write-only workbook."""
    ws = wb.create_sheet(TITLE)
    print_setup(ws, header_rows=0)  # pictures scaled to the page width, one under the other
    row = 1
    pictures = render_pngs(inv)
    if not pictures:
        ws.append(["No hosts in this inventory: nothing to draw."])
        return
    for title, png in pictures:
        ws.append([_bold(ws, title)])
        row += 1
        if png is None:
            ws.append(
                [
                    "Graphviz's `dot` program is not installed where this audit ran (apt-get "
                    "install graphviz); `vnettool topology --out F.dot` works without it."
                ]
            )
            ws.append([])
            row += 2
            continue
        img = _scaled(png)
        img.anchor = f"A{row}"
        ws.add_image(img)
        rows = -(-img.height // ROW_PX) + 1  # the picture's height in rows, and a gap
        for _ in range(rows):
            ws.append([])
        row += rows


def _bold(ws: object, text: str) -> object:
    from openpyxl.cell import WriteOnlyCell

    from vnettool.audit.workbook.sheet import safe

    cell = WriteOnlyCell(ws, value=safe(text))  # type: ignore[arg-type]
    cell.font = Font(bold=True, size=13)
    return cell
