"""
The evaluation entry point: command (or argv) + cwd + env + allowlist -> :class:`Evaluation`.

Semantics follow OpenClaw 2026.4.1's ``evaluateShellAllowlist``,
``resolveAllowAlwaysPatterns`` and ``hasDurableExecApproval``; every place where this
library deliberately answers "no" where OpenClaw answers "yes" is listed in
``docs/differences.md``. The reverse never happens.
"""

from __future__ import annotations

import functools
import posixpath
import shlex
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, TypeGuard

from openclaw_exec.analysis._allowlist import CompiledAllowlist, compile_allowlist
from openclaw_exec.analysis._context import Abort, Context
from openclaw_exec.analysis._grants import allow_always_grants, durable
from openclaw_exec.analysis._host_env import environment_failure
from openclaw_exec.analysis._resolver import ExecutableResolver, OsResolver, ResolutionCache
from openclaw_exec.analysis._results import (
    AllowAlwaysGrant,
    Evaluation,
    SatisfiedBy,
    SegmentEvaluation,
    SkillBin,
    durable_command_pattern,
    make_evaluation,
)
from openclaw_exec.analysis._rules import InlineEvalHit
from openclaw_exec.analysis._safe_bins import (
    DEFAULT_SAFE_BIN_PROFILES,
    DEFAULT_SAFE_BIN_TRUSTED_DIRS,
    DEFAULT_SAFE_BINS,
    SafeBinProfile,
)
from openclaw_exec.analysis._segment import MAX_SHELL_DEPTH, evaluate_segment
from openclaw_exec.analysis._shell import AnalysisFailure, RawSegment, parse_raw
from openclaw_exec.exceptions import AnalysisError

if TYPE_CHECKING:
    from openclaw_exec.policy import AllowlistEntry

__all__ = [
    "MAX_SHELL_DEPTH",
    "AllowAlwaysGrant",
    "CompiledAllowlist",
    "Evaluation",
    "SatisfiedBy",
    "SegmentEvaluation",
    "SkillBin",
    "compile_allowlist",
    "durable_command_pattern",
    "evaluate_command",
    "pattern_home",
]

_DEFAULT_RESOLVER = OsResolver()
_DEFAULT_TRUSTED_DIRS = frozenset(DEFAULT_SAFE_BIN_TRUSTED_DIRS)


