"""
``audit verify`` catches what docs/cli.md says it catches, row by row of its table, and the
command-line edges of issue #13 (global flags, ``explain`` without ``--``, explicit paths).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import anyio
import pytest

from cli._cli_helpers import Cli
from openclaw_exec import ExecGuard
from openclaw_exec.audit import AuditLog, load_audit_key
from openclaw_exec.cli import EXIT_DENIED, EXIT_OK, EXIT_USAGE

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "audit.key"
    path.write_bytes(b"0123456789abcdef0123456789abcdef\n")
    path.chmod(0o600)
    return path


def _session(approvals: Path, bin_dir: Path, log: Path, key: bytes | None) -> None:
    async def run() -> None:
        guard = ExecGuard(approvals=approvals, audit=AuditLog(log, key=key))
        for command in (f"{bin_dir}/tool", "rm -rf /", f"{bin_dir}/tool x", f"{bin_dir}/other"):
            await guard.authorize(command, cwd=str(bin_dir), env={"PATH": "/usr/bin:/bin"})

    anyio.run(run)


def _rechain(lines: list[str], *, strip_mac: bool = False) -> list[str]:
    """What anyone who can write the file can do: recompute seq, prev and hash."""
    out, prev = [], "0" * 64
    for seq, line in enumerate(lines, start=1):
        data = json.loads(line)
        data["seq"], data["prev"] = seq, prev
        if strip_mac:
            data.pop("mac", None)
        body = {k: v for k, v in data.items() if k not in ("hash", "mac")}
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        data["hash"] = prev = hashlib.sha256(canonical.encode()).hexdigest()
        out.append(json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False))
    return [x + "\n" for x in out]


def _edited(lines: list[str]) -> list[str]:
    return [lines[0], lines[1].replace('"allowed":false', '"allowed":true'), *lines[2:]]


def _tampered(lines: list[str], change: str) -> list[str]:
    changes = {
        "edited": lambda: _edited(lines),
        "inserted": lambda: [lines[0], lines[2], *lines[1:]],
        "reordered": lambda: [lines[0], lines[2], lines[1], lines[3]],
        "removed-middle": lambda: [lines[0], *lines[2:]],
        "torn": lambda: [*lines[:3], lines[3][:40]],
        "removed-rechained": lambda: _rechain([lines[0], *lines[2:]]),
        "edited-rechained": lambda: _rechain(_edited(lines)),
        "macs-stripped": lambda: _rechain(lines, strip_mac=True),
        "tail-cut": lambda: lines[:-1],
    }
    return changes[change]()


# (change, caught without a key, with --key, with --key and --expect-last-hash): the table
# in docs/cli.md, which test_the_docs_table_is_this_table checks word for word.
TABLE = [
    ("edited", True, True, True),
    ("inserted", True, True, True),
    ("reordered", True, True, True),
    ("removed-middle", True, True, True),
    ("torn", True, True, True),
    ("removed-rechained", False, True, True),
    ("edited-rechained", False, True, True),
    ("macs-stripped", False, True, True),
    ("tail-cut", False, False, True),
]


@pytest.fixture
def keyed_log(approvals: Path, bin_dir: Path, tmp_path: Path, key_file: Path) -> Path:
    log = tmp_path / "audit.jsonl"
    _session(approvals, bin_dir, log, load_audit_key(key_file))
    return log


@pytest.mark.parametrize("row", TABLE, ids=[row[0] for row in TABLE])
def test_audit_verify_catches_what_the_docs_say(
    cli: Cli, keyed_log: Path, key_file: Path, row: tuple[str, bool, bool, bool]
) -> None:
    change, plain, keyed, anchored = row
    log = keyed_log
    good = cli("audit", "verify", "--key", str(key_file), "--json", str(log))
    assert good.code == EXIT_OK, good.out
    assert good.json()["keyed"] is True
    last = good.json()["lastHash"]
    log.write_text("".join(_tampered(log.read_text().splitlines(keepends=True), change)))
    runs = {
        "plain": cli("audit", "verify", str(log)),
        "keyed": cli("audit", "verify", "--key", str(key_file), str(log)),
        "anchored": cli(
            "audit", "verify", "--key", str(key_file), "--expect-last-hash", last, str(log)
        ),
    }
    expected = {"plain": plain, "keyed": keyed, "anchored": anchored}
    for name, run in runs.items():
        caught = run.code == EXIT_DENIED
        assert caught is expected[name], (name, run.code, run.out, run.err)
        if caught:
            assert "BROKEN" in run.out


def test_the_docs_table_is_this_table() -> None:
    text = DOCS.read_text(encoding="utf-8")
    row = r"^\s*\| (?!change|---)(.+?) \| (.+?) \| (.+?) \| (.+?) \|$"
    rows = re.findall(row, text, re.MULTILINE)
    verdicts = [tuple("not caught" not in cell for cell in row[1:]) for row in rows]
    # Each docs row groups some changes of TABLE; every change's answers appear as a row.
    assert set(verdicts) == {t[1:] for t in TABLE}
    assert len(rows) == 5


def test_unkeyed_verify_says_what_it_does_not_prove(
    cli: Cli, approvals: Path, bin_dir: Path, tmp_path: Path, key_file: Path
) -> None:
    log = tmp_path / "audit.jsonl"
    _session(approvals, bin_dir, log, None)
    run = cli("audit", "verify", str(log))
    assert run.code == EXIT_OK
    assert "unkeyed log" in run.out
    assert "tail not anchored" in run.out
    keyed_run = cli("audit", "verify", "--key", str(key_file), str(log))
    assert keyed_run.code == EXIT_DENIED  # a key was promised, no record carries a MAC
    assert "no mac" in keyed_run.out


def test_audit_key_from_the_environment_and_bad_keys(
    cli: Cli, keyed_log: Path, key_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = keyed_log
    monkeypatch.setenv("OPENCLAW_EXEC_AUDIT_KEY_FILE", str(key_file))
    run = cli("audit", "verify", str(log))
    assert run.code == EXIT_OK
    assert "MAC matches" in run.out
    monkeypatch.delenv("OPENCLAW_EXEC_AUDIT_KEY_FILE")
    key_file.chmod(0o644)
    bad = cli("audit", "verify", "--key", str(key_file), str(log))
    assert bad.code == EXIT_USAGE
    assert "group or others" in bad.err
    assert cli("audit", "verify", "--expect-last-hash", "abc", str(log)).code == EXIT_USAGE


# ---------------------------------------------------------------------- CLI edges


def test_global_flags_before_the_subcommand(cli: Cli, approvals: Path) -> None:
    run = cli("--json", "--approvals", str(approvals), "policy")
    assert run.code == EXIT_OK, run.err
    assert run.json()["approvalsFile"] == str(approvals)
    after = cli("policy", "--json", "--approvals", str(approvals))
    assert run.json() == after.json()
    agent = cli("--agent", "ops", "policy", "--json", "--approvals", str(approvals))
    assert agent.json()["agentId"] == "ops"
    assert cli("--approvals", str(approvals), "demo").code == EXIT_USAGE  # demo takes no file


def test_explain_without_double_dash(cli: Cli, approvals: Path, bin_dir: Path) -> None:
    run = cli("explain", "--approvals", str(approvals), "--json", f"{bin_dir}/tool", "-la")
    assert run.code == EXIT_OK, run.err
    assert run.json()["command"] == f"{bin_dir}/tool -la"
    dashed = cli("explain", "--approvals", str(approvals), "--json", "--", f"{bin_dir}/tool", "-la")
    assert dashed.json()["command"] == run.json()["command"]
    leading = cli("explain", "--approvals", str(approvals), "-la")
    assert leading.code == EXIT_USAGE
    assert "needs --" in leading.err


def test_explain_names_the_file_it_read(cli: Cli, approvals: Path, bin_dir: Path) -> None:
    run = cli("explain", "--approvals", str(approvals), f"{bin_dir}/tool")
    assert f"approvals file: {approvals}\n" in run.out


@pytest.mark.parametrize("argv", [["policy"], ["explain"], ["approvals", "get"], []])
def test_an_explicit_missing_approvals_file_is_exit_2(
    cli: Cli, tmp_path: Path, argv: list[str]
) -> None:
    missing = tmp_path / "typo.json"
    if argv:
        run = cli(*argv, "--approvals", str(missing), *(["ls"] if argv == ["explain"] else []))
    else:  # before the subcommand
        run = cli("--approvals", str(missing), "policy")
    assert run.code == EXIT_USAGE
    assert str(missing) in run.err
    assert "no such approvals file" in run.err


def test_the_default_missing_file_still_means_no_host_restrictions(cli: Cli) -> None:
    run = cli("policy")
    assert run.code == EXIT_OK
    assert "not found: no host restrictions" in run.out
