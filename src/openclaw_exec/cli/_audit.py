"""``audit verify|replay``: check the log's chain and re-decide what it recorded."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any, TextIO

import attrs

from openclaw_exec.cli._common import (
    EXIT_DENIED,
    EXIT_OK,
    KNOBS,
    Subcommands,
    _approvals_path,
    _audit_key,
    _emit,
    _json_option,
    _key_option,
    _knob_options,
    _plain,
    _policy_dict,
    _read_file,
    _subcommands,
    _UsageError,
)
from openclaw_exec.cli._policy import _judge
from openclaw_exec.exceptions import OpenClawExecError
from openclaw_exec.policy import ExecPolicy, resolve_policy

REPLAY_SCHEMA_VERSION = 1
"""Bumped only on incompatible changes to ``audit replay --json``."""


def _replay_records(args: argparse.Namespace) -> list[Any]:
    from openclaw_exec.audit import read_audit_log  # noqa: PLC0415

    log = Path(args.log)
    if not log.exists():
        raise _UsageError(f"{log}: no such audit log")
    key = _audit_key(args)
    try:
        return list(read_audit_log(log, key=key))
    except ValueError as exc:
        raise _UsageError(f"cannot replay a damaged log: {exc}") from None


def _cmd_audit_replay(args: argparse.Namespace, out: TextIO) -> int:
    records = _replay_records(args)
    path = _approvals_path(args)
    file = _read_file(path, args)
    override = {name: getattr(args, name) for name, _ in KNOBS if getattr(args, name) is not None}
    ExecPolicy(**override)  # validate the overrides once, before any record
    results: list[dict[str, Any]] = []
    skipped = 0
    for record in records:
        if record.kind != "exec.authorize":
            continue
        if record.command_truncated:  # only a prefix was kept: re-deciding it would mislead
            skipped += 1
            continue
        try:
            recorded_policy = record.exec_policy()
        except OpenClawExecError:
            recorded_policy = ExecPolicy()  # unreadable knobs: the safe defaults
        requested = attrs.evolve(recorded_policy, **override) if override else recorded_policy
        # Grants with a lifetime are judged as they stood when the command was decided.
        resolved = resolve_policy(
            file,
            agent_id=record.agent_id,
            requested=requested,
            now_ms=record.ts_ms,
            session_key=record.session_key,
        )
        cwd = record.cwd if record.cwd and os.path.isabs(record.cwd) else "/"  # noqa: PTH117
        env = {"PATH": record.path_env or os.environ.get("PATH", "/usr/bin:/bin")}
        if "HOME" in os.environ:
            env["HOME"] = os.environ["HOME"]
        judged = _judge(record.command, cwd=cwd, env=env, resolved=resolved)
        old_verdict = record.details.get("verdict")
        if not isinstance(old_verdict, str):
            old_verdict = "allow" if record.allowed else "deny"
        old_reason = record.details.get("verdictReason") or record.reason
        results.append(
            {
                "seq": record.seq,
                "command": record.command,
                "cwd": record.cwd,
                "agentId": record.agent_id,
                "recorded": {
                    "verdict": old_verdict,
                    "reason": old_reason,
                    "allowed": record.allowed,
                    "finalReason": record.reason,
                    "decision": record.decision,
                    "policy": dict(record.policy),
                },
                "replayed": {**judged.verdict, "policy": _policy_dict(resolved.effective)},
                "changed": judged.verdict["verdict"] != old_verdict,
            }
        )
    changed = [r for r in results if r["changed"]]
    code = EXIT_DENIED if changed else EXIT_OK
    if args.json:
        _emit(
            out,
            {
                "schemaVersion": REPLAY_SCHEMA_VERSION,
                "log": str(args.log),
                "approvalsFile": str(path),
                "override": {wire: _plain(getattr(args, n)) for n, wire in KNOBS if n in override},
                "records": len(results),
                "changed": len(changed),
                "skippedTruncated": skipped,
                "results": results,
            },
        )
        return code
    out.write(f"replayed {len(results)} decisions from {args.log} against {path}")
    if override:
        shown = " ".join(f"{wire}={getattr(args, n)}" for n, wire in KNOBS if n in override)
        out.write(f" with {shown}")
    out.write("\n")
    shown_rows = results if args.all else changed
    for row in shown_rows:
        mark = "CHANGED" if row["changed"] else "same   "
        old, new = row["recorded"], row["replayed"]
        out.write(
            f"  {mark} #{row['seq']}: {old['verdict']} ({old['reason']}) -> "
            f"{new['verdict']} ({new['reason']})  {row['command']}\n"
        )
    out.write(f"{len(changed)} of {len(results)} would now be decided differently\n")
    if skipped:
        out.write(
            f"{skipped} records not replayed: their command was too long to store whole "
            "(only a prefix and its hash are kept)\n"
        )
    return code


def _cmd_audit_verify(args: argparse.Namespace, out: TextIO) -> int:
    from openclaw_exec.audit import verify_audit_log  # noqa: PLC0415

    log = Path(args.log)
    if not log.exists():
        raise _UsageError(f"{log}: no such audit log")
    anchor = args.expect_last_hash
    if anchor is not None and not _is_hex64(anchor):
        raise _UsageError(f"--expect-last-hash: expected 64 lower-case hex digits, got {anchor!r}")
    key = _audit_key(args)
    try:
        result = verify_audit_log(log, key=key, expect_last_hash=anchor)
    except ValueError as exc:
        raise _UsageError(str(exc)) from None
    code = EXIT_OK if result.ok else EXIT_DENIED
    if args.json:
        _emit(
            out,
            {
                "log": str(log),
                "ok": result.ok,
                "records": result.records,
                "error": result.error or None,
                "line": result.line,
                "lastHash": result.last_hash,
                "keyed": result.keyed,
                "signed": result.signed,
                "anchored": result.anchored,
            },
        )
        return code
    if not result.ok:
        where = f"line {result.line}" if result.line is not None else "the end"
        out.write(
            f"{log}: BROKEN at {where}: {result.error} ({result.records} good records before it)\n"
        )
        return code
    out.write(f"{log}: ok, {result.records} records, last hash {result.last_hash}\n")
    if result.keyed:
        out.write("  every record's MAC matches the key\n")
    elif result.signed:
        out.write(f"  {result.signed} records carry a MAC that was NOT checked: give --key FILE\n")
    else:
        out.write("  unkeyed log: this detects accidents, not someone who can write the file\n")
    if result.anchored:
        out.write("  the expected last hash is in the log (no tail truncation before it)\n")
    else:
        out.write(
            "  tail not anchored: publish the last hash elsewhere and pass --expect-last-hash\n"
        )
    return code


def _is_hex64(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def register(commands: Subcommands) -> None:
    """Add ``audit verify`` and ``audit replay``."""
    audit = commands.add_parser("audit", help="check and replay the audit log")
    audit_cmds = _subcommands(audit)
    verify = audit_cmds.add_parser(
        "verify",
        help="check the hash chain (and the MACs with --key, the tail with --expect-last-hash)",
    )
    _json_option(verify)
    _key_option(verify)
    verify.add_argument(
        "--expect-last-hash",
        metavar="HASH",
        help="a last hash published earlier: the log must still hold that record",
    )
    verify.add_argument("log", metavar="LOG")
    verify.set_defaults(handler=_cmd_audit_verify)
    replay = audit_cmds.add_parser(
        "replay",
        help="re-decide recorded commands under a changed policy; list what changes",
        description="Each record is re-decided with its recorded policy as the requested "
        "layer (the knobs given here replace it) and the approvals file as the host layer.",
    )
    replay.add_argument("--approvals", metavar="FILE", help="the (changed) approvals file")
    _knob_options(replay, verb="replace the recorded")
    replay.add_argument("--all", action="store_true", help="list unchanged decisions too")
    _key_option(replay)
    _json_option(replay)
    replay.add_argument("log", metavar="LOG")
    replay.set_defaults(handler=_cmd_audit_replay)
