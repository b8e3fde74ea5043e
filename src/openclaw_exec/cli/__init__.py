"""
The ``openclaw-exec`` command line.

One entry point, the same options everywhere (``--approvals FILE``, ``--agent ID``,
``--json``), documented exit codes:

* ``0``: allowed / ok;
* ``1``: denied or needs approval (``explain``), the check failed (``audit verify``),
  decisions changed (``audit replay``), pairing not accepted (``pairing explain``);
* ``2``: usage or input error (bad options, unreadable or malformed files).

Errors go to stderr as one readable line, never a traceback; ``--json`` prints a
machine-readable document on stdout. Commands: ``policy``, ``explain``, ``test``,
``approvals get|set|allowlist|deny|grants``, ``approve`` (the terminal approval surface),
``pairing explain``, ``audit verify|replay``, ``schema``, ``demo``, ``serve`` (the gateway
kit, ``--web`` for the approval page) and ``mcp`` (a guarded shell tool over MCP stdio).

Each command group lives in its own module (``_policy``, ``_approvals``, ``_approve``,
...) with a ``register(commands)`` function; ``_main`` builds the parser from them. To
add a command, add a module and one line to ``_main._COMMANDS``.
"""

from __future__ import annotations

from openclaw_exec.cli._audit import REPLAY_SCHEMA_VERSION
from openclaw_exec.cli._common import EXIT_DENIED, EXIT_OK, EXIT_USAGE
from openclaw_exec.cli._main import build_parser, main
from openclaw_exec.cli._policy import EXPLAIN_SCHEMA_VERSION

__all__ = [
    "EXIT_DENIED",
    "EXIT_OK",
    "EXIT_USAGE",
    "EXPLAIN_SCHEMA_VERSION",
    "REPLAY_SCHEMA_VERSION",
    "build_parser",
    "main",
]
