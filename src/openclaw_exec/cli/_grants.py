"""``approvals grants list|add|revoke|prune`` and ``approvals deny add|remove``."""

from __future__ import annotations

import argparse
import json
import time
import uuid
from typing import Any, TextIO

import attrs

from openclaw_exec.cli._common import (
    EXIT_OK,
    Subcommands,
    _approvals_path,
    _emit,
    _json_option,
    _read_file,
    _subcommands,
    _UsageError,
)
from openclaw_exec.policy import (
    AgentPolicy,
    ApprovalsFile,
    DenyRule,
    Grant,
    add_grant,
    approvals_to_json,
    check_arg_pattern,
    deny_rule_problem,
    drop_inactive_grants,
    expiry_from_days,
    revoke_grant,
)

_MINUTE_MS = 60_000


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _store(args: argparse.Namespace) -> Any:
    from openclaw_exec.adapters.filestore import ApprovalsStore  # noqa: PLC0415

    return ApprovalsStore(_approvals_path(args))


def _grant_json(grant: Grant) -> dict[str, Any]:
    # The grant's own JSON, exactly as the file holds it.
    file = ApprovalsFile().with_agent("x", _agent_with(grant))
    return dict(approvals_to_json(file)["agents"]["x"]["grants"][0])


def _agent_with(grant: Grant) -> Any:
    from openclaw_exec.policy import AgentPolicy  # noqa: PLC0415

    return AgentPolicy(grants=(grant,))


def _rows(file: ApprovalsFile | None, agent: str | None) -> list[tuple[str, int, Grant]]:
    if file is None:
        return []
    return [
        (key, index, grant)
        for key, body in file.agents.items()
        if agent is None or key == agent
        for index, grant in enumerate(body.grants)
    ]


def _cmd_list(args: argparse.Namespace, out: TextIO) -> int:
    path = _approvals_path(args)
    file = _read_file(path, args)
    now = args.now_ms if args.now_ms is not None else _now_ms()
    rows = _rows(file, args.agent)
    if args.json:
        _emit(
            out,
            {
                "path": str(path),
                "nowMs": now,
                "grants": [
                    {
                        "agentId": key,
                        "state": grant.state(now).value,
                        "describe": grant.describe_state(now),
                        **_grant_json(grant),
                    }
                    for key, _index, grant in rows
                ],
            },
        )
        return EXIT_OK
    if not rows:
        out.write("no grants\n")
        return EXIT_OK
    for key, _index, grant in rows:
        scope = f" session={grant.session_key}" if grant.session_key else ""
        args_text = f" argPattern={json.dumps(grant.arg_pattern)}" if grant.arg_pattern else ""
        label = f"  ({grant.label})" if grant.label else ""
        out.write(
            f"{grant.id}  agents[{json.dumps(key)}]  {grant.pattern}{args_text}{scope}"
            f"  uses={grant.use_count}  {grant.describe_state(now)}{label}\n"
        )
    out.write("revoke with: openclaw-exec approvals grants revoke ID\n")
    return EXIT_OK


def _expiry(args: argparse.Namespace, now: int) -> int | None:
    given = [
        flag
        for flag, value in (
            ("--expires-in-days", args.expires_in_days),
            ("--expires-in-minutes", args.expires_in_minutes),
            ("--until-revoked", args.until_revoked or None),
        )
        if value is not None
    ]
    if len(given) != 1:
        # A grant nobody meant to be permanent must not become so by omission.
        raise _UsageError(
            "give exactly one of --expires-in-days, --expires-in-minutes, --until-revoked"
            + (f" (got {', '.join(given)})" if given else "")
        )
    if args.expires_in_days is not None:
        return expiry_from_days(now, args.expires_in_days)
    minutes: int | None = args.expires_in_minutes
    if minutes is not None:
        if not 1 <= minutes <= 3650 * 24 * 60:
            raise _UsageError("--expires-in-minutes must be 1 to 5256000")
        return now + minutes * _MINUTE_MS
    return None


