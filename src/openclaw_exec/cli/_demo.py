"""``demo``: a scripted agent session on embedded defaults."""

from __future__ import annotations

import argparse
from typing import TextIO

from openclaw_exec.cli._common import Subcommands, _json_option, _UsageError


def _cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    from openclaw_exec._demo import run_demo  # noqa: PLC0415

    if args.timeout_ms is not None and args.timeout_ms < 1:
        raise _UsageError("--timeout-ms must be a positive number of milliseconds")
    return run_demo(
        out, as_json=args.json, interactive=args.interactive, timeout_ms=args.timeout_ms
    )


def register(commands: Subcommands) -> None:
    """Add ``demo``."""
    demo = commands.add_parser(
        "demo", help="a scripted agent session on embedded defaults (no setup)"
    )
    _json_option(demo)
    demo.add_argument("--interactive", action="store_true", help="you answer the approvals (stdin)")
    demo.add_argument("--timeout-ms", metavar="MS", type=int, help="approval timeout")
    demo.set_defaults(handler=_cmd_demo)