def evaluate_command(
    command_or_argv: str | Sequence[str],
    *,
    cwd: str,
    env: Mapping[str, str],
    allowlist: Iterable[AllowlistEntry] | CompiledAllowlist = (),
    safe_bins: Iterable[str] | None = None,
    safe_bin_profiles: Mapping[str, SafeBinProfile] | None = None,
    safe_bin_trusted_dirs: Iterable[str] = (),
    auto_allow_skills: bool = False,
    skill_bins: Iterable[SkillBin | tuple[str, str]] = (),
    strict_inline_eval: bool = False,
    bare_name_patterns: bool = False,
    resolver: ExecutableResolver | None = None,
    cache: ResolutionCache | None = None,
    danger_profiles: bool = True,
    env_overrides: Mapping[str, str] | None = None,
    allowlist_home: str | None = None,
) -> Evaluation:
    """
    Analyse a command line (or an argv) and check every segment against the allowlist.

    Args:
        command_or_argv: Shell text (parsed with tree-sitter-bash against a whitelist
            of constructs), or an argv run without a shell.
        cwd: The absolute working directory the command would run in.
        env: The full environment it would run with (``PATH`` and ``HOME`` are read). A
            variable the host environment policy strips from an inherited environment
            (``SHELL``, ``LD_*``, ``GIT_CONFIG_*``, ...; see ``docs/environment.md``) fails
            analysis: strip inherited ones first (``sanitize_inherited_env``).
        allowlist: Entries (``openclaw_exec.policy.AllowlistEntry``) or a
            :class:`CompiledAllowlist` (compile once when evaluating often).
        safe_bins: Safe-bin names; ``None`` means OpenClaw's defaults.
        safe_bin_profiles: Extra or replacement profiles by bin name.
        safe_bin_trusted_dirs: Folders trusted for safe bins besides ``/bin`` and ``/usr/bin``.
        auto_allow_skills: Let trusted skill bins satisfy segments.
        skill_bins: The trusted skill bins (name, resolved path).
        strict_inline_eval: Inline eval always needs a human; allow-always persists nothing.
        bare_name_patterns: Let bare-name patterns (``rg``) match PATH lookups (later
            OpenClaw builds); OpenClaw 2026.4.1 ignores them, which is the default.
        resolver: Filesystem access; defaults to :class:`OsResolver`.
        cache: A :class:`ResolutionCache` shared across calls (``None``: no caching).
        danger_profiles: Refuse options that make an allowlisted program run code or
            write protected paths (``git -c core.pager=…``, ``find -exec``, ``sort -o``,
            ``tee ~/.bashrc``; the table is :data:`DANGER_ROWS`) unless an entry's
            ``argPattern`` allowed the arguments. ``False`` gives OpenClaw-identical
            verdicts (no argument-level profiles).
        env_overrides: What the agent asked to add to *env*: a key on the override block
            lists (``PATH``, ``HOME``, ``GIT_*`` ...) fails analysis; the rest are merged.
        allowlist_home: The folder ``~`` in allowlist patterns stands for (default:
            :func:`pattern_home` of *env*). The guard passes its host's, so no command
            environment (``HOME``, ``OPENCLAW_HOME``) re-roots them.

    Returns:
        The evaluation. Commands the analyser does not fully understand come back with
        ``analysis_ok=False`` and a reason; this function does not raise for any text.

    Raises:
        AnalysisError: For misuse: a relative *cwd*, a non-string command, and so on.
    """
    cwd_in: object = cwd
    env_in: object = env
    if not isinstance(cwd_in, str) or not cwd_in.startswith("/"):
        raise AnalysisError(f"cwd must be an absolute path, got {cwd!r}")
    if type(env_in) is not dict and not isinstance(env_in, Mapping):
        raise AnalysisError(f"env must be a mapping, got {type(env).__name__}")
    if isinstance(allowlist, CompiledAllowlist):
        compiled = allowlist  # compiled with its own home
    else:
        # "~" in allowlist patterns: the caller's folder (the guard passes its host's),
        # else the one the environment names (OPENCLAW_HOME, then HOME, as OpenClaw).
        home = pattern_home(env) if allowlist_home is None else allowlist_home
        home = home if isinstance(home, str) and home.startswith("/") else None
        compiled = _compiled_for(tuple(allowlist), home, bare_name_patterns=bare_name_patterns)
    try:
        env_failure = environment_failure(env, env_overrides)
    except TypeError as exc:
        raise AnalysisError(str(exc)) from None
    path_env = (env_overrides or {}).get("PATH", env.get("PATH", ""))
    if not isinstance(path_env, str):
        raise AnalysisError("env['PATH'] must be a string")
    raw_segments: list[RawSegment]
    ops: list[str | None]
    part_sizes: list[int]
    if isinstance(command_or_argv, str):
        command: str | None = command_or_argv
        argv_in: tuple[str, ...] | None = None
        command_text = command_or_argv
        parts, failed = parse_raw(command_or_argv)
        failure = failed.failure if failed is not None else None
        heredoc = failed is not None and failed.heredoc
        raw_segments = []
        ops = []
        part_sizes = []
        for part_segments, op in parts:
            raw_segments.extend(part_segments)
            part_sizes.append(len(part_segments))
            ops.extend(["|"] * (len(part_segments) - 1))
            ops.append(op)
    elif _is_argv(command_or_argv):
        command = None
        argv_in = tuple(command_or_argv)
        command_text = shlex.join(argv_in)
        heredoc = False
        failure = None
        ops = [None]
        part_sizes = [1]
        if not argv_in or not argv_in[0].strip():
            failure = AnalysisFailure("empty argv", 0, "empty argv at position 0")
        elif any("\x00" in w for w in argv_in):
            failure = AnalysisFailure("NUL byte", 0, "NUL byte in argv at position 0")
        raw_segments = [(argv_in, (), command_text, 0)] if failure is None else []
    else:
        kind = type(command_or_argv).__name__
        raise AnalysisError(f"command must be a string or a sequence of strings, got {kind}")

    if failure is None and env_failure is not None:
        failure = env_failure
        raw_segments = []
    segments: tuple[SegmentEvaluation, ...] = ()
    ctx: Context | None = None
    if failure is None:
        # Built only for a command that parsed: a refused one answers without it.
        ctx = Context(
            cwd if ("/." not in cwd and "//" not in cwd) else posixpath.normpath(cwd),
            path_env,
            compiled,
            _safe_bin_names(safe_bins),
            DEFAULT_SAFE_BIN_PROFILES
            if not safe_bin_profiles
            else {
                **DEFAULT_SAFE_BIN_PROFILES,
                **{k.strip().lower(): v for k, v in safe_bin_profiles.items()},
            },
            _trusted_dirs(tuple(safe_bin_trusted_dirs)),
            _skill_index(skill_bins) if auto_allow_skills else None,
            resolver if resolver is not None else _DEFAULT_RESOLVER,
            cache,
        )
        if danger_profiles:
            ctx.danger_env = env
        try:
            segments = tuple(
                [evaluate_segment(seg, ctx, 0, strict_inline_eval) for seg in raw_segments]
            )
        except Abort as abort:
            failure = abort.failure
            segments = ()
    analysis_ok = failure is None
    if not analysis_ok:
        ops = []
    satisfied = analysis_ok and bool(segments)
    may_hit = False
    for top in segments:
        if top.satisfied_by is None:
            satisfied = False
        if top.inline_eval is not None or top.inner:
            may_hit = True
    hits = _inline_hits(segments) if may_hit else ()
    durable_ok = durable(
        command_text,
        compiled._durable_entries,  # noqa: SLF001 - same package
        segments,
        analysis_ok=analysis_ok,
    )

    # OpenClaw derives allow-always patterns from the chain parts up to and including
    # the first part that misses; persisting more would allow more than it does.
    def grants() -> tuple[AllowAlwaysGrant, ...]:
        if ctx is None:  # the analysis failed: nothing may be persisted
            return ()
        aa_segments: list[SegmentEvaluation] = []
        if analysis_ok:
            start = 0
            for size in part_sizes:
                chunk = segments[start : start + size]
                start += size
                aa_segments.extend(chunk)
                if len(part_sizes) > 1 and not all(s.satisfied for s in chunk):
                    break
        return allow_always_grants(
            command_text,
            aa_segments,
            ctx,
            analysis_ok=analysis_ok,
            strict=strict_inline_eval,
            hits=hits,
        )

    return make_evaluation(
        command,
        argv_in,
        command_text,
        analysis_ok,
        failure,
        satisfied,
        segments,
        tuple(ops),
        durable_ok,
        heredoc,
        hits,
        strict_inline_eval,
        grants,
    )


