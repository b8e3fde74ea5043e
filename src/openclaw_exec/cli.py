"""
The ``openclaw-exec`` command line.

One entry point, the same options everywhere (``--approvals FILE``, ``--agent ID``,
``--json``), documented exit codes:

* ``0``: allowed / ok;
* ``1``: denied or needs approval (``explain``), the check failed (``audit verify``),
  decisions changed (``audit replay``), pairing not accepted (``pairing explain``);
* ``2``: usage or input error (bad options, unreadable or malformed files).

Errors go to stderr as one readable line, never a traceback; ``--json`` prints a
machine-readable document on stdout. Commands: ``policy``, ``explain``,
``approvals get|set|allowlist add|remove``, ``pairing explain``, ``audit verify|replay``
and ``demo``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import stat
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

import attrs

from openclaw_exec._version import __version__
from openclaw_exec.exceptions import OpenClawExecError
from openclaw_exec.policy import (
    POLICY_FIELDS,
    AllowlistEntry,
    ApprovalsFile,
    ExecPolicy,
    ResolvedPolicy,
    approvals_from_json,
    approvals_to_json,
    check_arg_pattern,
    check_arg_patterns,
    loads_approvals,
    resolve_policy,
)

__all__ = [
    "EXIT_DENIED",
    "EXIT_OK",
    "EXIT_USAGE",
    "EXPLAIN_SCHEMA_VERSION",
    "REPLAY_SCHEMA_VERSION",
    "build_parser",
    "main",
]

EXIT_OK = 0
EXIT_DENIED = 1
EXIT_USAGE = 2
EXPLAIN_SCHEMA_VERSION = 1
"""Bumped only on incompatible changes to ``explain --json`` (documented in docs/cli.md)."""
REPLAY_SCHEMA_VERSION = 1
"""Bumped only on incompatible changes to ``audit replay --json``."""

_Handler = Callable[[argparse.Namespace, TextIO], int]
_KNOBS = (
    ("security", "security"),
    ("ask", "ask"),
    ("ask_fallback", "askFallback"),
    ("sandbox", "sandbox"),
)


class _UsageError(Exception):
    """Bad input on the command line; reported on stderr with exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _emit(out: TextIO, document: object) -> None:
    json.dump(document, out, indent=2, ensure_ascii=False)
    out.write("\n")


def _plain(value: object) -> object:
    return value if value is None or isinstance(value, bool) else str(value)


def _policy_dict(policy: ExecPolicy) -> dict[str, Any]:
    return {wire: _plain(getattr(policy, name)) for name, wire in POLICY_FIELDS}


def _approvals_path(args: argparse.Namespace) -> Path:
    from openclaw_exec.adapters.filestore import default_approvals_path  # noqa: PLC0415

    return Path(args.approvals) if args.approvals else default_approvals_path()


def _read_file(path: Path, args: argparse.Namespace | None = None) -> ApprovalsFile | None:
    """Read the approvals file; one named explicitly with ``--approvals`` must exist."""
    from openclaw_exec.adapters.filestore import read_approvals  # noqa: PLC0415

    file = read_approvals(path)
    if file is None and args is not None and args.approvals:
        # A typo in an explicit path must not quietly mean "no host restrictions".
        raise _UsageError(
            f"{path}: no such approvals file (omit --approvals to use the default location)"
        )
    return file


def _requested(args: argparse.Namespace) -> tuple[ExecPolicy | None, set[str]]:
    given = {
        name: getattr(args, name) for name, _ in _KNOBS if getattr(args, name, None) is not None
    }
    if not given:
        return None, set()
    return ExecPolicy(**given), set(given)


def resolve_from_args(args: argparse.Namespace) -> tuple[Path, ResolvedPolicy]:
    """Read the approvals file named by the options and resolve the policy they ask for."""
    path = _approvals_path(args)
    file = _read_file(path, args)
    requested, fields = _requested(args)
    return path, resolve_policy(
        file, agent_id=args.agent, requested=requested, requested_fields=fields
    )


# ---------------------------------------------------------------------- policy


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
    }