def _cmd_add(args: argparse.Namespace, out: TextIO) -> int:
    pattern = args.pattern.strip()
    if not pattern:
        raise _UsageError("the pattern is empty")
    if args.max_uses is not None and args.max_uses < 1:
        raise _UsageError("--max-uses must be at least 1")
    store = _store(args)
    check_arg_pattern(
        args.arg_pattern,
        source=str(store.path),
        json_path=f"agents[{json.dumps(args.agent)}].grants[+].argPattern (--arg-pattern)",
    )
    now = args.now_ms if args.now_ms is not None else _now_ms()
    grant = Grant(
        id=args.id or str(uuid.uuid4()),
        pattern=pattern,
        arg_pattern=args.arg_pattern,
        created_at_ms=now,
        expires_at_ms=_expiry(args, now),
        session_key=args.session,
        max_uses=args.max_uses,
        label=args.label,
    )
    store.update(lambda file: add_grant(file, args.agent, grant))
    if args.json:
        _emit(out, {"path": str(store.path), "agentId": args.agent, "grant": _grant_json(grant)})
        return EXIT_OK
    out.write(
        f"added grant {grant.id} to agents[{json.dumps(args.agent)}] of {store.path}: "
        f"{grant.describe_state(now)}\n"
    )
    return EXIT_OK


def _cmd_revoke(args: argparse.Namespace, out: TextIO) -> int:
    store = _store(args)
    now = args.now_ms if args.now_ms is not None else _now_ms()
    outcome: list[str] = []

    def change(file: ApprovalsFile) -> ApprovalsFile:
        updated, result = revoke_grant(file, args.grant_id, now_ms=now, revoked_by=args.by)
        outcome.append(result)
        return updated

    store.update(change)
    result = outcome[0]
    if result == "not-found":
        raise _UsageError(f"no grant with id {args.grant_id!r} in {store.path}")
    if args.json:
        _emit(out, {"path": str(store.path), "grantId": args.grant_id, "outcome": result})
        return EXIT_OK
    if result == "revoked":
        out.write(f"grant {args.grant_id} revoked: it allows nothing from now on\n")
    else:
        out.write(f"grant {args.grant_id} was already revoked\n")
    return EXIT_OK


def _cmd_prune(args: argparse.Namespace, out: TextIO) -> int:
    store = _store(args)
    now = args.now_ms if args.now_ms is not None else _now_ms()
    dropped: list[int] = []

    def change(file: ApprovalsFile) -> ApprovalsFile:
        updated, count = drop_inactive_grants(file, now_ms=now)
        dropped.append(count)
        return updated

    store.update(change)
    if args.json:
        _emit(out, {"path": str(store.path), "removed": dropped[0]})
        return EXIT_OK
    out.write(f"removed {dropped[0]} expired, revoked or used-up grant(s) from {store.path}\n")
    return EXIT_OK


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--approvals", metavar="FILE", help="the approvals file")
    parser.add_argument("--now-ms", type=int, metavar="MS", help=argparse.SUPPRESS)
    _json_option(parser)


def register(approvals_cmds: Subcommands) -> None:
    """Add ``approvals grants`` and its subcommands under ``approvals``."""
    grants = approvals_cmds.add_parser(
        "grants", help="grants with a lifetime: list, add (pre-authorise), revoke, prune"
    )
    cmds = _subcommands(grants)
    listing = cmds.add_parser("list", help="every grant and its state now")
    _common(listing)
    listing.add_argument("--agent", metavar="ID", help="only agents.ID's grants")
    listing.set_defaults(handler=_cmd_list)
    add = cmds.add_parser("add", help="pre-authorise PATTERN for an agent, a session key, a time")
    _common(add)
    add.add_argument("--agent", metavar="ID", default="main", help="agents.ID (default: main)")
    add.add_argument("--arg-pattern", metavar="REGEX", help="argPattern (regex over arguments)")
    add.add_argument("--session", metavar="KEY", help="only for this session key (cron:JOB)")
    add.add_argument("--expires-in-days", type=float, metavar="N", help="lifetime in days")
    add.add_argument("--expires-in-minutes", type=int, metavar="N", help="lifetime in minutes")
    add.add_argument("--until-revoked", action="store_true", help="no expiry (say so explicitly)")
    add.add_argument("--max-uses", type=int, metavar="N", help="used up after N runs (1: one-off)")
    add.add_argument("--label", metavar="TEXT", help="what it is for")
    add.add_argument("--id", metavar="ID", help="the grant id (default: a UUID)")
    add.add_argument("pattern", metavar="PATTERN")
    add.set_defaults(handler=_cmd_add)
    revoke = cmds.add_parser("revoke", help="revoke a grant by id (it stays listed)")
    _common(revoke)
    revoke.add_argument("--by", metavar="NAME", help="who revokes it (recorded)")
    revoke.add_argument("grant_id", metavar="ID")
    revoke.set_defaults(handler=_cmd_revoke)
    prune = cmds.add_parser("prune", help="remove expired, revoked and used-up grants")
    _common(prune)
    prune.set_defaults(handler=_cmd_prune)


