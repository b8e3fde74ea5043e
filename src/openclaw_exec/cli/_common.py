"""What every subcommand shares: exit codes, errors, options, bounded input, the policy."""

from __future__ import annotations

import argparse
import json
import os
import stat
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TextIO, TypeAlias

import attrs

from openclaw_exec.policy import (
    POLICY_FIELDS,
    ApprovalsFile,
    ExecConfig,
    ExecPolicy,
    Preset,
    ResolvedPolicy,
    loads_exec_config,
    resolve_policy,
)

EXIT_OK = 0
EXIT_DENIED = 1
EXIT_USAGE = 2

Handler = Callable[[argparse.Namespace, TextIO], int]
"""A subcommand: parsed options and stdout in, exit code out."""
KNOBS = (
    ("security", "security"),
    ("ask", "ask"),
    ("ask_fallback", "askFallback"),
    ("sandbox", "sandbox"),
)


class _UsageError(Exception):
    """Bad input on the command line; reported on stderr with exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


#: What ``add_subparsers`` returns; each subcommand module's ``register`` takes one.
# (A string: argparse's class is generic only to type checkers.)
Subcommands: TypeAlias = "argparse._SubParsersAction[_Parser]"  # noqa: SLF001


def _emit(out: TextIO, document: object) -> None:
    json.dump(document, out, indent=2, ensure_ascii=False)
    out.write("\n")


def _plain(value: object) -> object:
    return value if value is None or isinstance(value, bool) else str(value)


def _policy_dict(policy: ExecPolicy) -> dict[str, Any]:
    return {wire: _plain(getattr(policy, name)) for name, wire in POLICY_FIELDS}


def _approvals_path(args: argparse.Namespace) -> Path:
    from openclaw_exec.adapters.filestore import default_approvals_path  # noqa: PLC0415

    return Path(args.approvals) if args.approvals else default_approvals_path()


def _read_file(path: Path, args: argparse.Namespace | None = None) -> ApprovalsFile | None:
    """Read the approvals file; one named explicitly with ``--approvals`` must exist."""
    from openclaw_exec.adapters.filestore import read_approvals  # noqa: PLC0415

    file = read_approvals(path)
    if file is None and args is not None and args.approvals:
        # A typo in an explicit path must not quietly mean "no host restrictions".
        raise _UsageError(
            f"{path}: no such approvals file (omit --approvals to use the default location)"
        )
    return file


def _requested(args: argparse.Namespace) -> tuple[ExecPolicy | None, set[str]]:
    given = {
        name: getattr(args, name) for name, _ in KNOBS if getattr(args, name, None) is not None
    }
    if not given:
        return None, set()
    return ExecPolicy(**given), set(given)


def exec_config_from_args(args: argparse.Namespace) -> ExecConfig | None:
    """The ``tools.exec`` block of the OpenClaw config named by ``--config``, if any."""
    source = getattr(args, "config", None)
    if source is None:
        return None
    return loads_exec_config(_read_document(source), path=source)


def preset_from_args(args: argparse.Namespace) -> Preset:
    """The preset named by ``--preset`` (default: OpenClaw 2026.4.1's)."""
    return Preset.parse(getattr(args, "preset", None) or Preset.OPENCLAW_2026_4_1)


def resolve_from_args(
    args: argparse.Namespace, *, now_ms: int | None = None
) -> tuple[Path, ResolvedPolicy]:
    """
    Read the approvals file named by the options and resolve the policy they ask for.

    The requested layer is ``--config``'s ``tools.exec`` (its mode or security/ask), with
    the knob options on top; knobs nobody set take ``--preset``'s built-ins.
    """
    path = _approvals_path(args)
    file = _read_file(path, args)
    preset = preset_from_args(args)
    requested, fields = _requested(args)
    config = exec_config_from_args(args)
    if config is not None and config.requested_fields:
        base = config.requested_policy(preset)
        if requested is not None:
            base = attrs.evolve(base, **{name: getattr(requested, name) for name in fields})
        requested, fields = base, set(config.requested_fields) | fields
    # Grants with a lifetime are judged now, for the session key asked about (if any).
    return path, resolve_policy(
        file,
        agent_id=args.agent,
        requested=requested,
        requested_fields=fields,
        preset=preset,
        now_ms=now_ms if now_ms is not None else time.time_ns() // 1_000_000,
        session_key=getattr(args, "session", None),
    )


#: The most any document given on the command line may hold (the approvals file's own cap).
MAX_INPUT_BYTES = 16 * 1024 * 1024


def _read_document(source: str) -> bytes:
    """Read a document named on the command line (``-``: stdin), never more than the cap."""
    name = "<stdin>" if source == "-" else source
    if source == "-":
        stream = getattr(sys.stdin, "buffer", None)
        if stream is None:
            data = sys.stdin.read(MAX_INPUT_BYTES + 1).encode("utf-8")
        else:
            data = stream.read(MAX_INPUT_BYTES + 1)
    else:
        data = _read_path(source)
    if len(data) > MAX_INPUT_BYTES:
        raise _UsageError(f"{name}: larger than the {MAX_INPUT_BYTES} bytes accepted")
    return data


def _read_path(source: str) -> bytes:
    # Pipes are fine (`--file <(...)`), a folder is not; a FIFO without a writer reads as
    # empty instead of hanging, because the open does not block.
    try:
        fd = os.open(source, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    except OSError as exc:
        raise _UsageError(f"{source}: {exc.strerror or exc}") from None
    try:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise _UsageError(f"{source}: is a folder, expected a file")
        os.set_blocking(fd, True)
        from openclaw_exec.adapters.filestore import read_at_most  # noqa: PLC0415

        return read_at_most(fd, MAX_INPUT_BYTES)
    except OSError as exc:
        raise _UsageError(f"{source}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def _load_json(source: str) -> object:
    raw = _read_document(source)
    name = "<stdin>" if source == "-" else source
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise _UsageError(f"{name}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise _UsageError(
            f"{name}: not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None


#: Where the CLI looks for the audit key when --key is not given.
AUDIT_KEY_ENV = "OPENCLAW_EXEC_AUDIT_KEY_FILE"


def _audit_key(args: argparse.Namespace) -> bytes | None:
    from openclaw_exec.audit import load_audit_key  # noqa: PLC0415

    source = args.key or os.environ.get(AUDIT_KEY_ENV) or None
    if source is None:
        return None
    try:
        return load_audit_key(source)
    except ValueError as exc:
        raise _UsageError(str(exc)) from None


def _json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON document")


def _file_options(parser: argparse.ArgumentParser, *, agent_default: str | None = None) -> None:
    parser.add_argument(
        "--approvals",
        metavar="FILE",
        help="the approvals file (default: $OPENCLAW_STATE_DIR/exec-approvals.json "
        "or ~/.openclaw/exec-approvals.json)",
    )
    shown = agent_default or "main"
    parser.add_argument("--agent", metavar="ID", help=f"agent id (default: {shown})")
    if agent_default is not None:  # applied after the options before the subcommand
        parser.set_defaults(agent_default=agent_default)


def _key_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--key",
        metavar="FILE",
        help=f"the audit key file: every record's MAC is checked (default: ${AUDIT_KEY_ENV})",
    )


def _knob_options(parser: argparse.ArgumentParser, *, verb: str = "requested") -> None:
    parser.add_argument("--security", metavar="VALUE", help=f"{verb} security")
    parser.add_argument("--ask", metavar="VALUE", help=f"{verb} ask")
    parser.add_argument("--ask-fallback", metavar="VALUE", help=f"{verb} askFallback")
    parser.add_argument(
        "--sandbox", metavar="VALUE", help=f"{verb} sandbox (off|preferred|required)"
    )


def _add_policy_options(parser: argparse.ArgumentParser) -> None:
    _file_options(parser)
    _knob_options(parser)
    parser.add_argument(
        "--preset",
        metavar="NAME",
        help="whose built-in defaults fill knobs nobody set: openclaw-2026.4.1 (default: "
        "deny/on-miss, no agent is main) or openclaw-2026.9.6 (full/off, no agent is none)",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="an OpenClaw config (openclaw.json): its tools.exec block (mode, safeBins, "
        "safeBinProfiles, strictInlineEval ...) is the requested layer",
    )
    _json_option(parser)


def _subcommands(parser: argparse.ArgumentParser) -> Subcommands:
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    return commands
