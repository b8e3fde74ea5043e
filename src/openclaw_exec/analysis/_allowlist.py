"""
Allowlist matching: OpenClaw 2026.9.6's ``matchAllowlist`` over compiled entries.

An entry matches an executable by its ``pattern`` (a glob over the resolved path, or a bare
name) and, when it has one, by its ``argPattern`` over the arguments:

* a bare ``*`` without argPattern (and not an allow-always grant) matches anything;
* an entry whose argPattern matches wins over one without argPattern, whatever the order;
* an entry without argPattern matches any arguments, unless it is an allow-always grant:
  since 2026.9.6 those only count with a cwd-bound hash (``sha256:cwd-argv:v1:``) of the
  exact arguments and working folder they were granted for;
* a regex argPattern on an allow-always grant, a legacy ``sha256:argv:`` hash and a
  pattern that is not a valid (translatable) regex never match.

Regex argPatterns are JavaScript syntax, translated by :mod:`openclaw_exec.policy._argpattern`.
"""

from __future__ import annotations

import re
import sys
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import attrs

from openclaw_exec.analysis._resolver import ResolvedExecutable
from openclaw_exec.analysis._rules import CompiledPattern, compile_pattern
from openclaw_exec.policy._argpattern import compile_arg_pattern, cwd_bound_arg_pattern

if TYPE_CHECKING:
    from openclaw_exec.policy import AllowlistEntry

__all__ = ["CompiledAllowlist", "arg_pattern_matches", "compile_allowlist"]


class _PatternSet:
    """
    The compiled form of an ordered list of patterns, shared by every allowlist with them.

    Literal paths and names (no wildcard: most entries, allow-always grants are exact
    paths) are looked up in a dict; only wildcard patterns go into one alternation regex,
    whose first matching group is the first matching entry among them. A match is the
    lowest entry index of the two.
    """

    __slots__ = (
        "any_index",
        "home",
        "name_exact",
        "name_index",
        "name_regex",
        "path_exact",
        "path_index",
        "path_regex",
        "patterns",
        "size",
    )

    def __init__(self, patterns: tuple[str, ...], home: str | None) -> None:
        self.patterns = patterns
        self.home = home
        self.size = len(patterns)
        self.any_index: int | None = None
        self.path_exact: dict[str, int] = {}
        self.name_exact: dict[str, int] = {}
        sources: dict[str, list[str]] = {"path": [], "name": []}
        indexes: dict[str, list[int]] = {"path": [], "name": []}
        flags = 0
        for i, pattern in enumerate(patterns):
            literal = None if _WINDOWS else _literal_pattern(pattern, home)
            if literal is not None:
                kind, text = literal
                (self.path_exact if kind == "path" else self.name_exact).setdefault(text, i)
                continue
            c = compile_pattern(pattern, home)
            if c.kind == "any":
                if self.any_index is None:
                    self.any_index = i
            elif c.kind in sources and c.regex is not None:
                sources[c.kind].append(f"({c.regex.pattern})")
                indexes[c.kind].append(i)
                flags = c.regex.flags
        self.path_regex = re.compile("|".join(sources["path"]), flags) if sources["path"] else None
        self.path_index = tuple(indexes["path"])
        self.name_regex = re.compile("|".join(sources["name"]), flags) if sources["name"] else None
        self.name_index = tuple(indexes["name"])

    def first_path(self, target: str) -> int | None:
        best = self.path_exact.get(target)
        if self.path_regex is not None:
            m = self.path_regex.fullmatch(target)
            if m is not None and m.lastindex is not None:
                i = self.path_index[m.lastindex - 1]
                if best is None or i < best:
                    best = i
        return best

    def first_name(self, name: str) -> int | None:
        best = self.name_exact.get(name)
        if self.name_regex is not None:
            m = self.name_regex.fullmatch(name)
            if m is not None and m.lastindex is not None:
                i = self.name_index[m.lastindex - 1]
                if best is None or i < best:
                    best = i
        return best


_WINDOWS = sys.platform == "win32"
_WILDCARD_OR_ESCAPE = re.compile(r"[*?\\]")