def pattern_home(env: Mapping[str, str]) -> str | None:
    """
    The folder ``~`` in allowlist patterns stands for.

    ``OPENCLAW_HOME`` when set, else ``HOME`` (OpenClaw 2026.9.6's
    ``resolveEffectiveHomeDir``). A ``~`` at the start of
    ``OPENCLAW_HOME`` is expanded with ``HOME``. ``None`` (``~`` patterns never match)
    when the folder is not an absolute path, rather than guessing one.
    """

    def value(name: str) -> str | None:
        raw = env.get(name)
        if not isinstance(raw, str):
            return None
        trimmed = raw.strip()
        return trimmed if trimmed and trimmed not in ("undefined", "null") else None

    os_home = value("HOME")
    home = value("OPENCLAW_HOME")
    if home is None:
        home = os_home
    elif home == "~" or home.startswith("~/"):
        home = None if os_home is None else os_home + home[1:]
    if home is None or not home.startswith("/"):
        return None
    normalized = posixpath.normpath(home)
    return "/" + normalized.lstrip("/") if normalized.startswith("//") else normalized


_COMPILED: dict[tuple[object, ...], CompiledAllowlist] = {}
_COMPILED_MAX = 64


def _compiled_for(
    entries: tuple[AllowlistEntry, ...], home: str | None, *, bare_name_patterns: bool
) -> CompiledAllowlist:
    # Entries are immutable and the cached value keeps them alive, so their ids cannot be
    # reused while the key exists: an identity key is exact and cheap to build.
    key = (home, bare_name_patterns, *map(id, entries))
    found = _COMPILED.get(key)
    if found is None:
        found = compile_allowlist(entries, home=home, bare_name_patterns=bare_name_patterns)
        if len(_COMPILED) >= _COMPILED_MAX:
            _COMPILED.clear()
        _COMPILED[key] = found
    return found


def _safe_bin_names(safe_bins: Iterable[str] | None) -> frozenset[str]:
    """The safe-bin names, trimmed and lower-cased (one set per distinct list, kept)."""
    if safe_bins is None:
        return DEFAULT_SAFE_BINS
    try:
        return _safe_bin_set(tuple(safe_bins))
    except TypeError:  # an unhashable item: not a string
        raise AnalysisError("safe_bins must be strings") from None


@functools.lru_cache(maxsize=_COMPILED_MAX)
def _safe_bin_set(names: tuple[str, ...]) -> frozenset[str]:
    return frozenset(b.strip().lower() for b in names if b.strip())


def _trusted_dirs(extra_dirs: tuple[str, ...]) -> frozenset[str]:
    if not extra_dirs:
        return _DEFAULT_TRUSTED_DIRS
    return frozenset(
        posixpath.normpath(d.strip())
        for d in (*DEFAULT_SAFE_BIN_TRUSTED_DIRS, *extra_dirs)
        if d.strip().startswith("/")
    )


def _inline_hits(segments: Sequence[SegmentEvaluation]) -> tuple[InlineEvalHit, ...]:
    found: list[InlineEvalHit] = []
    for top in segments:
        if top.inner:
            found.extend(s.inline_eval for s in top.walk() if s.inline_eval is not None)
        elif top.inline_eval is not None:
            found.append(top.inline_eval)
    return tuple(found)


def _is_argv(value: object) -> TypeGuard[Sequence[str]]:
    return isinstance(value, Sequence) and all(isinstance(w, str) for w in value)


def _skill_index(skill_bins: Iterable[SkillBin | tuple[str, str]]) -> Mapping[str, frozenset[str]]:
    index: dict[str, set[str]] = {}
    for item in skill_bins:
        name, path = (item.name, item.resolved_path) if isinstance(item, SkillBin) else item
        name = name.strip().lower()
        path = path.strip()
        if not name or not path.startswith("/"):
            continue
        index.setdefault(name, set()).add(posixpath.normpath(path))
    return {k: frozenset(v) for k, v in index.items()}
