"""Fitting text into a terminal cell without lying: cut the middle of a name, never a number.

A cut tail hides what tells objects apart (`DC0_C1_H1…` is twelve hosts) and a cut number
reads as another number (`vlan 1` for VLAN 10). So a name that must be shortened loses its
middle (`DC0_C1…_H12`), the cut never splits a run of digits (a number is shown whole or not
at all), and a suffix such as `vlan 4095` is kept whole. Long prose wraps at phrase
boundaries (`wrap_phrases`), never inside a phrase.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from rich.text import Text

ELLIPSIS = "…"


def _head_end(text: str, end: int) -> int:
    """Move a head cut at `end` back so that it does not end inside a digit run."""
    while 0 < end < len(text) and text[end - 1].isdigit() and text[end].isdigit():
        end -= 1
    return end


def _tail_start(text: str, start: int) -> int:
    """Move a tail cut at `start` forward so that it does not start inside a digit run."""
    while 0 < start < len(text) and text[start - 1].isdigit() and text[start].isdigit():
        start += 1
    return start


def fit_middle(text: str, width: int) -> str:
    """`text` in at most `width` cells: whole when it fits, else head + `…` + tail with the
    tail favoured (the leaf of a path, the host number), no digit run split."""
    if cell_len(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    room = width - 1
    tail_n = (room + 1) // 2
    head_n = room - tail_n
    head = _head_end(text, head_n)
    tail = _tail_start(text, len(text) - tail_n)
    # give the cells a number's cut freed on one side to the other side, still on a boundary
    spare = room - head - (len(text) - tail)
    if spare > 0:
        tail = _tail_start(text, max(head, tail - spare))
        spare = room - head - (len(text) - tail)
        if spare > 0:
            head = _head_end(text, min(tail, head + spare))
    return text[:head] + ELLIPSIS + text[tail:]


def fit_name_first(name: str, rest: str, width: int, sep: str = " ") -> str:
    """`name` + `sep` + `rest` in `width` cells where the name is the key (a VM, a device):
    the name stays whole and the rest is cut in its middle; a name that alone is too wide is
    cut in its middle and the rest left out."""
    whole = f"{name}{sep}{rest}" if rest else name
    if cell_len(whole) <= width:
        return whole
    room = width - cell_len(name) - cell_len(sep)
    if rest and room >= 6:
        return f"{name}{sep}{fit_middle(rest, room)}"
    return fit_middle(name, width)


def fit_suffix(name: str, suffix: str, width: int, sep: str = "  ") -> str:
    """`name` + `sep` + `suffix` in `width` cells: the suffix (`vlan 4095`, a state) stays
    whole and the name is cut in the middle, down to 4 cells; below that the separator
    narrows to one space, and only then is the whole cut in the middle (never a number)."""
    if not suffix:
        return fit_middle(name, width)
    for gap in (sep, " "):
        whole = f"{name}{gap}{suffix}"
        if cell_len(whole) <= width:
            return whole
        room = width - cell_len(gap) - cell_len(suffix)
        if room >= min(4, cell_len(name)):
            return f"{fit_middle(name, room)}{gap}{suffix}"
    return fit_middle(f"{name} {suffix}", width)


def fit_path(path: str, width: int, common: dict[str, int] | None = None, sep: str = "/") -> str:
    """An object path (`DC0/DC0_C0/DC0_C0_H10/vSwitch0/VM Network`) in `width` cells by
    leaving out whole segments, the most common ones first (`common`: how many rows of the
    column have each segment), never the leaf nor the rarest segment (the one that tells
    rows apart): `DC0_C0_H10/…/VM Network`. Leading segments left out are simply
    omitted, ones in the middle read `…`. What is still too wide is cut in the middle
    (fit_middle)."""
    if cell_len(path) <= width:
        return path
    segs = path.split(sep)
    if len(segs) == 1:
        return fit_middle(path, width)
    count = common or {}
    keep = [True] * len(segs)
    order = sorted(range(len(segs) - 1), key=lambda i: (-count.get(segs[i], 0), i))
    order = order[:-1]  # the rarest segment (the one that tells rows apart) stays too

    def shown() -> str:
        out: list[str] = []
        for i, seg in enumerate(segs):
            if keep[i]:
                out.append(seg)
            elif out and out[-1] != ELLIPSIS:
                out.append(ELLIPSIS)
        return sep.join(out)

    for i in order:
        keep[i] = False
        text = shown()
        if cell_len(text) <= width:
            return text
    text = shown()
    leaf = segs[-1]
    room = width - (cell_len(text) - cell_len(leaf))
    if room >= 4:  # the distinguishing segment whole, the leaf cut in its middle
        return text[: len(text) - len(leaf)] + fit_middle(leaf, room)
    return fit_middle(text, width)


def segment_counts(paths: Sequence[str], sep: str = "/") -> dict[str, int]:
    """How many of `paths` contain each segment (for fit_path)."""
    out: dict[str, int] = {}
    for p in paths:
        for seg in set(p.split(sep)):
            out[seg] = out.get(seg, 0) + 1
    return out


def fit_words(text: str, width: int) -> str:
    """Prose (a title) in `width` cells: cut at the end, at a word boundary when one is near,
    never inside a number. For text whose tail is not what tells rows apart."""
    if cell_len(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    end = _head_end(text, width - 1)
    space = text.rfind(" ", 0, end + 1)
    if space >= (width - 1) * 2 // 3:
        end = space
    return text[:end].rstrip() + ELLIPSIS


def wrap_phrases(
    phrases: Sequence[str], width: int, sep: str = "   ", indent: int = 0
) -> list[str]:
    """Lay `phrases` out on lines of at most `width` cells, breaking only between phrases;
    continuation lines start `indent` cells in. A phrase longer than a line gets its own."""
    lines: list[str] = []
    line = ""
    for p in phrases:
        if not line:
            line = (" " * indent if lines else "") + p
        elif cell_len(line) + cell_len(sep) + cell_len(p) <= width:
            line += sep + p
        else:
            lines.append(line)
            line = " " * indent + p
    if line:
        lines.append(line)
    return lines


def wrap_texts(phrases: Sequence[Text], width: int, sep: str = " · ", indent: int = 0) -> Text:
    """`wrap_phrases` for styled phrases: one Text, lines broken only between phrases."""
    out = Text()
    used = 0
    for p in phrases:
        n = p.cell_len
        if used and used + len(sep) + n > width:
            out.append("\n" + " " * indent)
            used = indent
        elif used:
            out.append(sep)
            used += len(sep)
        out.append_text(p)
        used += n
    return out
