"""
Rendering an :class:`Evaluation`: the stable JSON schema and the segment table.

The JSON shape is documented in ``docs/analysis.md`` (schema version 1); this module
is the only place that builds it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openclaw_exec.analysis._evaluate import Evaluation, SegmentEvaluation
    from openclaw_exec.analysis._resolver import ResolvedExecutable
    from openclaw_exec.policy import AllowlistEntry, VerdictResult

__all__ = ["EVALUATION_SCHEMA_VERSION", "evaluation_to_dict", "format_evaluation_table"]

EVALUATION_SCHEMA_VERSION = 1
"""Bumped only on incompatible changes to :func:`evaluation_to_dict`'s output."""


def _exe(resolved: ResolvedExecutable | None) -> dict[str, Any] | None:
    if resolved is None:
        return None
    return {
        "raw": resolved.raw,
        "path": resolved.path,
        "realPath": resolved.real_path,
        "viaPathLookup": resolved.via_path_lookup,
    }


def _segment(seg: SegmentEvaluation) -> dict[str, Any]:
    entry = seg.matched_entry
    return {
        "argv": list(seg.argv),
        "assignments": [{"name": n, "value": v} for n, v in seg.assignments],
        "raw": seg.raw,
        "position": seg.position,
        "depth": seg.depth,
        "effectiveArgv": list(seg.effective_argv),
        "wrappers": list(seg.wrappers),
        "blockedWrapper": seg.blocked_wrapper,
        "executable": _exe(seg.executable),
        "policyExecutable": _exe(seg.policy_executable),
        "satisfiedBy": None if seg.satisfied_by is None else str(seg.satisfied_by),
        "matchedEntry": None
        if entry is None
        else {
            "id": entry.id,
            "pattern": entry.pattern,
            "source": entry.source,
            "argPattern": entry.arg_pattern,
        },
        "missReason": seg.miss_reason,
        "inlineEval": None if seg.inline_eval is None else seg.inline_eval.describe(),
        "danger": None
        if seg.danger is None
        else {
            "row": seg.danger.row.label,
            "effect": seg.danger.row.effect,
            "detail": seg.danger.detail,
        },
        "inner": [_segment(s) for s in seg.inner],
    }


def evaluation_to_dict(
    evaluation: Evaluation, verdict: VerdictResult | None = None
) -> dict[str, Any]:
    """
    The JSON-able form of an evaluation (schema in ``docs/analysis.md``).

    Args:
        evaluation: What :func:`evaluate_command` returned.
        verdict: Optionally, the verdict under a policy (``evaluation.verdict(policy)``).

    Returns:
        A dict of plain JSON types with camelCase keys, ``schemaVersion`` first.
    """
    failure = evaluation.failure
    out: dict[str, Any] = {
        "schemaVersion": EVALUATION_SCHEMA_VERSION,
        "command": evaluation.command,
        "argv": None if evaluation.argv is None else list(evaluation.argv),
        "analysisOk": evaluation.analysis_ok,
        "failure": None
        if failure is None
        else {
            "construct": failure.construct,
            "position": failure.position,
            "message": failure.message,
        },
        "allowlistSatisfied": evaluation.allowlist_satisfied,
        "durableApprovalSatisfied": evaluation.durable_approval_satisfied,
        "mustAsk": list(evaluation.must_ask),
        "inlineEval": [hit.describe() for hit in evaluation.inline_eval_hits],
        "segments": [_segment(s) for s in evaluation.segments],
        "chainOps": list(evaluation.chain_ops),
        "allowAlways": [
            {
                "pattern": g.pattern,
                "kind": g.kind,
                "preview": g.preview,
                "argPattern": g.arg_pattern,
            }
            for g in evaluation.allow_always
        ],
        "enforcedCommand": evaluation.enforced_command,
    }
    if verdict is not None:
        out["verdict"] = {
            "verdict": str(verdict.verdict),
            "reason": str(verdict.reason),
            "message": verdict.message,
            "triggers": list(verdict.triggers),
        }
    return out


def _entry_text(entry: AllowlistEntry) -> str:
    # The argPattern is part of why the entry matched (a cwd-bound grant is shown short).
    arg = entry.arg_pattern
    if not arg:
        return entry.pattern
    shown = arg[:27] + "…" if arg.startswith("sha256:") and len(arg) > 28 else arg
    return f"{entry.pattern} argPattern={shown}"


def _cell(text: str, width: int) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


def format_evaluation_table(evaluation: Evaluation, verdict: VerdictResult | None = None) -> str:
    """
    A plain-text, segment-by-segment explanation (what ``openclaw-exec explain`` prints).

    Args:
        evaluation: What :func:`evaluate_command` returned.
        verdict: Optionally, the verdict to print on top.

    Returns:
        Lines of text ending with a newline.
    """
    lines: list[str] = []
    if verdict is not None:
        lines.append(f"verdict: {verdict.verdict} ({verdict.reason}) {verdict.message}".rstrip())
    if evaluation.analysis_ok:
        lines.append("analysis: ok")
    else:
        message = evaluation.failure.message if evaluation.failure is not None else "failed"
        lines.append(f"analysis: FAILED: {message}")
    lines.append(f"allowlist satisfied: {'yes' if evaluation.allowlist_satisfied else 'no'}")
    lines.append(f"durable approval: {'yes' if evaluation.durable_approval_satisfied else 'no'}")
    lines.extend(f"must ask: {trigger}" for trigger in evaluation.must_ask)
    if evaluation.segments:
        header = ("#", "argv", "resolved", "satisfied by", "why / entry")
        rows: list[tuple[str, ...]] = []
        for index, top in enumerate(evaluation.segments, start=1):
            for seg in top.walk():
                label = f"{index}" + ("." * seg.depth if seg.depth else "")
                exe = seg.policy_executable
                resolved = exe.path if exe is not None and exe.path else "-"
                by = str(seg.satisfied_by) if seg.satisfied_by is not None else "MISS"
                why = seg.miss_reason or (
                    _entry_text(seg.matched_entry) if seg.matched_entry is not None else ""
                )
                if seg.inline_eval is not None:
                    why = f"{why}; inline eval {seg.inline_eval.describe()}".lstrip("; ")
                argv = ("  " * seg.depth) + " ".join(seg.argv)
                rows.append((label, _cell(argv, 40), _cell(resolved, 32), by, _cell(why, 60)))
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
        lines.append("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip())
        lines.append("  ".join("-" * w for w in widths))
        lines.extend(
            "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
        )
    if evaluation.allow_always:
        lines.append("allow-always would persist:")
        lines.extend(f"  {g.pattern}  ({g.preview})" for g in evaluation.allow_always)
    return "\n".join(lines) + "\n"