def _cmd_policy(args: argparse.Namespace, out: TextIO) -> int:
    path, resolved = resolve_from_args(args)
    if args.json:
        _emit(out, _policy_json(path, resolved))
        return EXIT_OK
    exists = "" if path.exists() else " (not found: no host restrictions)"
    out.write(f"approvals file: {path}{exists}\n")
    out.write(f"agent: {resolved.agent_id}\n\n")
    out.writelines(f"  {origin.explain()}\n" for origin in resolved.origins.values())
    out.write("\nallowlist:\n")
    if not resolved.allowlist:
        out.write("  (empty)\n")
    for entry in resolved.allowlist:
        durable = "  [allow-always]" if entry.is_durable else ""
        out.write(f"  {entry.pattern}{durable}\n")
    return EXIT_OK


# ---------------------------------------------------------------------- explain / replay


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
) -> _Judgement:
    """The policy's verdict for *command*, as the guard computes it before asking anyone."""
    from openclaw_exec.analysis import evaluate_command  # noqa: PLC0415
    from openclaw_exec.analysis._evaluate import pattern_home  # noqa: PLC0415
    from openclaw_exec.protocol import mentions_approve_command  # noqa: PLC0415

    effective = resolved.effective
    if mentions_approve_command(command):
        refused = {
            "verdict": "deny",
            "reason": "approve-command-refused",
            "message": "exec cannot run /approve commands",
            "triggers": [],
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
    )
    verdict = evaluation.verdict(effective)
    document = {
        "verdict": str(verdict.verdict),
        "reason": str(verdict.reason),
        "message": verdict.message,
        "triggers": list(verdict.triggers),
    }
    return _Judgement(document, evaluation, allowed=document["verdict"] == "allow")


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
    # What the guard would check with env=None: the host's environment, stripped.
    judged = _judge(
        command,
        cwd=cwd,
        env=sanitize_inherited_env(os.environ)[0],
        resolved=resolved,
        danger_profiles=not args.no_danger_profiles,
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
    out.write(f"cwd: {cwd}\nagent: {resolved.agent_id}\n")
    out.write(
        f"policy: security={policy.security} ask={policy.ask} "
        f"askFallback={policy.ask_fallback}  (openclaw-exec policy: where each came from)\n"
    )
    out.write(f"verdict: {str(verdict['verdict']).upper()} ({verdict['reason']}) ")
    out.write(f"{verdict['message']}\n")
    if verdict["triggers"]:
        out.write(f"triggers: {', '.join(verdict['triggers'])}\n")
    if judged.evaluation is not None:
        out.write("\n" + format_evaluation_table(judged.evaluation))
    return code


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
    override = {name: getattr(args, name) for name, _ in _KNOBS if getattr(args, name) is not None}
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
        resolved = resolve_policy(file, agent_id=record.agent_id, requested=requested)
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
                "override": {wire: _plain(getattr(args, n)) for n, wire in _KNOBS if n in override},
                "records": len(results),
                "changed": len(changed),
                "skippedTruncated": skipped,
                "results": results,
            },
        )
        return code
    out.write(f"replayed {len(results)} decisions from {args.log} against {path}")
    if override:
        shown = " ".join(f"{wire}={getattr(args, n)}" for n, wire in _KNOBS if n in override)
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


# ---------------------------------------------------------------------- approvals


def _store(args: argparse.Namespace) -> Any:
    from openclaw_exec.adapters.filestore import ApprovalsStore  # noqa: PLC0415

    return ApprovalsStore(_approvals_path(args))


def _redacted(file: ApprovalsFile) -> dict[str, Any]:
    document = approvals_to_json(file)
    socket = document.get("socket")
    if isinstance(socket, dict) and "token" in socket:
        document["socket"] = {k: v for k, v in socket.items() if k != "token"}
    return document


def _describe_file(file: ApprovalsFile, out: TextIO) -> None:
    document = _redacted(file)
    defaults = document.get("defaults") or {}
    out.write("defaults: " + (_knob_text(defaults) or "(none set)") + "\n")
    agents = document.get("agents") or {}
    if not agents:
        out.write("agents: (none)\n")
    for agent_id, body in agents.items():
        knobs = _knob_text(body)
        out.write(f"agents[{json.dumps(agent_id)}]: {knobs or '(no knobs set)'}\n")
        entries = body.get("allowlist") or []
        for entry in entries:
            durable = "  [allow-always]" if entry.get("source") == "allow-always" else ""
            arg = f"  args ~ /{entry['argPattern']}/" if entry.get("argPattern") else ""
            out.write(f"  - {entry['pattern']}{arg}{durable}  (id {entry.get('id') or '-'})\n")


