"""
One segment of a command line -> :class:`SegmentEvaluation`.

Wrappers are looked through, the executable is resolved, and the segment is decided:
an allowlist entry (through a symlinked folder only when its real path is allowlisted
too), a safe bin or a trusted skill bin satisfies it; leading assignments, blocked
wrappers, builtins, ``find -exec``/``xargs`` and unresolved words miss; a danger-profile
row makes a satisfied segment miss unless the entry's ``argPattern`` allowed it. A shell
wrapper's ``-c`` payload is parsed and evaluated recursively, up to
:data:`MAX_SHELL_DEPTH`.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from typing import TYPE_CHECKING, TypedDict

from openclaw_exec.analysis._allowlist import arg_pattern_matches
from openclaw_exec.analysis._builtins import builtin_spec, check_builtin
from openclaw_exec.analysis._context import Abort, Context
from openclaw_exec.analysis._danger import DangerHit
from openclaw_exec.analysis._danger_rows import find_danger
from openclaw_exec.analysis._inline_eval import detect_carried_inline_eval, has_inline_eval_spec
from openclaw_exec.analysis._resolver import ResolvedExecutable
from openclaw_exec.analysis._results import SatisfiedBy, SegmentEvaluation, make_segment
from openclaw_exec.analysis._rules import InlineEvalHit, detect_inline_eval
from openclaw_exec.analysis._safe_bins import (
    ALWAYS_DENIED_SAFE_BINS,
    safe_bin_trusted,
    validate_safe_bin_argv,
)
from openclaw_exec.analysis._shell import AnalysisFailure, RawSegment, parse_raw
from openclaw_exec.analysis._shells import shell_family
from openclaw_exec.analysis._word_cache import WordCache
from openclaw_exec.analysis._wrapper_table import DISPATCH, MULTIPLEXERS
from openclaw_exec.analysis._wrappers import (
    WrapperPlan,
    make_plain_plan,
    normalize_executable_token,
    payload_segment_refusal,
    shell_script_candidate,
    wrapper_plan,
)

if TYPE_CHECKING:
    from openclaw_exec.policy import AllowlistEntry

__all__ = ["MAX_SHELL_DEPTH", "evaluate_segment", "script_argv"]

MAX_SHELL_DEPTH = 3
"""Shell wrappers nested deeper than this (``bash -c "sh -c '...'"``) fail analysis."""

_COMMAND_RUNNERS = frozenset({"find", "xargs"})


def evaluate_segment(seg: RawSegment, ctx: Context, depth: int, strict: bool) -> SegmentEvaluation:
    argv, assignments, raw, position = seg
    inner: tuple[SegmentEvaluation, ...] = ()
    if argv and _ordinary(argv[0]):
        # No wrapper, shell, interpreter or builtin by that name: what the three steps
        # below answer for any argv starting with it (tests/analysis/test_ordinary.py).
        plan = make_plain_plan(argv)
        execution = policy = ctx.resolve(argv[0])
        inline = None
        builtin = None
    else:
        plan = wrapper_plan(argv)
        execution = ctx.resolve(plan.argv[0]) if plan.argv else None
        policy = (
            execution
            if plan.policy_argv == plan.argv
            else (ctx.resolve(plan.policy_argv[0]) if plan.policy_argv else None)
        )
        # The effective argv, or behind a blocked wrapper (2026.9.6 looks through carriers).
        inline = detect_inline_eval(plan.argv)
        if inline is None and plan.blocked:
            inline = detect_carried_inline_eval(plan.argv)
        if plan.shell_wrapper and plan.shell_inline_command is not None and not plan.blocked:
            inner = _evaluate_payload(plan.shell_inline_command, position, ctx, depth, strict)
        # A builtin shape that is not proven harmless is never the allowlisted file of its
        # name (text shapes that run code already failed parsing; an argv lands here).
        builtin = check_builtin(argv)
    floor = payload_segment_refusal(argv, plan) if depth else None
    decision: _Decision = (
        (None, None, builtin.reason)
        if builtin is not None
        else (None, None, floor)
        if floor is not None
        else _decide(assignments, plan, execution, policy, inline, inner, ctx)
    )
    by, entry, reason = decision
    danger = None
    if by is not None and ctx.danger_env is not None:
        danger = _danger(plan, execution, entry, ctx)
        if danger is not None:
            by, reason = None, f"{danger.describe()} (an argPattern can allow it explicitly)"
    elif (
        ctx.danger_env is not None
        and inline is not None
        and inline.normalized_executable in _COMMAND_RUNNERS
    ):
        # find -exec / xargs CMD miss whatever the entry (no argPattern can allow them);
        # the row is still named, for explain.
        danger = _danger(plan, execution, None, ctx)
    return make_segment(
        argv,
        assignments,
        raw,
        position,
        depth,
        plan.argv,
        plan.wrappers,
        plan.blocked_wrapper,
        execution,
        policy,
        by,
        entry,
        reason,
        inline,
        inner,
        danger,
    )


def _ordinary_word(word: str) -> bool:
    """
    Whether a segment whose first word is *word* needs no wrapper, inline-eval or builtin step.

    True only when *word* is written without surrounding blanks, is not ``time`` (the
    builtin prefix), names no dispatch wrapper, multiplexer or shell (after
    normalisation: ``/usr/bin/Bash5.2.exe`` is bash), no inline-eval interpreter in any
    of its name variants (``python3.11-dbg``), and no shell builtin. Then
    ``wrapper_plan`` returns the argv unchanged, ``detect_inline_eval`` and
    ``check_builtin`` return ``None``, whatever the other words: the tables are static,
    so the answer depends on the word alone and is kept.
    """
    if not word or word != word.strip() or word == "time":
        return False
    name = normalize_executable_token(word)
    return (
        name not in DISPATCH
        and name not in MULTIPLEXERS
        and not shell_family(name)[0]
        and not has_inline_eval_spec(name)
        and builtin_spec(word) is None
    )


_ordinary = WordCache(_ordinary_word)


def _danger(
    plan: WrapperPlan,
    execution: ResolvedExecutable | None,
    entry: AllowlistEntry | None,
    ctx: Context,
) -> DangerHit | None:
    """The danger row that fires for a satisfied segment, unless its entry allows it."""
    if not plan.argv or ctx.danger_env is None:
        return None
    # Only the real path's name matters (a symlink named x to /usr/bin/git is git).
    real_name = ctx.real_name_path(execution) if execution is not None else None
    names = (real_name,) if real_name else ()
    hit = find_danger(
        plan.argv, cwd=ctx.cwd, env=ctx.danger_env, resolver=ctx.resolver, names=names
    )
    # The administrator's explicit allowance: an entry whose argPattern matched these
    # arguments (a plain path entry, or an allow-always path grant, never does).
    if hit is None or (entry is not None and arg_pattern_matches(entry, plan.argv, cwd=ctx.cwd)):
        return None
    return hit


_Decision = tuple["SatisfiedBy | None", "AllowlistEntry | None", "str | None"]


def _decide(  # noqa: PLR0917 - the facts gathered by _evaluate_segment
    assignments: tuple[tuple[str, str], ...],
    plan: WrapperPlan,
    execution: ResolvedExecutable | None,
    policy: ResolvedExecutable | None,
    inline: InlineEvalHit | None,
    inner: tuple[SegmentEvaluation, ...],
    ctx: Context,
) -> _Decision:
    """What satisfies the segment, the entry that matched, and why not (a miss)."""
    if plan.blocked:
        return (None, None, plan.blocked_reason)
    if inline is not None and inline.normalized_executable in _COMMAND_RUNNERS:
        # find -exec / xargs CMD run a command the analyser never sees (stricter than 4.1,
        # as later OpenClaw builds): no entry for find or xargs can cover it.
        return (None, None, f"{inline.describe()} runs a command that is not analysed")
    if assignments:
        names = ", ".join(name for name, _ in assignments)
        return (None, None, f"leading assignment ({names}) changes the executable's environment")
    for resolved in (execution, policy):
        if resolved is not None and resolved.traversal:
            return (None, None, f"{resolved.raw!r} goes through '..' across a symlink")
    entry = _match(plan, policy, ctx)
    if (
        entry is not None
        and policy is not None
        and entry is not ctx.allowlist._any  # noqa: SLF001 - same package
        and ctx.through_symlinked_folder(policy)
    ):
        real = policy.real_path
        if real is None or ctx.allowlist.match(None, **_match_args(plan, real, ctx)) is None:
            return (
                None,
                None,
                (
                    f"{policy.path} is reached through a symlinked folder and its real path "
                    f"{real} is not allowlisted"
                ),
            )
    by: SatisfiedBy | None = None
    if entry is not None:
        by = SatisfiedBy.ALLOWLIST
    elif _safe_bin(plan, execution, ctx):
        by = SatisfiedBy.SAFE_BINS
    elif _skill(execution, ctx):
        by = SatisfiedBy.SKILLS
    if by is None:
        if policy is None or policy.path is None:
            word = plan.policy_argv[0] if plan.policy_argv else ""
            reason = f"{word!r} does not resolve to an executable"
        else:
            reason = f"no allowlist entry matches {policy.path}"
            name = posixpath.basename(execution.path) if execution and execution.path else ""
            if name in ctx.safe_bins and name in ALWAYS_DENIED_SAFE_BINS:
                reason += f" ({name} is never a safe bin: it reads the environment or runs code)"
        return (None, None, reason)
    if inner and not all(s.satisfied for s in inner):
        return (None, entry, "the shell payload has a segment that is not allowlisted")
    return (by, entry, None)


def _match(
    plan: WrapperPlan, policy: ResolvedExecutable | None, ctx: Context
) -> AllowlistEntry | None:
    if plan.shell_wrapper and plan.shell_inline_command is None:
        # A shell without -c runs a script (or stdin): only the script itself can be
        # allowlisted; matching the shell binary would allow any script (stricter than 4.1).
        script = shell_script_candidate(plan.argv, "", ctx.cwd)
        if script is None or not ctx.resolver.is_executable_file(script):
            return None
        return ctx.allowlist.match(None, **_match_args(plan, script, ctx))
    return ctx.allowlist.match(policy, argv=plan.argv, cwd=ctx.cwd)


class _MatchArgs(TypedDict):
    path: str
    argv: tuple[str, ...]
    cwd: str
    real_path: str | None


def _match_args(plan: WrapperPlan, path: str, ctx: Context) -> _MatchArgs:
    """What an entry's argPattern sees when *path* is matched for *plan*'s segment."""
    real = ctx.resolver.realpath(path)
    if plan.shell_wrapper and plan.shell_inline_command is None:
        argv = script_argv(plan.argv, path, ctx.cwd)
        return {"path": path, "argv": argv, "cwd": ctx.cwd, "real_path": real}
    return {"path": path, "argv": plan.argv, "cwd": ctx.cwd, "real_path": real}


def script_argv(argv: Sequence[str], script: str, cwd: str) -> tuple[str, ...]:
    """
    ``[script, *its arguments]`` for a shell running *script*.

    The words after the one naming the script (OpenClaw's ``resolveShellWrapperScriptArgv``).
    """
    base = posixpath.basename(script).lower()
    words = list(argv)
    index = next(
        (
            i
            for i, w in enumerate(words)
            if posixpath.normpath(w if w.startswith("/") else posixpath.join(cwd, w)) == script
        ),
        -1,
    )
    if index < 0:
        index = next((i for i, w in enumerate(words) if posixpath.basename(w).lower() == base), -1)
    return (script, *(words[index + 1 :] if index >= 0 else ()))


def _safe_bin(plan: WrapperPlan, execution: ResolvedExecutable | None, ctx: Context) -> bool:
    if not ctx.safe_bins or execution is None or execution.path is None:
        return False
    name = posixpath.basename(execution.path)
    if name not in ctx.safe_bins:
        return False
    profile = ctx.profiles.get(name)
    if profile is None:
        return False
    # Both must hold: the arguments first (no filesystem call), then where the file is.
    if not validate_safe_bin_argv(plan.argv[1:], profile, bin_name=name):
        return False
    return safe_bin_trusted(name, execution.path, execution.real_path, ctx.safe_bins, ctx)


def _skill(execution: ResolvedExecutable | None, ctx: Context) -> bool:
    if ctx.skills is None or execution is None or execution.path is None:
        return False
    raw = execution.raw.strip()
    if not raw or "/" in raw or "\\" in raw:
        return False
    paths = ctx.skills.get(execution.name.strip().lower())
    return paths is not None and execution.path in paths


def _evaluate_payload(
    payload: str, position: int, ctx: Context, depth: int, strict: bool
) -> tuple[SegmentEvaluation, ...]:
    where = f"in the shell payload of the segment at position {position}"
    if depth + 1 > MAX_SHELL_DEPTH:
        construct = f"shell wrappers nested deeper than {MAX_SHELL_DEPTH}"
        raise Abort(AnalysisFailure(construct, position, f"{construct} {where}"))
    parts, failed = parse_raw(payload)
    if failed is not None and failed.failure is not None:
        f = failed.failure
        raise Abort(
            AnalysisFailure(
                f.construct, position, f"{f.construct} at payload position {f.position} {where}"
            )
        )
    return tuple(
        [evaluate_segment(inner, ctx, depth + 1, strict) for segs, _op in parts for inner in segs]
    )
