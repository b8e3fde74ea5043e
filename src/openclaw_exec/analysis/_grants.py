"""
Durable approvals: whether an allow-always grant covers a command, and what one would persist.

``durable`` is OpenClaw's ``hasDurableExecApproval`` (stricter: never for a command the
analyser did not understand, never past a danger row); ``allow_always_grants`` is its
``resolveAllowAlwaysPatterns``: the inner executables by real path, each bound to its
exact arguments and working folder, or one exact-command grant.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from typing import TYPE_CHECKING

from openclaw_exec.analysis._builtins import check_builtin
from openclaw_exec.analysis._context import Context
from openclaw_exec.analysis._resolver import ResolvedExecutable
from openclaw_exec.analysis._results import (
    JS_WHITESPACE,
    AllowAlwaysGrant,
    SegmentEvaluation,
    durable_command_pattern,
)
from openclaw_exec.analysis._rules import InlineEvalHit, detect_inline_eval, is_interpreter_like
from openclaw_exec.analysis._segment import MAX_SHELL_DEPTH, script_argv
from openclaw_exec.analysis._shell import parse_shell_command
from openclaw_exec.analysis._wrappers import shell_script_candidate, wrapper_plan
from openclaw_exec.policy._argpattern import cwd_bound_arg_pattern

if TYPE_CHECKING:
    from openclaw_exec.policy import AllowlistEntry

__all__ = ["allow_always_grants", "durable"]


def _candidate_path(resolved: ResolvedExecutable | None) -> str | None:
    if resolved is None or resolved.path is None or resolved.traversal:
        return None
    return resolved.path


def durable(
    command_text: str,
    entries: Sequence[AllowlistEntry],
    segments: Sequence[SegmentEvaluation],
    *,
    analysis_ok: bool,
) -> bool:
    if not analysis_ok:
        # Stricter than OpenClaw: an exact-command grant never re-admits a command the
        # analyser does not understand (so a failed analysis is never ALLOW).
        return False
    if not entries:  # only allow-always entries are passed in
        return False
    normalized = command_text.strip(JS_WHITESPACE)
    if normalized:
        pattern = durable_command_pattern(normalized)
        for entry in entries:
            if entry.source == "allow-always" and (
                entry.pattern == pattern
                or (
                    isinstance(entry.command_text, str)
                    and entry.command_text.strip(JS_WHITESPACE) == normalized
                )
            ):
                return True
    if not segments:
        return False
    for top in segments:
        for seg in top.walk():
            if seg.matched_entry is None or seg.matched_entry.source != "allow-always":
                return False
            if seg.assignments or seg.blocked_wrapper is not None:
                return False
            if seg.danger is not None:
                # A path grant covers the program's ordinary use, not a danger row; only
                # the exact-command grant above (a human saw this very text) does.
                return False
    return True


def allow_always_grants(
    command_text: str,
    segments: Sequence[SegmentEvaluation],
    ctx: Context,
    *,
    analysis_ok: bool,
    strict: bool,
    hits: Sequence[InlineEvalHit],
) -> tuple[AllowAlwaysGrant, ...]:
    if (strict and hits) or not analysis_ok:
        return ()
    found: dict[tuple[str, str], None] = {}
    missing: list[str] = []
    for seg in segments:
        _collect(
            seg.argv,
            has_assignments=bool(seg.assignments),
            ctx=ctx,
            strict=strict,
            depth=0,
            out=found,
            missing=missing,
        )
    if missing:
        # A program that does not exist yet (`./nonexistent-tool`) is approved once, never
        # always: neither its path nor the exact text may admit a file created later.
        return ()
    grants = [
        AllowAlwaysGrant(
            pattern=path,
            kind="path",
            preview=f"{path} with exactly these arguments, run from {ctx.cwd}",
            arg_pattern=arg_pattern,
        )
        for path, arg_pattern in found
    ]
    if grants:
        return tuple(grants)
    if not command_text.strip(JS_WHITESPACE):
        return ()
    return (
        AllowAlwaysGrant(
            pattern=durable_command_pattern(command_text),
            kind="command",
            preview="exactly this command text, nothing else",
        ),
    )


def _collect(
    argv: tuple[str, ...],
    *,
    has_assignments: bool,
    ctx: Context,
    strict: bool,
    depth: int,
    out: dict[tuple[str, str], None],
    missing: list[str],
) -> None:
    if depth >= MAX_SHELL_DEPTH or has_assignments or not argv or check_builtin(argv):
        return
    plan = wrapper_plan(argv)
    if plan.blocked:
        return
    execution = ctx.resolve(plan.argv[0]) if plan.argv else None
    # Only an executable regular file that exists now is persisted (OpenClaw 2026.4.1
    # also saved a path-like word naming nothing, which a file created later would match).
    candidate = _candidate_path(execution)
    if candidate is None:
        if execution is not None and execution.path is None:
            missing.append(plan.argv[0])
        return
    if is_interpreter_like(candidate) and (not strict or detect_inline_eval(plan.argv) is not None):
        return
    if not plan.shell_wrapper:
        _grant(candidate, plan.argv, ctx, out)
        return
    payload = plan.shell_inline_command
    if payload is None:
        script = shell_script_candidate(plan.argv, posixpath.basename(candidate), ctx.cwd)
        if script is not None and ctx.resolver.is_executable_file(script):
            _grant(script, script_argv(plan.argv, script, ctx.cwd), ctx, out)
        return
    parsed = parse_shell_command(payload)
    if not parsed.ok:
        return
    for inner in parsed.segments:
        _collect(
            inner.argv,
            has_assignments=bool(inner.assignments),
            ctx=ctx,
            strict=strict,
            depth=depth + 1,
            out=out,
            missing=missing,
        )


def _grant(path: str, argv: Sequence[str], ctx: Context, out: dict[tuple[str, str], None]) -> None:
    # Stored as its real path, as OpenClaw 2026.9.6 does (and matched by it): a symlink
    # repointed later voids the grant. A path with glob characters would act as a wildcard.
    real = ctx.resolver.realpath(path)
    if real is None or "*" in real or "?" in real:
        return
    out[(real, cwd_bound_arg_pattern(argv, ctx.cwd))] = None
