"""Which characters a value typed by a person may hold, and which an object name may hold.

Control characters (ESC starts terminal escape sequences), bidirectional overrides and
isolates (they reorder what a reviewer sees: 'Trojan Source'), zero-width characters and line
separators are invisible or rewrite the terminal, the log or the plan a human approves; they are
refused in every string of a playbook or desired-state document, whatever the key.

Names of vSphere objects are stricter still, following what vCenter and ESXi let an admin
type in their UI: no tab or newline, no leading or trailing space, no whitespace but the plain
space, no private-use or unassigned code points and no emoji, within the length each object
allows. A name that passes here is shown the same in the vSphere Client, in esxcli and in
vnettool's output.
"""

from __future__ import annotations

import unicodedata

_ALLOWED_CONTROLS = frozenset("\t\n")
_NAMES = {
    "\t": "a tab",
    "\n": "a newline",
    "\r": "a carriage return",
    "\x1b": "an escape character",
    "\x00": "a NUL character",
    "\u200b": "a zero-width space",
    "\u200c": "a zero-width non-joiner",
    "\u200d": "a zero-width joiner",
    "\u2060": "a word joiner",
    "\ufeff": "a zero-width no-break space (BOM)",
    "\u202a": "a left-to-right embedding",
    "\u202b": "a right-to-left embedding",
    "\u202c": "a pop directional formatting",
    "\u202d": "a left-to-right override",
    "\u202e": "a right-to-left override",
    "\u2066": "a left-to-right isolate",
    "\u2067": "a right-to-left isolate",
    "\u2068": "a first strong isolate",
    "\u2069": "a pop directional isolate",
    "\u200e": "a left-to-right mark",
    "\u200f": "a right-to-left mark",
    "\u2028": "a line separator",
    "\u2029": "a paragraph separator",
    "\u00a0": "a no-break space",
}


def describe(ch: str) -> str:
    """'a right-to-left override (U+202E)': what a user can search for and delete."""
    name = _NAMES.get(ch) or f"the character {unicodedata.name(ch, 'unnamed').lower()}"
    return f"{name} (U+{ord(ch):04X})"


def _hidden(ch: str) -> bool:
    """Invisible or terminal-rewriting: controls, format characters, line separators."""
    cat = unicodedata.category(ch)
    if cat == "Cc":
        return ch not in _ALLOWED_CONTROLS
    return cat in ("Cf", "Cs", "Zl", "Zp")


def hidden_char(text: str) -> tuple[int, str] | None:
    """(index, description) of the first character refused in any value, or None."""
    for i, ch in enumerate(text):
        if _hidden(ch):
            return i, describe(ch)
    return None


def _emoji(ch: str) -> bool:
    cp = ord(ch)
    if 0xFE00 <= cp <= 0xFE0F:  # variation selectors turn symbols into emoji
        return True
    return cp > 0xFFFF and unicodedata.category(ch) == "So"


def name_problem(text: str) -> str | None:
    """Why `text` cannot be the name of a vSphere object, or None when it can."""
    if text != text.strip():
        return "starts or ends with a space"
    for ch in text:
        cat = unicodedata.category(ch)
        if ch in "\t\n" or _hidden(ch):
            return f"holds {describe(ch)}"
        if cat.startswith("Z") and ch != " ":
            return f"holds {describe(ch)}; only the plain space is allowed"
        if cat in ("Co", "Cn"):
            return f"holds {describe(ch)}, a private-use or unassigned character"
        if _emoji(ch):
            return f"holds {describe(ch)}; vSphere object names cannot hold emoji"
    return None
