r"""
Terminal-safe text: what an approval prompt may put on the approver's screen, and how wide it is.

A command is attacker-influenced text (an agent wrote it). Printed raw, an escape sequence in
it could move the cursor, rewrite the line the human reads or retitle the window, so the
approver would approve something else than what runs. Every string shown goes through
:func:`visible`: control characters (C0, DEL, C1), line and paragraph separators and the
invisible format characters OpenClaw's sanitiser escapes become ``\xNN`` / ``\u{XXXX}``
escapes. Widths are counted in terminal cells (wide East Asian characters take two,
combining marks none) so a line never wraps by surprise on a narrow terminal.
"""

from __future__ import annotations

import unicodedata

from openclaw_exec.protocol import sanitize_display_text

__all__ = ["cell_width", "fit", "visible", "wrap"]

_ELLIPSIS = "…"


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{{{code:04X}}}"


def visible(text: str) -> str:
    r"""
    *text* with everything a terminal would act on (or hide) made visible.

    ``\n`` becomes ``\x0a`` too: a prompt is one logical line per field, and a newline in a
    command is part of what runs, so it is shown, not obeyed.
    """
    text = sanitize_display_text(text)
    if text.isascii() and text.isprintable():
        return text
    out: list[str] = []
    for char in text:
        category = unicodedata.category(char)
        if category in {"Cc", "Cs", "Zl", "Zp"}:
            out.append(_escape(char))
        else:
            out.append(char)
    return "".join(out)


def _char_width(char: str) -> int:
    if unicodedata.combining(char) or unicodedata.category(char) in {"Mn", "Me"}:
        return 0
    return 2 if unicodedata.east_asian_width(char) in {"W", "F"} else 1


def cell_width(text: str) -> int:
    """How many terminal cells *text* (already :func:`visible`) takes."""
    if text.isascii():
        return len(text)
    return sum(_char_width(c) for c in text)


def fit(text: str, width: int) -> str:
    """*text* cut to at most *width* cells, ending in ``…`` when something was cut."""
    if width <= 0:
        return ""
    if cell_width(text) <= width:
        return text
    out: list[str] = []
    used = 0
    for char in text:
        w = _char_width(char)
        if used + w > width - 1:
            break
        out.append(char)
        used += w
    return "".join(out) + _ELLIPSIS


def wrap(text: str, width: int, *, indent: str = "") -> list[str]:
    """
    *text* broken into lines of at most *width* cells; nothing is dropped.

    Used for the command itself: a narrow terminal must never hide the end of what runs.
    Continuation lines start with *indent*.
    """
    width = max(width, 2)  # room for one wide character
    if cell_width(indent) + 2 > width:
        indent = ""  # too narrow to indent: keep every character instead
    room = width - cell_width(indent)
    lines: list[str] = []
    current: list[str] = []
    used = 0
    limit = width
    for char in text:
        w = _char_width(char)
        if used + w > limit and current:
            lines.append("".join(current))
            current, used, limit = [indent], cell_width(indent), cell_width(indent) + room
        current.append(char)
        used += w
    lines.append("".join(current))
    return lines