def _literal_pattern(pattern: str, home: str | None) -> tuple[str, str] | None:
    """
    The one string *pattern* matches, when it has no wildcard.

    ``("path", absolute path)`` or ``("name", name)``: what :func:`compile_pattern` makes
    of it, without building a regex. ``None`` when the pattern is compiled as a glob, or
    is invalid, a bare ``*`` or a command grant.
    """
    trimmed = pattern.strip()
    if not trimmed or trimmed.startswith("=command:") or _WILDCARD_OR_ESCAPE.search(trimmed):
        return None
    if "/" not in trimmed and "~" not in trimmed:
        return ("name", trimmed)
    expanded = trimmed
    if trimmed.startswith("~"):
        if home is None or not (trimmed == "~" or trimmed.startswith("~/")):
            return None
        expanded = home.rstrip("/") + trimmed[1:]
    if not expanded.startswith("/") or "//" in expanded:
        return None
    if any(p in (".", "..") for p in expanded.split("/")[1:]):
        return None
    return ("path", expanded)


# Compiled pattern sets by content (home, bare-name switch, the patterns in order): an
# approvals file is loaded again on every authorize, and compiling 20,000 entries costs
# seconds, so equal lists share one compiled set. Bounded by the number of sets and by
# the patterns they hold together (least recently used dropped first).
_SHARED: OrderedDict[tuple[object, ...], _PatternSet] = OrderedDict()
_SHARED_MAX_SETS = 32
_SHARED_MAX_PATTERNS = 200_000
_SHARED_LOCK = threading.Lock()


def _pattern_set(patterns: tuple[str, ...], home: str | None) -> _PatternSet:
    key = (home, patterns)
    with _SHARED_LOCK:
        found = _SHARED.get(key)
        if found is not None:
            _SHARED.move_to_end(key)
            return found
    built = _PatternSet(patterns, home)
    with _SHARED_LOCK:
        _SHARED[key] = built
        _SHARED.move_to_end(key)
        total = sum(s.size for s in _SHARED.values())
        while len(_SHARED) > 1 and (
            len(_SHARED) > _SHARED_MAX_SETS or total > _SHARED_MAX_PATTERNS
        ):
            _, dropped = _SHARED.popitem(last=False)
            total -= dropped.size
    return built


def _arg_pattern(entry: AllowlistEntry) -> str | None:
    # OpenClaw tests ``!entry.argPattern``: an empty string is no argPattern at all.
    return entry.arg_pattern or None


def _path_only(entry: AllowlistEntry) -> bool:
    """Whether *entry* matches by its pattern alone (OpenClaw's ``pathOnlyMatch``)."""
    return _arg_pattern(entry) is None and entry.source != "allow-always"


def arg_pattern_matches(entry: AllowlistEntry, argv: Sequence[str], *, cwd: str) -> bool:
    """
    Whether *entry* has an argPattern and it matches *argv* run in *cwd*.

    This is the argument half of :meth:`CompiledAllowlist.match`: a cwd-bound hash must
    equal the hash of *cwd* and ``argv[1:]``; a regex must match the arguments joined by
    a space (or NUL-terminated, when the pattern holds NUL) and counts only on an entry
    that is not an allow-always grant. ``False`` for an entry without argPattern, so a
    caller can ask "did the administrator explicitly allow these arguments?".
    """
    text = _arg_pattern(entry)
    if text is None:
        return False
    compiled = compile_arg_pattern(text)
    if compiled.kind == "cwd-hash":
        return text == cwd_bound_arg_pattern(argv, cwd)
    if entry.source == "allow-always":
        return False
    return compiled.matches(argv)


