"""``policy`` and ``explain``: the effective policy, and the verdict for one command."""

from __future__ import annotations

import argparse
import os
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

import attrs

from openclaw_exec.cli._common import (
    EXIT_DENIED,
    EXIT_OK,
    Subcommands,
    _add_policy_options,
    _emit,
    _plain,
    _policy_dict,
    _UsageError,
    exec_config_from_args,
    resolve_from_args,
)
from openclaw_exec.policy import DenyCheck, ExecConfig, ResolvedPolicy, decide_verdict

EXPLAIN_SCHEMA_VERSION = 1
"""Bumped only on incompatible changes to ``explain --json`` (documented in docs/cli.md)."""


def _policy_json(path: Path, resolved: ResolvedPolicy) -> dict[str, Any]:
    return {
        "approvalsFile": str(path),
        "agentId": resolved.agent_id,
        "effective": _policy_dict(resolved.effective),
        "fields": {
            wire: {
                "value": _plain(origin.value),
                "layer": origin.layer.value,
                "requested": _plain(origin.requested),
                "host": _plain(origin.host),
                "hostLayer": origin.host_layer.value,
                "clamped": origin.clamped,
            }
            for wire, origin in resolved.origins.items()
        },
        "allowlist": [entry.pattern for entry in resolved.allowlist],
        "preset": resolved.preset.value,
        "deny": [
            {"where": s.where, "pattern": s.rule.pattern, "argPattern": s.rule.arg_pattern}
            for s in resolved.deny
        ],
        "grants": [{"where": g.where, "id": g.grant.id} for g in resolved.grants],
    }


def _write_config(out: TextIO, config: ExecConfig | None) -> None:
    if config is None:
        return
    mode = config.effective_mode()
    note = ": allowlist misses go to the embedder's reviewer first" if config.auto_review else ""
    out.write(f"config: {config.path} (mode {mode}{note})\n")


def _agent_line(args: argparse.Namespace, resolved: ResolvedPolicy) -> str:
    if not args.agent and resolved.preset.no_agent_key is None:
        return f'agent: (none: {resolved.preset.version} reads agents["*"] and defaults only)'
    return f"agent: {resolved.agent_id}"


def _cmd_policy(args: argparse.Namespace, out: TextIO) -> int:
    path, resolved = resolve_from_args(args)
    if args.json:
        _emit(out, _policy_json(path, resolved))
        return EXIT_OK
    exists = "" if path.exists() else " (not found: no host restrictions)"
    out.write(f"approvals file: {path}{exists}\n")
    _write_config(out, exec_config_from_args(args))
    out.write(f"{_agent_line(args, resolved)}\npreset: {resolved.preset}\n\n")
    out.writelines(f"  {origin.explain()}\n" for origin in resolved.origins.values())
    out.write("\nallowlist:\n")
    if not resolved.allowlist:
        out.write("  (empty)\n")
    for entry in resolved.allowlist:
        durable = "  [allow-always]" if entry.is_durable else ""
        grant = resolved.grant_for(entry)
        origin = f"  [grant {grant.grant.id}]" if grant is not None else ""
        out.write(f"  {entry.pattern}{durable}{origin}\n")
    if resolved.deny:
        out.write("\ndeny rules (they win over everything):\n")
    for scoped in resolved.deny:
        args_text = f" argPattern {scoped.rule.arg_pattern}" if scoped.rule.arg_pattern else ""
        out.write(f"  {scoped.rule.pattern}{args_text}  ({scoped.where})\n")
    return EXIT_OK


@attrs.frozen
class _Judgement:
    verdict: dict[str, Any]
    evaluation: Any  # Evaluation | None
    allowed: bool


def _judge(
    command: str,
    *,
    cwd: str,
    env: Mapping[str, str],
    resolved: ResolvedPolicy,
    danger_profiles: bool = True,
    analysis_options: Mapping[str, Any] | None = None,
) -> _Judgement:
    """The policy's verdict for *command*, as the guard computes it before asking anyone."""
    from openclaw_exec.analysis import evaluate_command  # noqa: PLC0415
    from openclaw_exec.analysis._evaluate import pattern_home  # noqa: PLC0415
    from openclaw_exec.protocol import mentions_approve_command  # noqa: PLC0415

    effective = resolved.effective
    if mentions_approve_command(command):
        refused: dict[str, Any] = {
            "verdict": "deny",
            "reason": "approve-command-refused",
            "message": "exec cannot run /approve commands",
            "triggers": [],
            "rule": None,
        }
        return _Judgement(refused, None, allowed=False)
    # Analysed even under security=deny, so the table shows what the command would do.
    evaluation = evaluate_command(
        command,
        cwd=cwd,
        env=env,
        allowlist=resolved.allowlist,
        auto_allow_skills=effective.auto_allow_skills,
        danger_profiles=danger_profiles,
        allowlist_home=pattern_home(os.environ) or os.path.expanduser("~"),  # noqa: PTH111
        **dict(analysis_options or {}),
    )
    verdict = decide_verdict(
        effective,
        analysis_ok=evaluation.analysis_ok,
        allowlist_satisfied=evaluation.allowlist_satisfied,
        durable_approval_satisfied=evaluation.durable_approval_satisfied,
        force_ask=evaluation.must_ask,
        deny=deny_check_for(resolved, evaluation, cwd=cwd, env=env),
    )
    document = {
        "verdict": str(verdict.verdict),
        "reason": str(verdict.reason),
        "message": verdict.message,
        "triggers": list(verdict.triggers),
        "rule": verdict.rule,
    }
    return _Judgement(document, evaluation, allowed=document["verdict"] == "allow")


