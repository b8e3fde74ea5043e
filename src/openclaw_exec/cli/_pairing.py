"""``pairing explain``: decide one gateway connect situation and say why."""

from __future__ import annotations

import argparse
from typing import TextIO

from openclaw_exec.cli._common import (
    EXIT_DENIED,
    EXIT_OK,
    Subcommands,
    _emit,
    _json_option,
    _load_json,
    _subcommands,
)


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


def register(commands: Subcommands) -> None:
    """Add ``pairing explain``."""
    pairing = commands.add_parser("pairing", help="gateway pairing decisions")
    pairing_cmds = _subcommands(pairing)
    pexplain = pairing_cmds.add_parser(
        "explain", help="decide a connect situation (JSON, see docs/pairing.md) and explain it"
    )
    _json_option(pexplain)
    pexplain.add_argument("file", metavar="FILE", help="the situation ('-': stdin)")
    pexplain.set_defaults(handler=_cmd_pairing_explain)