@attrs.frozen
class CompiledAllowlist:
    """
    Allowlist entries with their patterns compiled once; reuse it across evaluations.

    Compiling is cached by content: allowlists with the same patterns in the same order
    (and the same home) share one compiled form, so loading the same approvals file
    again does not compile it again.

    Attributes:
        entries: The entries, in order (first match wins).
        home: The home folder ``~`` patterns were expanded with.
        bare_name_patterns: Whether bare-name patterns (``rg``) match PATH lookups.
    """

    entries: tuple[AllowlistEntry, ...]
    home: str | None
    bare_name_patterns: bool = False
    _set: _PatternSet = attrs.field(init=False, repr=False, eq=False)
    _any: AllowlistEntry | None = attrs.field(init=False, repr=False, eq=False)
    _durable_entries: tuple[AllowlistEntry, ...] = attrs.field(init=False, repr=False, eq=False)
    _hashed: dict[str, tuple[int, ...]] = attrs.field(init=False, repr=False, eq=False)
    _regex_args: tuple[int, ...] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        durable = tuple(e for e in self.entries if e.source == "allow-always")
        object.__setattr__(self, "_durable_entries", durable)
        # Entries that match by pattern alone share the compiled set; the others are
        # blanked there (an empty pattern never matches) so indexes stay aligned.
        shared = _pattern_set(
            tuple(e.pattern if _path_only(e) else "" for e in self.entries), self.home
        )
        object.__setattr__(self, "_set", shared)
        any_entry = None if shared.any_index is None else self.entries[shared.any_index]
        object.__setattr__(self, "_any", any_entry)
        hashed: dict[str, list[int]] = {}
        regex_args: list[int] = []
        for i, entry in enumerate(self.entries):
            text = _arg_pattern(entry)
            if text is None:
                continue
            kind = compile_arg_pattern(text).kind
            if kind == "cwd-hash":
                hashed.setdefault(text, []).append(i)
            elif kind == "regex" and entry.source != "allow-always":
                regex_args.append(i)
        object.__setattr__(self, "_hashed", {k: tuple(v) for k, v in hashed.items()})
        object.__setattr__(self, "_regex_args", tuple(regex_args))

    @property
    def patterns(self) -> tuple[CompiledPattern, ...]:
        """The compiled pattern of each entry, in order."""
        return tuple(compile_pattern(e.pattern, self.home) for e in self.entries)

    @property
    def has_arg_patterns(self) -> bool:
        """Whether any entry can match by its argPattern."""
        return bool(self._hashed or self._regex_args)

    def match(
        self,
        resolved: ResolvedExecutable | None,
        *,
        path: str | None = None,
        argv: Sequence[str] | None = None,
        cwd: str | None = None,
        real_path: str | None = None,
    ) -> AllowlistEntry | None:
        """
        The entry matching an executable and its arguments (OpenClaw's ``matchAllowlist``).

        A bare ``*`` matches anything typed; path patterns need a resolved path;
        bare-name patterns (when enabled) need a PATH lookup. Entries with an argPattern
        need *argv* (``argv[0]`` is the command word, never matched) and, for cwd-bound
        grants, *cwd*; the first of them whose pattern and arguments match wins, else the
        first entry without argPattern whose pattern matches. A cwd-bound grant is
        matched against the real path (*real_path*, else the resolved executable's), as
        OpenClaw 2026.9.6 stores and matches it: repointing a symlink voids the grant.
        """
        if resolved is None and path is None:
            return None
        if self._any is not None:
            return self._any
        target = path if path is not None else (resolved.path if resolved is not None else None)
        by_name = (
            self.bare_name_patterns
            and path is None
            and resolved is not None
            and resolved.via_path_lookup
            and resolved.path is not None
        )
        if argv is not None and (self._hashed or self._regex_args):
            real = real_path
            if real is None and path is None and resolved is not None:
                real = resolved.real_path
            found = self._match_args(resolved, target, real, argv, cwd, by_name=by_name)
            if found is not None:
                return found
        if target is not None:
            index = self._set.first_path(target)
            if index is not None:
                return self.entries[index]
        if by_name and resolved is not None:
            index = self._set.first_name(resolved.raw)
            if index is not None:
                return self.entries[index]
        return None

    def _match_args(
        self,
        resolved: ResolvedExecutable | None,
        target: str | None,
        real: str | None,
        argv: Sequence[str],
        cwd: str | None,
        *,
        by_name: bool,
    ) -> AllowlistEntry | None:
        candidates: list[int] = []
        if self._hashed and cwd is not None and real is not None:
            for index in self._hashed.get(cwd_bound_arg_pattern(argv, cwd), ()):
                if compile_pattern(self.entries[index].pattern, self.home).matches_path(real):
                    candidates.append(index)
                    break
        hashed = set(candidates)
        if self._regex_args:
            candidates.extend(
                i
                for i in self._regex_args
                if compile_arg_pattern(self.entries[i].arg_pattern or "").matches(argv)
            )
        for index in sorted(candidates):
            if index in hashed:
                return self.entries[index]  # its pattern already matched the real path
            compiled = compile_pattern(self.entries[index].pattern, self.home)
            if target is not None and compiled.matches_path(target):
                return self.entries[index]
            if by_name and resolved is not None and compiled.matches_name(resolved.raw):
                return self.entries[index]
        return None


def compile_allowlist(
    entries: Iterable[AllowlistEntry], *, home: str | None = None, bare_name_patterns: bool = False
) -> CompiledAllowlist:
    """Compile allowlist entries once for many evaluations (see :class:`CompiledAllowlist`)."""
    return CompiledAllowlist(
        entries=tuple(entries), home=home, bare_name_patterns=bare_name_patterns
    )
