"""``schema``: the JSON Schema of the approvals file, for editors and CI validators."""

from __future__ import annotations

import argparse
from typing import TextIO

from openclaw_exec.cli._common import EXIT_OK, Subcommands
from openclaw_exec.policy import approvals_schema, dumps_schema

#: Schema name -> the function that generates it (the policy config joins this table).
SCHEMAS = {"approvals": approvals_schema}


def _cmd_schema(args: argparse.Namespace, out: TextIO) -> int:
    out.write(dumps_schema(SCHEMAS[args.name]()))
    return EXIT_OK


def register(commands: Subcommands) -> None:
    """Add ``schema``."""
    schema = commands.add_parser(
        "schema",
        help="print the JSON Schema of exec-approvals.json (generated from the loader's model)",
        description="Print a JSON Schema (draft 2020-12). The package ships the same file: "
        "openclaw_exec/policy/schema/exec-approvals.schema.json.",
    )
    schema.add_argument(
        "name", nargs="?", default="approvals", choices=sorted(SCHEMAS), help="which schema"
    )
    schema.set_defaults(handler=_cmd_schema)
