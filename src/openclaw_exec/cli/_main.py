"""The parser, global options, and ``main``: one error line, never a traceback."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Sequence

from openclaw_exec._version import __version__
from openclaw_exec.cli import (
    _approvals,
    _approve,
    _audit,
    _demo,
    _mcp,
    _pairing,
    _policy,
    _schema,
    _serve,
    _test,
)
from openclaw_exec.cli._common import EXIT_USAGE, Handler, _Parser, _subcommands, _UsageError
from openclaw_exec.exceptions import OpenClawExecError

# Each subcommand module adds its commands; the order is the order of `--help`.
_COMMANDS = (_policy, _test, _approvals, _approve, _pairing, _audit, _schema, _demo, _serve, _mcp)


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
    for module in _COMMANDS:
        module.register(commands)
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
    handler: Handler = args.handler
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
