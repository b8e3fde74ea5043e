"""
The prototype compiled walker, plugged in front of ``parse_raw`` (issue #16).

``install()`` replaces ``parse_raw`` where the evaluator imported it with
:func:`parse_raw_fast`: texts that pass ``parse_raw``'s own pre-checks (ASCII, at most
512 characters so no cap can apply, no refused character, not blank) are walked by the
C module first; whatever it does not accept, and any segment whose builtin fails
analysis, goes through the Python ``parse_raw`` unchanged, so every refusal and its
reason come from the same code as before. ``uninstall()`` puts the original back.
Build the module with ``build.sh``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _fastwalk

from openclaw_exec.analysis import _evaluate, _segment, _shell
from openclaw_exec.analysis._builtins import check_builtin

_ORIGINAL = _shell.parse_raw
_FORBIDDEN = _shell._FORBIDDEN_CHARS  # noqa: SLF001
_walk = _fastwalk.walk


def parse_raw_fast(text: str) -> tuple[_shell.RawParts, _shell.ParsedCommand | None]:
    """``parse_raw``, the compiled walker first (see the module docstring)."""
    if len(text) <= 512 and text.isascii() and _FORBIDDEN.search(text) is None:
        parts = _walk(text.encode("ascii"), text.count("|") >= 2)
        if parts is not None:
            for segs, _op in parts:
                for seg in segs:
                    found = check_builtin(seg[0])
                    if found is not None and found.fails_analysis:
                        return _ORIGINAL(text)
            return parts, None
    return _ORIGINAL(text)


def install() -> None:
    """Use :func:`parse_raw_fast` in the evaluator (``_evaluate`` and ``_segment``)."""
    _evaluate.parse_raw = parse_raw_fast  # type: ignore[attr-defined]
    _segment.parse_raw = parse_raw_fast  # type: ignore[attr-defined]


def uninstall() -> None:
    """Put the original ``parse_raw`` back."""
    _evaluate.parse_raw = _ORIGINAL  # type: ignore[attr-defined]
    _segment.parse_raw = _ORIGINAL  # type: ignore[attr-defined]
