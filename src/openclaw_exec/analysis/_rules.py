"""
Allowlist patterns.

A port of OpenClaw's ``exec-allowlist-pattern.ts``, with the stricter choices listed in
``docs/differences.md``. Safe bins live in ``_safe_bins.py`` and inline-eval detection in
``_inline_eval.py`` (both re-exported here for old imports).
"""

from __future__ import annotations

import functools
import re
import sys

import attrs

from openclaw_exec.analysis._inline_eval import (
    INTERPRETER_NAMES,
    InlineEvalHit,
    detect_inline_eval,
    is_interpreter_like,
)
from openclaw_exec.analysis._safe_bins import (
    DEFAULT_SAFE_BIN_PROFILES,
    DEFAULT_SAFE_BIN_TRUSTED_DIRS,
    DEFAULT_SAFE_BINS,
    SafeBinProfile,
    validate_safe_bin_argv,
)

__all__ = [
    "DEFAULT_SAFE_BINS",
    "DEFAULT_SAFE_BIN_PROFILES",
    "DEFAULT_SAFE_BIN_TRUSTED_DIRS",
    "INTERPRETER_NAMES",
    "CompiledPattern",
    "InlineEvalHit",
    "SafeBinProfile",
    "compile_pattern",
    "detect_inline_eval",
    "is_interpreter_like",
    "validate_safe_bin_argv",
]

_WINDOWS = sys.platform == "win32"

# --------------------------------------------------------------------------- patterns


@attrs.frozen
class CompiledPattern:
    """
    An allowlist pattern compiled once.

    Attributes:
        pattern: The pattern as written (trimmed).
        kind: ``"any"`` (bare ``*``), ``"path"`` (a glob over resolved paths),
            ``"name"`` (a bare name: matches PATH lookups only, when enabled),
            ``"command"`` (an exact-command grant ``=command:<hex>``) or
            ``"invalid"`` (never matches; see :attr:`problem`).
        regex: The compiled glob for ``"path"`` / ``"name"`` patterns.
        wildcard: The pattern contains ``*`` or ``?``.
        problem: Why an ``"invalid"`` pattern never matches.
    """

    pattern: str
    kind: str
    regex: re.Pattern[str] | None = attrs.field(default=None, eq=False, repr=False)
    wildcard: bool = False
    problem: str | None = None

    def matches_path(self, path: str) -> bool:
        """Whether a resolved absolute path matches (only ``"path"`` patterns)."""
        return (
            self.kind == "path"
            and self.regex is not None
            and self.regex.fullmatch(path) is not None
        )

    def matches_name(self, name: str) -> bool:
        """Whether a bare executable name matches (only ``"name"`` patterns)."""
        return (
            self.kind == "name"
            and self.regex is not None
            and self.regex.fullmatch(name) is not None
        )


def _glob_regex(glob: str) -> re.Pattern[str]:
    out: list[str] = []
    i = 0
    n = len(glob)
    while i < n:
        ch = glob[i]
        if ch == "*":
            if i + 1 < n and glob[i + 1] == "*":
                out.append(".*")
                i += 2
                continue
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out), re.IGNORECASE if _WINDOWS else 0)


@functools.lru_cache(maxsize=4096)
def compile_pattern(pattern: str, home: str | None = None) -> CompiledPattern:
    """
    Compile an allowlist pattern (cached).

    Globs: ``**`` any run of characters, ``*`` any run without ``/``, ``?`` one
    character other than ``/``, everything else literal, anchored at both ends;
    case-sensitive except on Windows. A leading ``~`` or ``~/`` is expanded with
    *home*. Patterns with ``.``/``..`` components, ``//``, a backslash or an
    unexpandable ``~`` never match (fail closed).
    """
    trimmed = pattern.strip()
    if not trimmed:
        return CompiledPattern(pattern=trimmed, kind="invalid", problem="empty pattern")
    if trimmed == "*":
        return CompiledPattern(pattern=trimmed, kind="any", wildcard=True)
    if trimmed.startswith("=command:"):
        return CompiledPattern(pattern=trimmed, kind="command")
    wildcard = "*" in trimmed or "?" in trimmed
    if "/" not in trimmed and "\\" not in trimmed and "~" not in trimmed:
        return CompiledPattern(
            pattern=trimmed, kind="name", regex=_glob_regex(trimmed), wildcard=wildcard
        )
    if "\\" in trimmed:
        return CompiledPattern(
            pattern=trimmed, kind="invalid", problem="backslash in a POSIX pattern"
        )
    expanded = trimmed
    if trimmed.startswith("~"):
        if home is None or not (trimmed == "~" or trimmed.startswith("~/")):
            return CompiledPattern(pattern=trimmed, kind="invalid", problem="cannot expand '~'")
        expanded = home.rstrip("/") + trimmed[1:]
    if not expanded.startswith("/"):
        return CompiledPattern(pattern=trimmed, kind="invalid", problem="relative path pattern")
    parts = expanded.split("/")[1:]
    if "//" in expanded or any(p in (".", "..") for p in parts):
        return CompiledPattern(
            pattern=trimmed, kind="invalid", problem="'.', '..' or '//' in a path pattern"
        )
    return CompiledPattern(
        pattern=trimmed, kind="path", regex=_glob_regex(expanded), wildcard=wildcard
    )
