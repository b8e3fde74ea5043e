"""
``test FILE``: check a file of commands and expected verdicts against the policy.

Like Codex's ``execpolicy check`` and Rampart's ``test``: keep the policy under CI. Each
case is decided exactly as ``explain`` decides it (the guard's verdict before anyone is
asked, deny rules and grants included) and compared with what the file expects: the
verdict, and when given the deny rule that fired and the reason code. Exit 0 when every
case passes, 1 when any fails, 2 for a bad file or option (the error names the file, the
line and the JSON path).
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any, TextIO

from openclaw_exec.cli._common import (
    EXIT_DENIED,
    EXIT_OK,
    Subcommands,
    _add_policy_options,
    _approvals_path,
    _emit,
    _read_document,
    _read_file,
    _UsageError,
    exec_config_from_args,
    resolve_from_args,
)
from openclaw_exec.cli._policy import _judge
from openclaw_exec.policy import PolicyCase, parse_policy_tests

TEST_SCHEMA_VERSION = 1
"""Bumped only on incompatible changes to ``test --json``."""


def _result(case: PolicyCase, verdict: dict[str, Any]) -> dict[str, Any]:
    problems: list[str] = []
    if verdict["verdict"] != case.expect.value:
        problems.append(f"expected {case.expect.value}, got {verdict['verdict']}")
    if case.rule is not None and verdict.get("rule") != case.rule:
        problems.append(f"expected deny rule {case.rule}, got {verdict.get('rule') or 'none'}")
    if case.reason is not None and verdict["reason"] != case.reason:
        problems.append(f"expected reason {case.reason}, got {verdict['reason']}")
    return {
        "line": case.line,
        "name": case.name,
        "command": case.command,
        "expect": case.expect.value,
        "expectRule": case.rule,
        "expectReason": case.reason,
        "verdict": verdict["verdict"],
        "reason": verdict["reason"],
        "rule": verdict.get("rule"),
        "message": verdict["message"],
        "passed": not problems,
        "problems": problems,
    }


def _cmd_test(args: argparse.Namespace, out: TextIO) -> int:
    from openclaw_exec.analysis import sanitize_inherited_env  # noqa: PLC0415

    name = "<stdin>" if args.file == "-" else args.file
    try:
        text = _read_document(args.file).decode("utf-8")
    except UnicodeDecodeError:
        raise _UsageError(f"{name}: not UTF-8 text") from None
    cases = parse_policy_tests(text, source=name)
    path = _approvals_path(args)
    _read_file(path, args)  # a missing --approvals file is an error before any case
    config = exec_config_from_args(args)
    options = config.analysis_options() if config is not None else None
    default_cwd = os.path.realpath(os.path.abspath(args.cwd or os.getcwd()))  # noqa: PTH100, PTH109
    env = sanitize_inherited_env(os.environ)[0]
    now = time.time_ns() // 1_000_000
    results = []
    for case in cases:
        # Each case is resolved as `explain` resolves (--preset, --config, the knobs), for
        # its own agent, session key and clock.
        scoped = argparse.Namespace(
            **{**vars(args), "agent": case.agent_id or args.agent, "session": case.session_key}
        )
        _, resolved = resolve_from_args(
            scoped, now_ms=case.now_ms if case.now_ms is not None else now
        )
        judged = _judge(
            case.command,
            cwd=case.cwd or default_cwd,
            env=env,
            resolved=resolved,
            danger_profiles=not args.no_danger_profiles,
            analysis_options=options,
        )
        results.append(_result(case, judged.verdict))
    failed = sum(not r["passed"] for r in results)
    code = EXIT_DENIED if failed else EXIT_OK
    if args.json:
        _emit(
            out,
            {
                "schemaVersion": TEST_SCHEMA_VERSION,
                "file": name,
                "approvalsFile": str(path),
                "passed": len(results) - failed,
                "failed": failed,
                "exitCode": code,
                "results": results,
            },
        )
        return code
    for result in results:
        label = result["name"] or result["command"]
        if result["passed"]:
            if args.verbose:
                out.write(f"PASS {name}:{result['line']}: {label} -> {result['verdict']}\n")
            continue
        out.write(f"FAIL {name}:{result['line']}: {label}: {'; '.join(result['problems'])}\n")
        out.write(f"     {result['reason']}: {result['message']}\n")
    out.write(f"{len(results) - failed} passed, {failed} failed ({name} against {path})\n")
    return code


def register(commands: Subcommands) -> None:
    """Add ``test``."""
    test = commands.add_parser(
        "test",
        help="check a file of commands and expected verdicts against the policy (for CI)",
        description="Each line of FILE is a JSON object: "
        '{"command": "git push", "expect": "deny", "rule": "agents.*.deny[0]"} '
        "(keys: command, expect, rule, reason, name, agent, cwd, sessionKey, nowMs; "
        "# comments). Exit 0: all pass; 1: a case failed; 2: a bad file or option.",
    )
    test.add_argument("file", metavar="FILE", help="the test file ('-': stdin)")
    test.add_argument("--cwd", metavar="DIR", help="working folder of cases without cwd")
    test.add_argument(
        "--no-danger-profiles",
        action="store_true",
        help="OpenClaw-identical verdicts (no argument-level danger profiles)",
    )
    test.add_argument("-v", "--verbose", action="store_true", help="also list passing cases")
    _add_policy_options(test)
    test.set_defaults(handler=_cmd_test)
