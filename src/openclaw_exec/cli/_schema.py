"""``schema``: the JSON Schema of the approvals file, for editors and CI validators."""

from __future__ import annotations

import argparse
from typing import TextIO

from openclaw_exec.cli._common import EXIT_OK, Subcommands
from openclaw_exec.policy import approvals_schema, dumps_schema, exec_config_schema

#: Schema name -> the function that generates it.
SCHEMAS = {"approvals": approvals_schema, "config": exec_config_schema}


def _cmd_schema(args: argparse.Namespace, out: TextIO) -> int:
    out.write(dumps_schema(SCHEMAS[args.name]()))
    return EXIT_OK


def register(commands: Subcommands) -> None:
    """Add ``schema``."""
    schema = commands.add_parser(
        "schema",
        help="print the JSON Schema of exec-approvals.json, or of the config's tools.exec",
        description="Print a JSON Schema (draft 2020-12) generated from what the loaders read: "
        "approvals (exec-approvals.json) or config (an OpenClaw config's tools.exec block). "
        "The package ships the same files in openclaw_exec/policy/schema/.",
    )
    schema.add_argument(
        "name", nargs="?", default="approvals", choices=sorted(SCHEMAS), help="which schema"
    )
    schema.set_defaults(handler=_cmd_schema)
