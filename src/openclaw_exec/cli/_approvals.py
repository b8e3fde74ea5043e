"""``approvals get|set|allowlist add|remove``: read and edit the approvals file safely."""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Mapping
from typing import Any, TextIO

import attrs

from openclaw_exec.cli import _grants
from openclaw_exec.cli._common import (
    EXIT_OK,
    KNOBS,
    Subcommands,
    _approvals_path,
    _emit,
    _file_options,
    _json_option,
    _knob_options,
    _read_document,
    _subcommands,
    _UsageError,
)
from openclaw_exec.policy import (
    POLICY_FIELDS,
    AllowlistEntry,
    ApprovalsFile,
    approvals_from_json,
    approvals_to_json,
    check_arg_pattern,
    check_arg_patterns,
    loads_approvals,
)


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
    _describe_deny(defaults, out)
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
        _describe_deny(body, out)
        for grant in body.get("grants") or []:
            arg = f"  args ~ /{grant['argPattern']}/" if grant.get("argPattern") else ""
            session = f"  session {grant['sessionKey']}" if grant.get("sessionKey") else ""
            out.write(f"  grant {grant['id']}: {grant['pattern']}{arg}{session}\n")


def _describe_deny(body: Mapping[str, Any], out: TextIO) -> None:
    for item in body.get("deny") or []:
        rule = {"pattern": item} if isinstance(item, str) else item
        arg = f"  args ~ /{rule['argPattern']}/" if rule.get("argPattern") else ""
        named = f"  (id {rule['id']})" if rule.get("id") else ""
        out.write(f"  deny {rule['pattern']}{arg}{named}\n")


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


def _cmd_approvals_set(args: argparse.Namespace, out: TextIO) -> int:
    store = _store(args)
    knobs = {name: getattr(args, name) for name, _ in KNOBS if getattr(args, name) is not None}
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
        wire = dict((*KNOBS, ("auto_allow_skills", "autoAllowSkills")))

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


def register(commands: Subcommands) -> None:
    """Add ``approvals`` and its subcommands."""
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
    _grants.register(approvals_cmds)
    _grants.register_deny(approvals_cmds)