# ---------------------------------------------------------------------- deny rules


def _deny_owner(args: argparse.Namespace) -> str:
    return "defaults" if args.agent is None else f"agents[{json.dumps(args.agent)}]"


def _cmd_deny_add(args: argparse.Namespace, out: TextIO) -> int:
    pattern = args.pattern.strip()
    rule = DenyRule(pattern=pattern or " ", arg_pattern=args.arg_pattern, id=args.id,
                    reason=args.reason)  # fmt: skip
    store = _store(args)
    problem = deny_rule_problem(rule) if pattern else "invalid pattern: empty pattern"
    if problem is not None:
        raise _UsageError(f"{store.path}: {_deny_owner(args)}.deny[+]: {problem}")

    def change(file: ApprovalsFile) -> ApprovalsFile:
        if args.agent is None:
            defaults = attrs.evolve(file.defaults, deny=(*file.defaults.deny, rule))
            return attrs.evolve(file, defaults=defaults)
        agent = file.agents.get(args.agent) or AgentPolicy()
        return file.with_agent(args.agent, attrs.evolve(agent, deny=(*agent.deny, rule)))

    store.update(change)
    if args.json:
        _emit(out, {"path": str(store.path), "owner": _deny_owner(args), "pattern": pattern})
        return EXIT_OK
    out.write(f"added deny rule {pattern} to {_deny_owner(args)} of {store.path}\n")
    return EXIT_OK


def _cmd_deny_remove(args: argparse.Namespace, out: TextIO) -> int:
    store = _store(args)
    removed: list[int] = []

    def keep(rules: tuple[DenyRule, ...]) -> tuple[DenyRule, ...]:
        kept = tuple(r for r in rules if args.pattern not in (r.pattern, r.id))
        removed.append(len(rules) - len(kept))
        return kept

    def change(file: ApprovalsFile) -> ApprovalsFile:
        if args.agent is None:
            defaults = attrs.evolve(file.defaults, deny=keep(file.defaults.deny))
            return attrs.evolve(file, defaults=defaults)
        agent = file.agents.get(args.agent)
        if agent is None:
            removed.append(0)
            return file
        return file.with_agent(args.agent, attrs.evolve(agent, deny=keep(agent.deny)))

    store.update(change)
    if not removed[0]:
        raise _UsageError(
            f"no deny rule with pattern or id {args.pattern!r} in {_deny_owner(args)} of "
            f"{store.path}"
        )
    if args.json:
        _emit(out, {"path": str(store.path), "owner": _deny_owner(args), "removed": removed[0]})
        return EXIT_OK
    out.write(f"removed {removed[0]} deny rule(s) {args.pattern} from {_deny_owner(args)}\n")
    return EXIT_OK


def register_deny(approvals_cmds: Subcommands) -> None:
    """Add ``approvals deny add|remove`` under ``approvals``."""
    deny = approvals_cmds.add_parser(
        "deny", help="deny rules: programs that never run, whatever else the policy says"
    )
    cmds = _subcommands(deny)
    add = cmds.add_parser("add", help="add a deny rule to defaults (or to agents.ID)")
    _common(add)
    add.add_argument("--agent", metavar="ID", help="agents.ID.deny (default: defaults.deny)")
    add.add_argument("--arg-pattern", metavar="REGEX", help="only with matching arguments")
    add.add_argument("--id", metavar="ID", help="a stable id (named in denials)")
    add.add_argument("--reason", metavar="TEXT", help="why, shown with the denial")
    add.add_argument("pattern", metavar="PATTERN")
    add.set_defaults(handler=_cmd_deny_add)
    remove = cmds.add_parser("remove", help="remove deny rules by pattern or id")
    _common(remove)
    remove.add_argument("--agent", metavar="ID", help="agents.ID.deny (default: defaults.deny)")
    remove.add_argument("pattern", metavar="PATTERN_OR_ID")
    remove.set_defaults(handler=_cmd_deny_remove)
