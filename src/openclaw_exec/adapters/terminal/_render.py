"""
The screen as lines of text, with no I/O.

:func:`render_board` draws the full-screen surface, :func:`describe_pending` the line mode.
A frame is exactly *height* lines of at most *width* cells; the cursor's row is listed so the
terminal layer can show it in reverse video. Everything from a request passes through
:func:`~openclaw_exec.adapters.terminal._text.visible` first. The command is wrapped, never
cut: on a narrow terminal the end of what runs is still on screen (the analysis table and the
list rows are cut with ``…`` instead).
"""

from __future__ import annotations

import attrs

from openclaw_exec.adapters.terminal._model import (
    ApprovalAnalysis,
    ApprovalBoard,
    PendingRequest,
    format_countdown,
)
from openclaw_exec.adapters.terminal._text import fit, visible, wrap

__all__ = [
    "KEY_HELP",
    "MIN_HEIGHT",
    "MIN_WIDTH",
    "Frame",
    "describe_pending",
    "detail_lines",
    "render_board",
]

MIN_WIDTH = 20
MIN_HEIGHT = 6
KEY_HELP = (
    "o once  a always  d deny  space mark  m mark similar  * all  u unmark  "
    "j/k move  PgUp/PgDn detail  q quit"
)


@attrs.frozen
class Frame:
    """One screenful: *lines* (exactly the terminal's height) and the rows to highlight."""

    lines: tuple[str, ...]
    highlight: frozenset[int] = frozenset()


def _who(item: PendingRequest) -> str:
    agent = visible(item.agent_id) if item.agent_id else "-"
    if item.session_key:
        return f"{agent}/{visible(item.session_key)}"
    return agent


def _row(item: PendingRequest, board: ApprovalBoard, now_ms: int, width: int) -> str:
    mark = "*" if item.id in board.marked else " "
    countdown = format_countdown(item.remaining_ms(now_ms))
    text = f"{mark} {countdown:>7}  {visible(item.slug)}  {_who(item)}  {visible(item.command)}"
    return fit(text, width)


def _analysis_lines(analysis: ApprovalAnalysis | None, width: int) -> list[str]:
    if analysis is None:
        return ["analysis: (analysing…)"]
    if analysis.error is not None:
        return [fit(f"analysis unavailable: {visible(analysis.error)}", width)]
    lines = [fit(visible(analysis.verdict), width)] if analysis.verdict else []
    lines.extend(fit(visible(line), width) for line in analysis.table)
    return lines


def _persist_lines(analysis: ApprovalAnalysis | None, width: int) -> list[str]:
    if analysis is None or analysis.error is not None:
        return ["allow-always would persist: (not analysed here)"]
    if not analysis.persist:
        return ["allow-always would persist: nothing (no durable pattern for this command)"]
    agent = visible(analysis.agent_id) if analysis.agent_id else "*"
    lines = [f"allow-always would persist (agent {agent}):"]
    for grant in analysis.persist:
        bound = f"  argPattern {visible(grant.arg_pattern)}" if grant.arg_pattern else ""
        text = f"  {visible(grant.pattern)}{bound}  ({visible(grant.preview)})"
        lines.extend(wrap(text, width, indent="    "))
    return lines


def detail_lines(
    item: PendingRequest, analysis: ApprovalAnalysis | None, now_ms: int, width: int
) -> list[str]:
    """The detail pane of one request: identity, command (wrapped whole), analysis, grants."""
    countdown = format_countdown(item.remaining_ms(now_ms))
    lines = [
        fit(f"id {visible(item.id)}  expires in {countdown}  via {visible(item.source)}", width),
        fit(
            f"agent {visible(item.agent_id or '-')}  session {visible(item.session_key or '-')}"
            f"  host {visible(item.host or '-')}  security {visible(item.security or '-')}"
            f"  ask {visible(item.ask or '-')}",
            width,
        ),
        fit(f"cwd {visible(item.cwd or '-')}", width),
    ]
    lines.extend(wrap(f"command: {visible(item.command)}", width, indent="  "))
    if item.argv is not None:
        shown = " ".join(repr(a) if not a or " " in a else a for a in item.argv)
        lines.extend(wrap(f"argv: {visible(shown)}", width, indent="  "))
    if item.resolved_path:
        lines.append(fit(f"resolved: {visible(item.resolved_path)}", width))
    offered = " ".join(d.value for d in item.allowed_decisions)
    lines.append(fit(f"offered: {offered}", width))
    lines.extend(_analysis_lines(analysis, width))
    lines.extend(_persist_lines(analysis, width))
    return [fit(line, width) for line in lines]  # wrapped lines already fit: unchanged


