"""
Allowlist patterns and safe-bin profiles.

Ports of OpenClaw 2026.4.1 ``exec-allowlist-pattern.ts``, ``exec-safe-bin-policy-*.ts`` and
``exec-safe-bin-semantics.ts``, with the stricter choices listed in ``docs/differences.md``.
Inline-eval detection lives in ``_inline_eval.py`` (re-exported here for old imports).
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Iterable, Mapping, Sequence

import attrs

from openclaw_exec.analysis._inline_eval import (
    INTERPRETER_NAMES,
    InlineEvalHit,
    detect_inline_eval,
    is_interpreter_like,
)
from openclaw_exec.analysis._wrappers import normalize_executable_token

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


# --------------------------------------------------------------------------- safe bins

DEFAULT_SAFE_BINS = frozenset({"cut", "uniq", "head", "tail", "tr", "wc"})
"""OpenClaw's default safe bins (stdin-only filters)."""
DEFAULT_SAFE_BIN_TRUSTED_DIRS = ("/bin", "/usr/bin")
"""The only folders a safe bin may come from unless more are configured."""


def _flag_set(flags: Iterable[str]) -> frozenset[str]:
    return frozenset(f.strip() for f in flags if f.strip())


@attrs.frozen
class SafeBinProfile:
    """
    The argv shape a safe bin may be called with.

    Attributes:
        min_positional: Fewest positional operands.
        max_positional: Most positional operands (``None``: unbounded).
        allowed_value_flags: Flags that take a (literal) value.
        denied_flags: Flags that reject the call.
    """

    min_positional: int = 0
    max_positional: int | None = None
    allowed_value_flags: frozenset[str] = attrs.field(default=frozenset(), converter=_flag_set)
    denied_flags: frozenset[str] = attrs.field(default=frozenset(), converter=_flag_set)

    @functools.cached_property
    def _long_prefixes(self) -> Mapping[str, str | None]:
        known = [
            f
            for f in (*self.allowed_value_flags, *self.denied_flags)
            if f.startswith("--") and len(f) > 2
        ]
        table: dict[str, str | None] = {}
        for flag in sorted(set(known)):
            for length in range(3, len(flag) + 1):
                prefix = flag[:length]
                if prefix not in table:
                    table[prefix] = flag
                elif table[prefix] != flag:
                    table[prefix] = None
        table.update({flag: flag for flag in known})
        return table

    def canonical_long(self, flag: str) -> str | None:
        """The known long flag *flag* abbreviates unambiguously, else ``None``."""
        if not flag.startswith("--") or len(flag) <= 2:
            return None
        return self._long_prefixes.get(flag)


def _profile(
    max_positional: int | None = None,
    *,
    min_positional: int = 0,
    allowed: Iterable[str] = (),
    denied: Iterable[str] = (),
) -> SafeBinProfile:
    return SafeBinProfile(
        min_positional=min_positional,
        max_positional=max_positional,
        allowed_value_flags=frozenset(allowed),
        denied_flags=frozenset(denied),
    )


DEFAULT_SAFE_BIN_PROFILES: Mapping[str, SafeBinProfile] = {
    "jq": _profile(
        1,
        allowed=("--arg", "--argjson", "--argstr"),
        denied=(
            "--argfile",
            "--rawfile",
            "--slurpfile",
            "--from-file",
            "--library-path",
            "-L",
            "-f",
        ),
    ),
    "grep": _profile(
        0,
        allowed=(
            "--regexp",
            "--max-count",
            "--after-context",
            "--before-context",
            "--context",
            "--devices",
            "--binary-files",
            "--exclude",
            "--include",
            "--label",
            "-e",
            "-m",
            "-A",
            "-B",
            "-C",
            "-D",
        ),
        denied=(
            "--file",
            "--exclude-from",
            "--dereference-recursive",
            "--directories",
            "--recursive",
            "-f",
            "-d",
            "-r",
            "-R",
        ),
    ),
    "cut": _profile(
        0,
        allowed=(
            "--bytes",
            "--characters",
            "--fields",
            "--delimiter",
            "--output-delimiter",
            "-b",
            "-c",
            "-f",
            "-d",
        ),
    ),
    "sort": _profile(
        0,
        allowed=(
            "--key",
            "--field-separator",
            "--buffer-size",
            "--parallel",
            "--batch-size",
            "-k",
            "-t",
            "-S",
        ),
        denied=(
            "--compress-program",
            "--files0-from",
            "--output",
            "--random-source",
            "--temporary-directory",
            "-T",
            "-o",
        ),
    ),
    "uniq": _profile(
        0, allowed=("--skip-fields", "--skip-chars", "--check-chars", "--group", "-f", "-s", "-w")
    ),
    "head": _profile(0, allowed=("--lines", "--bytes", "-n", "-c")),
    "tail": _profile(
        0,
        allowed=(
            "--lines",
            "--bytes",
            "--sleep-interval",
            "--max-unchanged-stats",
            "--pid",
            "-n",
            "-c",
        ),
    ),
    "tr": _profile(2, min_positional=1),
    "wc": _profile(0, denied=("--files0-from",)),
}
"""OpenClaw 2026.4.1's built-in safe-bin profiles."""

