"""
The ``openclaw-exec`` command line.

Exit codes: 0 allowed / ok, 1 denied or needs approval, 2 usage or input error.
Errors go to stderr as one readable line, never a traceback; ``--json`` prints a
machine-readable document on stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from openclaw_exec._version import __version__
from openclaw_exec.exceptions import OpenClawExecError
from openclaw_exec.policy import POLICY_FIELDS, ExecPolicy, ResolvedPolicy, resolve_policy

__all__ = ["EXIT_DENIED", "EXIT_OK", "EXIT_USAGE", "main"]

EXIT_OK = 0
EXIT_DENIED = 1
EXIT_USAGE = 2

_Handler = Callable[[argparse.Namespace, TextIO], int]


class _UsageError(Exception):
    """Bad input on the command line; reported on stderr with exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _approvals_path(args: argparse.Namespace) -> Path:
    from openclaw_exec.adapters.filestore import default_approvals_path  # noqa: PLC0415

    return Path(args.approvals) if args.approvals else default_approvals_path()


def _requested(args: argparse.Namespace) -> tuple[ExecPolicy | None, set[str]]:
    given = {
        name: getattr(args, name)
        for name in ("security", "ask", "ask_fallback")
        if getattr(args, name) is not None
    }
    if not given:
        return None, set()
    return ExecPolicy(**given), set(given)


def resolve_from_args(args: argparse.Namespace) -> tuple[Path, ResolvedPolicy]:
    """Read the approvals file named by the options and resolve the policy they ask for."""
    from openclaw_exec.adapters.filestore import read_approvals  # noqa: PLC0415

    path = _approvals_path(args)
    file = read_approvals(path)
    requested, fields = _requested(args)
    return path, resolve_policy(
        file, agent_id=args.agent, requested=requested, requested_fields=fields
    )


def _policy_json(path: Path, resolved: ResolvedPolicy) -> dict[str, Any]:
    def plain(value: object) -> object:
        return value if value is None or isinstance(value, bool) else str(value)

    return {
        "approvalsFile": str(path),
        "agentId": resolved.agent_id,
        "effective": {
            wire: plain(getattr(resolved.effective, name)) for name, wire in POLICY_FIELDS
        },
        "fields": {
            wire: {
                "value": plain(origin.value),
                "layer": origin.layer.value,
                "requested": plain(origin.requested),
                "host": plain(origin.host),
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
        json.dump(_policy_json(path, resolved), out, indent=2)
        out.write("\n")
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


def _add_policy_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--approvals", metavar="FILE", help="the approvals file")
    parser.add_argument("--agent", metavar="ID", default=None, help="agent id (default: main)")
    parser.add_argument("--security", metavar="VALUE", help="requested security")
    parser.add_argument("--ask", metavar="VALUE", help="requested ask")
    parser.add_argument("--ask-fallback", metavar="VALUE", help="requested askFallback")
    parser.add_argument("--json", action="store_true", help="print JSON")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``openclaw-exec`` (exposed for docs and tests)."""
    parser = _Parser(
        prog="openclaw-exec",
        description="Control what shell commands AI agents may run.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    policy = commands.add_parser(
        "policy", help="print the effective policy and where each knob came from"
    )
    _add_policy_options(policy)
    policy.set_defaults(handler=_cmd_policy)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: _Handler = args.handler
    try:
        return handler(args, sys.stdout)
    except (OpenClawExecError, _UsageError) as exc:
        sys.stderr.write(f"openclaw-exec: error: {exc}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write("openclaw-exec: interrupted\n")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