def _knob_text(body: Mapping[str, Any]) -> str:
    names = [wire for _, wire in POLICY_FIELDS]
    return " ".join(f"{n}={json.dumps(body[n]).strip(chr(34))}" for n in names if n in body)


def _cmd_approvals_get(args: argparse.Namespace, out: TextIO) -> int:
    from openclaw_exec.adapters.filestore import read_approvals_bytes  # noqa: PLC0415

    path = _approvals_path(args)
    raw = read_approvals_bytes(path)
    if raw is None and args.approvals:
        raise _UsageError(
            f"{path}: no such approvals file (omit --approvals to use the default location)"
        )
    file = None if raw is None else loads_approvals(raw, source=str(path))
    raw_hash = None if raw is None else hashlib.sha256(raw).hexdigest()
    if args.json:
        _emit(
            out,
            {
                "path": str(path),
                "exists": file is not None,
                "hash": raw_hash,
                "file": _redacted(file or ApprovalsFile()),
            },
        )
        return EXIT_OK
    if file is None:
        out.write(f"approvals file: {path} (not found: no host restrictions)\n")
        return EXIT_OK
    out.write(f"approvals file: {path}\nsha256: {raw_hash}\n")
    _describe_file(file, out)
    return EXIT_OK


def _parse_bool(text: str) -> bool:
    value = text.strip().lower()
    if value in {"true", "on", "yes", "1"}:
        return True
    if value in {"false", "off", "no", "0"}:
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


#: The most any document given on the command line may hold (the approvals file's own cap).
MAX_INPUT_BYTES = 16 * 1024 * 1024


def _read_document(source: str) -> bytes:
    """Read a document named on the command line (``-``: stdin), never more than the cap."""
    name = "<stdin>" if source == "-" else source
    if source == "-":
        stream = getattr(sys.stdin, "buffer", None)
        if stream is None:
            data = sys.stdin.read(MAX_INPUT_BYTES + 1).encode("utf-8")
        else:
            data = stream.read(MAX_INPUT_BYTES + 1)
    else:
        data = _read_path(source)
    if len(data) > MAX_INPUT_BYTES:
        raise _UsageError(f"{name}: larger than the {MAX_INPUT_BYTES} bytes accepted")
    return data