_GLOB_CHARS = re.compile(r"[*?\[\]]")
_DRIVE = re.compile(r"[A-Za-z]:[\\/]")
_JQ_ENV = re.compile(r"(^|[^.$A-Za-z0-9_])env([^A-Za-z0-9_]|$)")
_JQ_ENV_VAR = re.compile(r"\$ENV\b")
_ALWAYS_DENIED_SEMANTICS = frozenset({"awk", "gawk", "mawk", "nawk", "sed", "gsed"})


def _path_like(value: str) -> bool:
    trimmed = value.strip()
    if not trimmed or trimmed == "-":
        return False
    return trimmed.startswith(("./", "../", "~", "/")) or _DRIVE.match(trimmed) is not None


def _literal(value: str) -> bool:
    if not value or value == "-":
        return True
    return _GLOB_CHARS.search(value) is None and not _path_like(value)


def validate_safe_bin_argv(args: Sequence[str], profile: SafeBinProfile, *, bin_name: str) -> bool:
    """
    Check a safe bin's arguments (``argv[1:]``) against its profile.

    Positionals and flag values must be literal (no glob characters, not path-like);
    long options must be known (or unambiguous prefixes) and not denied; a short
    cluster must contain an allowed value flag; boolean flags are therefore rejected.
    """
    positional: list[str] = []
    i = 0
    n = len(args)
    while i < n:
        raw = args[i]
        if not raw or raw == "-":
            i += 1
            continue
        if raw == "--":
            for rest in args[i + 1 :]:
                if not rest or rest == "-":
                    continue
                if not _literal(rest):
                    return False
                positional.append(rest)
            break
        if not raw.startswith("-"):
            if not _literal(raw):
                return False
            positional.append(raw)
            i += 1
            continue
        if raw.startswith("--"):
            eq = raw.find("=")
            flag, inline = (raw[:eq], raw[eq + 1 :]) if eq > 0 else (raw, None)
            canonical = profile.canonical_long(flag)
            if canonical is None or canonical in profile.denied_flags:
                return False
            expects_value = canonical in profile.allowed_value_flags
            if inline is not None:
                if not expects_value or not _literal(inline):
                    return False
                i += 1
                continue
            if not expects_value:
                i += 1
                continue
            nxt = args[i + 1] if i + 1 < n else ""
            if not nxt or not _literal(nxt):
                return False
            i += 2
            continue
        cluster = raw[1:]
        consumed = -1
        for j, letter in enumerate(cluster):
            flag = "-" + letter
            if flag in profile.denied_flags:
                return False
            if flag not in profile.allowed_value_flags:
                continue
            inline_value = cluster[j + 1 :]
            if inline_value:
                consumed = i + 1 if _literal(inline_value) else -1
            else:
                nxt = args[i + 1] if i + 1 < n else ""
                consumed = i + 2 if (nxt and _literal(nxt)) else -1
            break
        if consumed < 0:
            return False
        i = consumed
    if len(positional) < profile.min_positional:
        return False
    if profile.max_positional is not None and len(positional) > profile.max_positional:
        return False
    name = normalize_executable_token(bin_name)
    if name in _ALWAYS_DENIED_SEMANTICS:
        return False
    if name == "jq":
        return not any(_JQ_ENV.search(t) or _JQ_ENV_VAR.search(t) for t in positional)
    return True
