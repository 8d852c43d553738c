"""A latency figure as people read it: one cell renderer for `vnettool latency probe|watch`
and the TUI's Latency screen (as engine/render.py is for plans).

It returns a rich `Text` (styles, no markup): green below `warn`, yellow from `warn`, red
from `crit` or from 50 % loss; `lost` when nothing came back, `MTU✗` when a DF probe of the
asked MTU failed, `·` for a pair not probed (a host with itself, a skipped host).
"""

from __future__ import annotations

from rich.text import Text

from vnettool.models.latency import LatencySample

WARN_MS = 1.0
CRIT_MS = 10.0


def latency_cell(s: LatencySample | None, warn: float = WARN_MS, crit: float = CRIT_MS) -> Text:
    """One matrix cell, coloured by the thresholds."""
    if s is None:
        return Text("·", style="dim")
    if s.mtu_ok is False:
        return Text("MTU✗", style="bold red")
    if s.received == 0:
        return Text("lost", style="bold red")
    ms = (s.rtt_avg_us or 0.0) / 1000.0
    style = "red" if ms >= crit else "yellow" if ms >= warn else "green"
    txt = f"{ms:.2f}"
    if s.loss_pct:
        txt += f" {s.loss_pct:.0f}%"
        style = "red" if s.loss_pct >= 50 else "yellow"
    return Text(txt, style=style)