def _read_path(source: str) -> bytes:
    # Pipes are fine (`--file <(...)`), a folder is not; a FIFO without a writer reads as
    # empty instead of hanging, because the open does not block.
    try:
        fd = os.open(source, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    except OSError as exc:
        raise _UsageError(f"{source}: {exc.strerror or exc}") from None
    try:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise _UsageError(f"{source}: is a folder, expected a file")
        os.set_blocking(fd, True)
        from openclaw_exec.adapters.filestore import read_at_most  # noqa: PLC0415

        return read_at_most(fd, MAX_INPUT_BYTES)
    except OSError as exc:
        raise _UsageError(f"{source}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def _cmd_approvals_set(args: argparse.Namespace, out: TextIO) -> int:
    store = _store(args)
    knobs = {name: getattr(args, name) for name, _ in _KNOBS if getattr(args, name) is not None}
    if args.auto_allow_skills is not None:
        knobs["auto_allow_skills"] = args.auto_allow_skills
    if args.file is not None:
        if knobs or args.agent is not None:
            raise _UsageError("--file replaces the whole document: give no knobs or --agent")
        source = "<stdin>" if args.file == "-" else args.file
        incoming = loads_approvals(_read_document(args.file), source=source)
        # Reading tolerates an argPattern that never matches; writing one is refused.
        check_arg_patterns(incoming, source=source)

        def replace(current: ApprovalsFile) -> ApprovalsFile:
            # As `openclaw approvals set`: the socket (path, token) is kept when omitted.
            if incoming.socket is None and current.socket is not None:
                return attrs.evolve(incoming, socket=current.socket)
            return incoming

        updated = store.update(replace)
    elif not knobs:
        raise _UsageError(
            "nothing to set: give --security, --ask, --ask-fallback, --sandbox, "
            "--auto-allow-skills or --file"
        )
    elif args.agent is None:
        updated = store.set_defaults(**knobs)
    else:
        agent_id = args.agent
        wire = dict((*_KNOBS, ("auto_allow_skills", "autoAllowSkills")))

        def change(current: ApprovalsFile) -> ApprovalsFile:
            document = approvals_to_json(current)
            agents = dict(document.get("agents") or {})
            body = dict(agents.get(agent_id) or {})
            for name, value in knobs.items():
                body[wire[name]] = value
            agents[agent_id] = body
            document["agents"] = agents
            return approvals_from_json(document, source=str(store.path))

        updated = store.update(change)
    if args.json:
        _emit(out, {"path": str(store.path), "file": _redacted(updated)})
        return EXIT_OK
    out.write(f"updated {store.path}\n")
    _describe_file(updated, out)
    return EXIT_OK


def _cmd_allowlist_add(args: argparse.Namespace, out: TextIO) -> int:
    pattern = args.pattern.strip()
    if not pattern:
        raise _UsageError("the pattern is empty")
    store = _store(args)
    before = store.load()
    check_arg_pattern(
        args.arg_pattern,
        source=str(store.path),
        json_path=f"agents[{json.dumps(args.agent)}].allowlist[+].argPattern (--arg-pattern)",
    )
    entry = AllowlistEntry(pattern=pattern, arg_pattern=args.arg_pattern)
    updated = store.add_allowlist_entry(args.agent, entry)
    added = before is None or updated.agents != before.agents
    if args.json:
        _emit(
            out,
            {
                "path": str(store.path),
                "agentId": args.agent,
                "pattern": pattern,
                "added": added,
                "file": _redacted(updated),
            },
        )
        return EXIT_OK
    what = "added" if added else "already present"
    out.write(f"{what}: {pattern} in agents[{json.dumps(args.agent)}] of {store.path}\n")
    return EXIT_OK


def _cmd_allowlist_remove(args: argparse.Namespace, out: TextIO) -> int:
    store = _store(args)
    before = store.load()
    agent = before.agents.get(args.agent) if before is not None else None
    if agent is None or not any(args.pattern in (e.pattern, e.id) for e in agent.allowlist):
        raise _UsageError(
            f"no allowlist entry with pattern or id {args.pattern!r} in "
            f"agents[{json.dumps(args.agent)}] of {store.path}"
        )
    updated = store.remove_allowlist_entry(args.agent, args.pattern)
    if args.json:
        _emit(
            out,
            {
                "path": str(store.path),
                "agentId": args.agent,
                "removed": args.pattern,
                "file": _redacted(updated),
            },
        )
        return EXIT_OK
    out.write(f"removed: {args.pattern} from agents[{json.dumps(args.agent)}] of {store.path}\n")
    return EXIT_OK


# ---------------------------------------------------------------------- pairing, audit, demo


def _load_json(source: str) -> object:
    raw = _read_document(source)
    name = "<stdin>" if source == "-" else source
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise _UsageError(f"{name}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise _UsageError(
            f"{name}: not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None


def _cmd_pairing_explain(args: argparse.Namespace, out: TextIO) -> int:
    from openclaw_exec.pairing import (  # noqa: PLC0415
        decide_situation,
        decision_to_json,
        explain_decision,
        situation_from_json,
    )

    situation = situation_from_json(_load_json(args.file))
    decision = decide_situation(situation)
    code = EXIT_OK if decision.accepted else EXIT_DENIED
    if args.json:
        _emit(out, decision_to_json(decision))
    else:
        out.write(explain_decision(decision) + "\n")
    return code


#: Where the CLI looks for the audit key when --key is not given.
AUDIT_KEY_ENV = "OPENCLAW_EXEC_AUDIT_KEY_FILE"


def _audit_key(args: argparse.Namespace) -> bytes | None:
    from openclaw_exec.audit import load_audit_key  # noqa: PLC0415

    source = args.key or os.environ.get(AUDIT_KEY_ENV) or None
    if source is None:
        return None
    try:
        return load_audit_key(source)
    except ValueError as exc:
        raise _UsageError(str(exc)) from None


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


def _cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    from openclaw_exec._demo import run_demo  # noqa: PLC0415

    if args.timeout_ms is not None and args.timeout_ms < 1:
        raise _UsageError("--timeout-ms must be a positive number of milliseconds")
    return run_demo(
        out, as_json=args.json, interactive=args.interactive, timeout_ms=args.timeout_ms
    )


# ---------------------------------------------------------------------- parser


def _json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON document")


def _file_options(parser: argparse.ArgumentParser, *, agent_default: str | None = None) -> None:
    parser.add_argument(
        "--approvals",
        metavar="FILE",
        help="the approvals file (default: $OPENCLAW_STATE_DIR/exec-approvals.json "
        "or ~/.openclaw/exec-approvals.json)",
    )
    shown = agent_default or "main"
    parser.add_argument("--agent", metavar="ID", help=f"agent id (default: {shown})")
    if agent_default is not None:  # applied after the options before the subcommand
        parser.set_defaults(agent_default=agent_default)


def _key_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--key",
        metavar="FILE",
        help=f"the audit key file: every record's MAC is checked (default: ${AUDIT_KEY_ENV})",
    )


def _knob_options(parser: argparse.ArgumentParser, *, verb: str = "requested") -> None:
    parser.add_argument("--security", metavar="VALUE", help=f"{verb} security")
    parser.add_argument("--ask", metavar="VALUE", help=f"{verb} ask")
    parser.add_argument("--ask-fallback", metavar="VALUE", help=f"{verb} askFallback")
    parser.add_argument(
        "--sandbox", metavar="VALUE", help=f"{verb} sandbox (off|preferred|required)"
    )


def _add_policy_options(parser: argparse.ArgumentParser) -> None:
    _file_options(parser)
    _knob_options(parser)
    _json_option(parser)


def _subcommands(parser: argparse.ArgumentParser) -> argparse._SubParsersAction[_Parser]:
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    return commands


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``openclaw-exec`` (exposed for docs and tests)."""
    parser = _Parser(
        prog="openclaw-exec",
        description="Control what shell commands AI agents may run.",
        epilog="exit codes: 0 allowed/ok, 1 denied or needs approval, 2 usage or input error",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    # The common options are accepted before the subcommand too (`openclaw-exec --json
    # policy`); they land in their own dests and are merged by _merge_globals.
    parser.add_argument("--json", dest="global_json", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--approvals",
        dest="global_approvals",
        metavar="FILE",
        help="the approvals file (also accepted after the subcommand)",
    )
    parser.add_argument(
        "--agent",
        dest="global_agent",
        metavar="ID",
        help="agent id (also accepted after the subcommand)",
    )
    commands = _subcommands(parser)

    policy = commands.add_parser(
        "policy", help="print the effective policy and where each knob came from"
    )
    _add_policy_options(policy)
    policy.set_defaults(handler=_cmd_policy)

    explain = commands.add_parser(
        "explain",
        help="would this command run? the verdict and a segment-by-segment table",
        description="Explain the verdict for COMMAND (one argument: shell text; several: "
        "an argv, quoted with shlex.join). Options go before COMMAND; everything from "
        "COMMAND on is the command. A command starting with '-' needs -- before it.",
    )
    _add_policy_options(explain)
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

    approvals = commands.add_parser(
        "approvals", help="read and edit the approvals file safely (locked, atomic)"
    )
    approvals_cmds = _subcommands(approvals)
    get = approvals_cmds.add_parser("get", help="show the file (the socket token is never shown)")
    get.add_argument("--approvals", metavar="FILE", help="the approvals file")
    _json_option(get)
    get.set_defaults(handler=_cmd_approvals_get)
    setter = approvals_cmds.add_parser(
        "set", help="set knobs of defaults (or of --agent), or replace the file with --file"
    )
    setter.add_argument("--approvals", metavar="FILE", help="the approvals file")
    setter.add_argument(
        "--agent", metavar="ID", default=None, help="set the knobs of agents.ID (default: defaults)"
    )
    _knob_options(setter, verb="set")
    setter.add_argument(
        "--auto-allow-skills", metavar="BOOL", type=_parse_bool, help="true or false"
    )
    setter.add_argument("--file", metavar="FILE", help="replace the document ('-': stdin)")
    _json_option(setter)
    setter.set_defaults(handler=_cmd_approvals_set)
    allowlist = approvals_cmds.add_parser("allowlist", help="add or remove allowlist entries")
    allowlist_cmds = _subcommands(allowlist)
    add = allowlist_cmds.add_parser("add", help="add PATTERN to agents.ID.allowlist")
    _file_options(add, agent_default="*")
    add.add_argument("--arg-pattern", metavar="REGEX", help="argPattern (regex over arguments)")
    add.add_argument("pattern", metavar="PATTERN")
    _json_option(add)
    add.set_defaults(handler=_cmd_allowlist_add)
    remove = allowlist_cmds.add_parser("remove", help="remove entries by pattern or id")
    _file_options(remove, agent_default="*")
    remove.add_argument("pattern", metavar="PATTERN_OR_ID")
    _json_option(remove)
    remove.set_defaults(handler=_cmd_allowlist_remove)

    pairing = commands.add_parser("pairing", help="gateway pairing decisions")
    pairing_cmds = _subcommands(pairing)
    pexplain = pairing_cmds.add_parser(
        "explain", help="decide a connect situation (JSON, see docs/pairing.md) and explain it"
    )
    _json_option(pexplain)
    pexplain.add_argument("file", metavar="FILE", help="the situation ('-': stdin)")
    pexplain.set_defaults(handler=_cmd_pairing_explain)

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

    demo = commands.add_parser(
        "demo", help="a scripted agent session on embedded defaults (no setup)"
    )
    _json_option(demo)
    demo.add_argument("--interactive", action="store_true", help="you answer the approvals (stdin)")
    demo.add_argument("--timeout-ms", metavar="MS", type=int, help="approval timeout")
    demo.set_defaults(handler=_cmd_demo)
    return parser


_GLOBALS = (
    ("global_json", "json", "--json"),
    ("global_approvals", "approvals", "--approvals"),
    ("global_agent", "agent", "--agent"),
)


def _merge_globals(args: argparse.Namespace) -> None:
    """Apply options given before the subcommand; one the subcommand lacks is an error."""
    for global_name, name, flag in _GLOBALS:
        value = getattr(args, global_name)
        if value in (None, False):
            continue
        if not hasattr(args, name):
            raise _UsageError(f"{flag} does not apply to this command")
        current = getattr(args, name)
        if current not in (None, False) and current != value:
            raise _UsageError(f"{flag} given twice with different values")
        setattr(args, name, value)
    if getattr(args, "agent", "") is None and getattr(args, "agent_default", None):
        args.agent = args.agent_default


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (never raises, never prints a traceback)."""
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:
            hint = ""
            if getattr(args, "command", None) == "explain":
                shown = shlex.join(extra)
                hint = f" (a command starting with '-' needs --: openclaw-exec explain -- {shown})"
            parser.error(f"unrecognized arguments: {' '.join(extra)}{hint}")
    except SystemExit as exc:  # --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        _merge_globals(args)
    except _UsageError as exc:
        return _report(exc)
    handler: _Handler = args.handler
    try:
        return handler(args, sys.stdout)
    except KeyboardInterrupt:
        sys.stderr.write("openclaw-exec: interrupted\n")
        return 130
    except Exception as exc:  # noqa: BLE001 - "no tracebacks, ever": every error is one line
        return _report(_leaf(exc))


def _leaf(exc: BaseException) -> BaseException:
    """The first real error inside (nested) exception groups raised by task groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _report(exc: BaseException) -> int:
    if isinstance(exc, BrokenPipeError):  # e.g. piped into head: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_USAGE
    if isinstance(exc, (OpenClawExecError, _UsageError)):
        sys.stderr.write(f"openclaw-exec: error: {exc}\n")
    elif isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        sys.stderr.write(f"openclaw-exec: error: {where}{exc.strerror or exc}\n")
    else:
        sys.stderr.write(
            f"openclaw-exec: error: unexpected {type(exc).__name__}: {exc} (please report this)\n"
        )
    return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
