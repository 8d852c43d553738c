"""A tab as a column table: each column is its header and the getter of its value, side by side.

RVTools tabs are wide (up to 42 columns) and their order is a contract with the tools that
parse them; with the header and the value on one line, adding or moving a column cannot shift
the data under another header.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

R = TypeVar("R")


def yes_no(v: bool | None) -> str | None:
    """RVTools writes booleans as the words True/False; unknown stays empty."""
    return None if v is None else ("True" if v else "False")


def joined(items: Iterable[Any] | None) -> str:
    return ", ".join(str(i) for i in items or [])


@dataclass(frozen=True)
class Col(Generic[R]):
    """One column: its header and how a row's value is read."""

    header: str
    get: Callable[[R], Any]
    width: int | None = None  # a printed tab's column width (characters); None: from the data

    @staticmethod
    def blank(header: str) -> Col[Any]:
        """An RVTools column vnettool does not read: kept for position, left empty."""
        return Col(header, lambda _row: None)


@dataclass(frozen=True)
class Tab(Generic[R]):
    """A sheet: name, columns, rows; `empty` is the one-cell row written when there are none;
    `wrap` marks the tabs a reviewer prints (Findings, Rules, PortGroupMatrix)."""

    name: str
    cols: Sequence[Col[R]]
    rows: Iterable[R]
    freeze: str = "A2"
    empty: str | None = None
    wrap: bool = False  # a tab people print: wrapped text, narrower columns, page setup
    print_cols: int | None = None  # the first columns that are printed (None: all)

    @property
    def headers(self) -> list[str]:
        return [c.header for c in self.cols]

    @property
    def widths(self) -> list[int | None]:
        return [c.width for c in self.cols]

    def values(self) -> Iterator[list[Any]]:
        seen = False
        for row in self.rows:
            seen = True
            yield [c.get(row) for c in self.cols]
        if not seen and self.empty is not None:
            yield [self.empty]