def deny_check_for(
    resolved: ResolvedPolicy, evaluation: Any, *, cwd: str, env: Mapping[str, str]
) -> DenyCheck | None:
    """The deny rules' answer for *evaluation*, as the guard computes it (``None``: no rules)."""
    from openclaw_exec.analysis import OsResolver, check_deny  # noqa: PLC0415
    from openclaw_exec.analysis._evaluate import pattern_home  # noqa: PLC0415

    if not resolved.deny:
        return None
    return check_deny(
        resolved.deny,
        evaluation,
        cwd=cwd,
        home=pattern_home(os.environ) or os.path.expanduser("~"),  # noqa: PTH111
        path_env=env.get("PATH", ""),
        resolver=OsResolver(),
    )


def _command_from(words: Sequence[str]) -> str:
    if words and words[0] == "--":  # `explain [options] -- COMMAND...`
        words = words[1:]
    if not words:
        raise _UsageError("no command given: openclaw-exec explain [options] -- COMMAND ...")
    if len(words) == 1:
        return words[0]
    return shlex.join(words)


def _absolute_dir(value: str | None) -> str:
    return os.path.abspath(value if value is not None else os.getcwd())  # noqa: PTH100, PTH109


def _cmd_explain(args: argparse.Namespace, out: TextIO) -> int:
    from openclaw_exec.analysis import (  # noqa: PLC0415
        evaluation_to_dict,
        format_evaluation_table,
        sanitize_inherited_env,
    )

    command = _command_from(args.words)
    if not command.strip():
        raise _UsageError("the command is empty")
    cwd = os.path.realpath(_absolute_dir(args.cwd))
    path, resolved = resolve_from_args(args)
    config = exec_config_from_args(args)
    # What the guard would check with env=None: the host's environment, stripped.
    judged = _judge(
        command,
        cwd=cwd,
        env=sanitize_inherited_env(os.environ)[0],
        resolved=resolved,
        danger_profiles=not args.no_danger_profiles,
        analysis_options=config.analysis_options() if config is not None else None,
    )
    code = EXIT_OK if judged.allowed else EXIT_DENIED
    if args.json:
        _emit(
            out,
            {
                "schemaVersion": EXPLAIN_SCHEMA_VERSION,
                "command": command,
                "cwd": cwd,
                "agentId": resolved.agent_id,
                "approvalsFile": str(path),
                "preset": resolved.preset.value,
                "policy": _policy_dict(resolved.effective),
                "verdict": judged.verdict,
                "allowed": judged.allowed,
                "exitCode": code,
                "evaluation": None
                if judged.evaluation is None
                else evaluation_to_dict(judged.evaluation),
            },
        )
        return code
    verdict = judged.verdict
    policy = resolved.effective
    out.write(f"command: {command}\n")
    exists = "" if path.exists() else " (not found: no host restrictions)"
    out.write(f"approvals file: {path}{exists}\n")
    _write_config(out, config)
    out.write(f"cwd: {cwd}\n{_agent_line(args, resolved)}\npreset: {resolved.preset}\n")
    out.write(
        f"policy: security={policy.security} ask={policy.ask} "
        f"askFallback={policy.ask_fallback}  (openclaw-exec policy: where each came from)\n"
    )
    out.write(f"verdict: {str(verdict['verdict']).upper()} ({verdict['reason']}) ")
    out.write(f"{verdict['message']}\n")
    if verdict["triggers"]:
        out.write(f"triggers: {', '.join(verdict['triggers'])}\n")
    if verdict.get("rule"):
        out.write(f"deny rule: {verdict['rule']}\n")
    if judged.evaluation is not None:
        out.write("\n" + format_evaluation_table(judged.evaluation))
    return code


def register(commands: Subcommands) -> None:
    """Add ``policy`` and ``explain``."""
    policy = commands.add_parser(
        "policy", help="print the effective policy and where each knob came from"
    )
    _add_policy_options(policy)
    policy.add_argument("--session", metavar="KEY", help="judge grants for this session key")
    policy.set_defaults(handler=_cmd_policy)

    explain = commands.add_parser(
        "explain",
        help="would this command run? the verdict and a segment-by-segment table",
        description="Explain the verdict for COMMAND (one argument: shell text; several: "
        "an argv, quoted with shlex.join). Options go before COMMAND; everything from "
        "COMMAND on is the command. A command starting with '-' needs -- before it.",
    )
    _add_policy_options(explain)
    explain.add_argument("--session", metavar="KEY", help="judge grants for this session key")
    explain.add_argument("--cwd", metavar="DIR", help="working directory (default: current)")
    explain.add_argument(
        "--no-danger-profiles",
        action="store_true",
        help="no argument-level danger profiles: OpenClaw-identical verdicts",
    )
    # REMAINDER: everything from the first word of the command on is the command, so
    # `explain ls -la` works without `--` (options go before the command).
    explain.add_argument("words", nargs=argparse.REMAINDER, metavar="COMMAND", help="the command")
    explain.set_defaults(handler=_cmd_explain)