def render_board(board: ApprovalBoard, now_ms: int, width: int, height: int) -> Frame:
    """
    The full screen for *board* at *now_ms* on a *width* x *height* terminal.

    Layout: header; the list (at most a third of the screen, scrolled to the cursor); a rule;
    the detail pane of the request under the cursor (scrolled by ``detail_offset``); the
    status or confirmation line; the key help.
    """
    if width < MIN_WIDTH or height < MIN_HEIGHT:
        text = f"terminal too small ({width}x{height}); need {MIN_WIDTH}x{MIN_HEIGHT}"
        return Frame(tuple([fit(text, width)] + [""] * (height - 1)) if height > 0 else ())
    items = board.pending
    marked = f", {len(board.marked)} marked" if board.marked else ""
    via = f" | {', '.join(board.sources)}" if board.sources else ""
    header = f"openclaw-exec approve: {len(items)} pending{marked}{via}"
    lines: list[str] = [fit(header, width)]
    highlight: set[int] = set()
    list_room = max(1, min(len(items), (height - 4) // 3)) if items else 1
    if not items:
        lines.append(fit("  (no pending requests; waiting...)", width))
    else:
        top = min(max(board.cursor - list_room + 1, 0), max(len(items) - list_room, 0))
        top = min(top, board.cursor)
        for index in range(top, min(top + list_room, len(items))):
            if index == board.cursor:
                highlight.add(len(lines))
            prefix = ">" if index == board.cursor else " "
            lines.append(prefix + _row(items[index], board, now_ms, width - 1))
        hidden = len(items) - list_room
        if hidden > 0:
            lines[0] = fit(f"{header} ({hidden} more: j/k)", width)
    lines.append("-" * width)
    footer_room = 2
    detail_room = height - len(lines) - footer_room
    current = board.current
    if current is not None and detail_room > 0:
        detail = detail_lines(current, board.analyses.get(current.id), now_ms, width)
        offset = min(board.detail_offset, max(len(detail) - 1, 0))
        shown = detail[offset : offset + detail_room]
        if offset + detail_room < len(detail) and shown:
            shown[-1] = fit(f"... {len(detail) - offset - detail_room + 1} more lines: PgDn", width)
        lines.extend(shown)
    while len(lines) < height - footer_room:
        lines.append("")
    if board.confirm is not None:
        status = board.confirm.question
        highlight.add(len(lines))
    else:
        status = board.message
    lines.append(fit(visible(status), width))
    lines.append(fit(KEY_HELP, width))
    return Frame(tuple(lines[:height]), frozenset(h for h in highlight if h < height))


def describe_pending(item: PendingRequest, analysis: ApprovalAnalysis | None, now_ms: int) -> str:
    """The line mode's block for one request: a ``pending`` line, then indented details."""
    countdown = format_countdown(item.remaining_ms(now_ms))
    head = (
        f"pending {visible(item.id)} expires-in {countdown} agent={visible(item.agent_id or '-')}"
        f" session={visible(item.session_key or '-')} cwd={visible(item.cwd or '-')}: "
        f"{visible(item.command)}"
    )
    body = [f"  {line}" for line in _analysis_lines(analysis, 10_000)]
    body.extend(f"  {line}" for line in _persist_lines(analysis, 10_000))
    return "\n".join([head, *body]) + "\n"
