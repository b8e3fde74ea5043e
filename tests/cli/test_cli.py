"""The openclaw-exec CLI, run in-process through main([...]) on real files."""

from __future__ import annotations

import io
import json
from pathlib import Path

import anyio
import pytest

from cli._cli_helpers import Cli
from openclaw_exec import Authorization, ExecGuard
from openclaw_exec.adapters.filestore import read_approvals
from openclaw_exec.cli import EXIT_DENIED, EXIT_OK, EXIT_USAGE
from openclaw_exec.pairing import generate_device_identity

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "exec-approvals.json"

# ---------------------------------------------------------------------- policy


def test_policy_json_reports_provenance(cli: Cli) -> None:
    run = cli("policy", "--approvals", str(EXAMPLE), "--agent", "main", "--json")
    assert run.code == EXIT_OK
    doc = run.json()
    assert doc["effective"]["ask"] == "always"
    assert doc["fields"]["ask"]["layer"] == "agent"
    assert "/usr/bin/git" in doc["allowlist"]


def test_policy_requested_knob_is_clamped_by_the_file(cli: Cli) -> None:
    run = cli("policy", "--approvals", str(EXAMPLE), "--security", "full", "--json")
    assert run.json()["effective"]["security"] == "allowlist"


# ---------------------------------------------------------------------- explain


def test_explain_allowlisted_command_is_allowed(cli: Cli, approvals: Path, bin_dir: Path) -> None:
    run = cli("explain", "--approvals", str(approvals), "--json", "--", f"{bin_dir}/tool -x")
    assert run.code == EXIT_OK
    doc = run.json()
    assert doc["verdict"]["verdict"] == "allow"
    assert doc["allowed"] is True
    segment = doc["evaluation"]["segments"][0]
    assert segment["matchedEntry"]["pattern"] == f"{bin_dir}/tool"


def test_explain_json_schema_is_stable(cli: Cli, approvals: Path, bin_dir: Path) -> None:
    doc = cli("explain", "--approvals", str(approvals), "--json", "--", "true").json()
    assert set(doc) == {
        "schemaVersion",
        "command",
        "cwd",
        "preset",
        "agentId",
        "approvalsFile",
        "policy",
        "verdict",
        "allowed",
        "exitCode",
        "evaluation",
    }
    assert doc["schemaVersion"] == 1
    assert set(doc["verdict"]) == {"verdict", "reason", "message", "triggers", "rule"}
    assert set(doc["policy"]) == {"security", "ask", "askFallback", "autoAllowSkills", "sandbox"}
    assert doc["evaluation"]["schemaVersion"] == 1


def test_explain_chain_with_a_miss_needs_approval(cli: Cli, approvals: Path, bin_dir: Path) -> None:
    command = f"{bin_dir}/tool a && {bin_dir}/other b"
    run = cli("explain", "--approvals", str(approvals), "--", command)
    assert run.code == EXIT_DENIED
    assert "verdict: ASK (allowlist-miss)" in run.out
    lines = run.out.splitlines()
    assert any(line.startswith("1 ") and "allowlist" in line for line in lines)
    assert any(line.startswith("2 ") and "MISS" in line for line in lines)


def test_explain_text_names_policy_and_verdict(cli: Cli, approvals: Path, bin_dir: Path) -> None:
    run = cli("explain", "--approvals", str(approvals), "--cwd", str(bin_dir), "--", "./tool")
    assert run.code == EXIT_OK
    assert f"cwd: {bin_dir}" in run.out
    assert "policy: security=allowlist ask=on-miss askFallback=deny" in run.out
    assert "verdict: ALLOW (allowlist-satisfied)" in run.out


def test_explain_several_words_are_an_argv(cli: Cli, approvals: Path, bin_dir: Path) -> None:
    run = cli("explain", "--approvals", str(approvals), "--json", "--", f"{bin_dir}/tool", "a b")
    doc = run.json()
    assert doc["command"] == f"{bin_dir}/tool 'a b'"
    assert doc["evaluation"]["segments"][0]["argv"] == [f"{bin_dir}/tool", "a b"]


def test_explain_security_deny_denies_and_still_shows_the_table(
    cli: Cli, approvals: Path, bin_dir: Path
) -> None:
    run = cli("explain", "--approvals", str(approvals), "--security", "deny", "--", "true")
    assert run.code == EXIT_DENIED
    assert "verdict: DENY (security-deny)" in run.out
    assert "satisfied by" in run.out


def test_explain_refuses_approve_commands(cli: Cli, approvals: Path) -> None:
    run = cli("explain", "--approvals", str(approvals), "--json", "--", "/approve abc allow-once")
    assert run.code == EXIT_DENIED
    assert run.json()["verdict"]["reason"] == "approve-command-refused"


def test_explain_agrees_with_the_guard(cli: Cli, approvals: Path, bin_dir: Path) -> None:
    # The verdict explain prints is the one the guard acts on (no approver: ASK falls back).
    for command in (f"{bin_dir}/tool", f"{bin_dir}/other", f"{bin_dir}/tool | {bin_dir}/other"):
        doc = cli("explain", "--approvals", str(approvals), "--json", "--", command).json()
        guard = ExecGuard(approvals=approvals)

        async def ask(command: str = command, guard: ExecGuard = guard) -> Authorization:
            return await guard.authorize(command, cwd=str(bin_dir))

        auth = anyio.run(ask)
        assert auth.verdict is not None
        assert str(auth.verdict.verdict) == doc["verdict"]["verdict"]
        assert str(auth.verdict.reason) == doc["verdict"]["reason"]


# ---------------------------------------------------------------------- approvals


def test_approvals_get_never_shows_the_token(cli: Cli, approvals: Path) -> None:
    text = cli("approvals", "get", "--approvals", str(approvals))
    doc = cli("approvals", "get", "--approvals", str(approvals), "--json")
    assert text.code == doc.code == EXIT_OK
    assert "SECRET-TOKEN-123" not in text.out + doc.out
    body = doc.json()
    assert body["exists"] is True
    assert len(body["hash"]) == 64
    assert body["file"]["socket"] == {"path": str(approvals.parent / "s.sock")}


def test_approvals_get_missing_file(cli: Cli, tmp_path: Path) -> None:
    run = cli("approvals", "get", "--json")
    assert run.code == EXIT_OK
    assert run.json()["exists"] is False
    assert run.json()["path"] == str(tmp_path / "state" / "exec-approvals.json")


def test_approvals_set_defaults_and_agent_knobs(cli: Cli, approvals: Path) -> None:
    assert cli("approvals", "set", "--approvals", str(approvals), "--ask", "always").code == 0
    run = cli(
        "approvals", "set", "--approvals", str(approvals), "--agent", "main",
        "--security", "full", "--auto-allow-skills", "true",
    )  # fmt: skip
    assert run.code == EXIT_OK
    file = read_approvals(approvals)
    assert file is not None
    assert str(file.defaults.ask) == "always"
    assert str(file.agents["main"].security) == "full"
    assert file.agents["main"].auto_allow_skills is True
    assert file.socket is not None
    assert file.socket.token == "SECRET-TOKEN-123"  # untouched
    assert json.loads(approvals.read_text())["futureKey"] == {"kept": True}


def test_approvals_set_rejects_bad_values_and_leaves_the_file(cli: Cli, approvals: Path) -> None:
    before = approvals.read_bytes()
    run = cli("approvals", "set", "--approvals", str(approvals), "--ask", "sometimes")
    assert run.code == EXIT_USAGE
    assert run.err.startswith("openclaw-exec: error:")
    assert approvals.read_bytes() == before
    assert cli("approvals", "set", "--approvals", str(approvals)).code == EXIT_USAGE
    bad_bool = cli("approvals", "set", "--approvals", str(approvals), "--auto-allow-skills", "x")
    assert bad_bool.code == EXIT_USAGE


def test_approvals_set_file_replaces_and_keeps_the_socket(
    cli: Cli, approvals: Path, tmp_path: Path
) -> None:
    new = tmp_path / "new.json"
    new.write_text(json.dumps({"version": 1, "defaults": {"security": "deny"}}))
    run = cli("approvals", "set", "--approvals", str(approvals), "--file", str(new), "--json")
    assert run.code == EXIT_OK
    file = read_approvals(approvals)
    assert file is not None
    assert str(file.defaults.security) == "deny"
    assert file.socket is not None
    assert file.socket.token == "SECRET-TOKEN-123"
    assert "SECRET-TOKEN-123" not in run.out
    new.write_text('{"version": 1, "defaults": ')
    broken = cli("approvals", "set", "--approvals", str(approvals), "--file", str(new))
    assert broken.code == EXIT_USAGE
    assert "line 1" in broken.err
    both = cli("approvals", "set", "--approvals", str(approvals), "--file", str(new), "--ask", "x")
    assert both.code == EXIT_USAGE


def test_allowlist_add_and_remove(cli: Cli, approvals: Path) -> None:
    added = cli("approvals", "allowlist", "add", "--approvals", str(approvals), "/usr/bin/jq")
    assert added.code == EXIT_OK
    assert "added: /usr/bin/jq" in added.out
    again = cli("approvals", "allowlist", "add", "--approvals", str(approvals), "/usr/bin/jq")
    assert "already present" in again.out
    file = read_approvals(approvals)
    assert file is not None
    patterns = [e.pattern for e in file.agents["*"].allowlist]
    assert patterns.count("/usr/bin/jq") == 1
    main_add = cli(
        "approvals", "allowlist", "add", "--approvals", str(approvals), "--agent", "main",
        "--arg-pattern", "^status$", "/usr/bin/git", "--json",
    )  # fmt: skip
    assert main_add.json()["added"] is True
    file = read_approvals(approvals)
    assert file is not None
    assert file.agents["main"].allowlist[0].arg_pattern == "^status$"
    removed = cli("approvals", "allowlist", "remove", "--approvals", str(approvals), "/usr/bin/jq")
    assert removed.code == EXIT_OK
    file = read_approvals(approvals)
    assert file is not None
    assert "/usr/bin/jq" not in [e.pattern for e in file.agents["*"].allowlist]
    by_id = cli("approvals", "allowlist", "remove", "--approvals", str(approvals), "e1")
    assert by_id.code == EXIT_OK
    missing = cli("approvals", "allowlist", "remove", "--approvals", str(approvals), "/nope")
    assert missing.code == EXIT_USAGE
    assert "no allowlist entry" in missing.err
    assert json.loads(approvals.read_text())["futureKey"] == {"kept": True}


def test_allowlist_add_creates_the_default_file(cli: Cli, tmp_path: Path) -> None:
    assert cli("approvals", "allowlist", "add", "/usr/bin/jq").code == EXIT_OK
    target = tmp_path / "state" / "exec-approvals.json"
    assert (target.stat().st_mode & 0o777) == 0o600
    file = read_approvals(target)
    assert file is not None
    assert [e.pattern for e in file.agents["*"].allowlist] == ["/usr/bin/jq"]


# ---------------------------------------------------------------------- pairing


def _situation(peer: str, key: str) -> dict[str, object]:
    return {
        "nowMs": 1795611406443,
        "assumeSignatureValid": True,
        "connection": {
            "peerAddress": peer,
            "challengeNonce": "n",
            "headers": {"Host": f"{peer}:18789"},
        },
        "gateway": {"auth": {"mode": "token", "token": "t"}},
        "connect": {
            "client": {"id": "gateway-client", "mode": "backend", "platform": "linux"},
            "scopes": ["operator.approvals"],
            "auth": {"token": "t"},
            "device": {"publicKey": key},
        },
    }


def test_pairing_explain_local_secret_holder_is_accepted(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "situation.json"
    key = generate_device_identity().public_key
    path.write_text(json.dumps(_situation("127.0.0.1", key)))
    text = cli("pairing", "explain", str(path))
    assert text.code == EXIT_OK
    assert text.out.startswith("Decision: ACCEPT_AFTER_SILENT_PAIRING")
    doc = cli("pairing", "explain", "--json", str(path))
    assert doc.json()["outcome"] == "accept-after-silent-pairing"


def test_pairing_explain_remote_device_is_not_accepted(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "situation.json"
    key = generate_device_identity().public_key
    path.write_text(json.dumps(_situation("203.0.113.7", key)))
    run = cli("pairing", "explain", "--json", str(path))
    assert run.code == EXIT_DENIED
    assert run.json()["outcome"] in {"pairing-required", "reject"}


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "error"),
        ('{"nowMs": 1}', "connection"),
        ('{"nowMs": 1, "typo": 2, "connection": {}}', "typo"),
    ],
)
def test_pairing_explain_bad_input(cli: Cli, tmp_path: Path, content: str, needle: str) -> None:
    path = tmp_path / "situation.json"
    path.write_text(content)
    run = cli("pairing", "explain", str(path))
    assert run.code == EXIT_USAGE
    assert needle in run.err


# ---------------------------------------------------------------------- audit


def _record_session(approvals: Path, bin_dir: Path, log: Path) -> None:
    async def session() -> None:
        guard = ExecGuard(approvals=approvals, audit=log)
        for command in (f"{bin_dir}/tool", f"{bin_dir}/other", f"{bin_dir}/tool x"):
            await guard.authorize(command, cwd=str(bin_dir), env={"PATH": "/usr/bin:/bin"})

    anyio.run(session)


def test_audit_verify_ok_and_tampered(
    cli: Cli, approvals: Path, bin_dir: Path, tmp_path: Path
) -> None:
    log = tmp_path / "audit.jsonl"
    _record_session(approvals, bin_dir, log)
    ok = cli("audit", "verify", "--json", str(log))
    assert ok.code == EXIT_OK
    assert ok.json()["records"] == 3
    lines = log.read_text().splitlines(keepends=True)
    lines[1] = lines[1].replace('"allowed":false', '"allowed":true')
    log.write_text("".join(lines))
    broken = cli("audit", "verify", str(log))
    assert broken.code == EXIT_DENIED
    assert "BROKEN at line 2" in broken.out
    assert cli("audit", "verify", str(tmp_path / "missing.jsonl")).code == EXIT_USAGE


def test_audit_replay_lists_changed_decisions(
    cli: Cli, approvals: Path, bin_dir: Path, tmp_path: Path
) -> None:
    log = tmp_path / "audit.jsonl"
    _record_session(approvals, bin_dir, log)
    same = cli("audit", "replay", "--approvals", str(approvals), "--json", str(log))
    assert same.code == EXIT_OK
    assert same.json()["records"] == 3
    assert same.json()["changed"] == 0
    # The host now removes the tool from the allowlist: the two allowed runs would ask.
    cli("approvals", "allowlist", "remove", "--approvals", str(approvals), "e1")
    changed = cli("audit", "replay", "--approvals", str(approvals), "--json", str(log))
    assert changed.code == EXIT_DENIED
    rows = changed.json()["results"]
    assert [r["changed"] for r in rows] == [True, False, True]
    assert rows[0]["recorded"]["verdict"] == "allow"
    assert rows[0]["replayed"]["verdict"] == "ask"
    text = cli("audit", "replay", "--approvals", str(approvals), str(log))
    assert "2 of 3 would now be decided differently" in text.out
    assert "CHANGED #1: allow (allowlist-satisfied) -> ask (allowlist-miss)" in text.out


def test_audit_replay_with_a_knob_override(
    cli: Cli, approvals: Path, bin_dir: Path, tmp_path: Path
) -> None:
    log = tmp_path / "audit.jsonl"
    _record_session(approvals, bin_dir, log)
    run = cli(
        "audit", "replay", "--approvals", str(approvals), "--security", "deny", "--all", str(log)
    )
    assert run.code == EXIT_DENIED
    assert "3 of 3 would now be decided differently" in run.out
    assert run.out.count("CHANGED") == 3
    bad = cli("audit", "replay", "--approvals", str(approvals), "--ask", "maybe", str(log))
    assert bad.code == EXIT_USAGE


def test_audit_replay_refuses_a_damaged_log(
    cli: Cli, approvals: Path, bin_dir: Path, tmp_path: Path
) -> None:
    log = tmp_path / "audit.jsonl"
    _record_session(approvals, bin_dir, log)
    log.write_text(log.read_text()[:-20])
    run = cli("audit", "replay", "--approvals", str(approvals), str(log))
    assert run.code == EXIT_USAGE
    assert "damaged" in run.err


# ---------------------------------------------------------------------- errors, never tracebacks


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["nope"],
        ["policy", "--security", "sometimes"],
        ["policy", "--approvals", "/definitely/missing/dir/../x.json", "--ask", "weird"],
        ["explain"],
        ["explain", "--", ""],
        ["explain", "--cwd"],
        ["approvals"],
        ["approvals", "allowlist"],
        ["approvals", "allowlist", "add", "   "],
        ["approvals", "set", "--file", "/definitely/missing.json"],
        ["pairing", "explain", "/definitely/missing.json"],
        ["audit", "replay", "/definitely/missing.jsonl"],
        ["demo", "--timeout-ms", "0"],
        ["demo", "--timeout-ms", "soon"],
    ],
)
def test_bad_input_exits_2_without_traceback(cli: Cli, argv: list[str]) -> None:
    run = cli(*argv)
    assert run.code == EXIT_USAGE
    assert "error:" in run.err.strip().splitlines()[-1]


@pytest.mark.parametrize(
    "content",
    [
        "",
        "{",
        '{"version": 2}',
        '{"version": 1, "defaults": {"security": "Deny!"}}',
        '{"version": 1, "agents": {"main": {"allowlist": [{"pattern": ""}]}}}',
        "\xff\xfe",
    ],
)
def test_malformed_approvals_file_is_an_input_error_everywhere(
    cli: Cli, tmp_path: Path, content: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="latin-1")
    before = path.read_bytes()
    for argv in (
        ["policy", "--approvals", str(path)],
        ["explain", "--approvals", str(path), "--", "ls"],
        ["approvals", "get", "--approvals", str(path)],
        ["approvals", "set", "--approvals", str(path), "--ask", "always"],
        ["approvals", "allowlist", "add", "--approvals", str(path), "/usr/bin/jq"],
    ):
        run = cli(*argv)
        assert run.code == EXIT_USAGE, argv
        assert str(path) in run.err
    assert path.read_bytes() == before  # never "repaired"


def test_directory_as_approvals_file(cli: Cli, tmp_path: Path) -> None:
    run = cli("policy", "--approvals", str(tmp_path))
    assert run.code == EXIT_USAGE


def test_help_and_version(cli: Cli) -> None:
    assert cli("--help").code == EXIT_OK
    version = cli("--version")
    assert version.code == EXIT_OK
    assert version.out.startswith("openclaw-exec ")


def test_stdin_documents(cli: Cli, approvals: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b'{"version": 1}')))
    run = cli("approvals", "set", "--approvals", str(approvals), "--file", "-")
    assert run.code == EXIT_OK
    file = read_approvals(approvals)
    assert file is not None
    assert file.agents == {}
    key = generate_device_identity().public_key
    situation = json.dumps(_situation("127.0.0.1", key)).encode()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(situation)))
    assert cli("pairing", "explain", "-").code == EXIT_OK
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"\xff")))
    bad = cli("pairing", "explain", "-")
    assert bad.code == EXIT_USAGE
    assert "<stdin>: not UTF-8" in bad.err


def test_documented_explain_schema_is_the_real_one(cli: Cli, approvals: Path) -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text(encoding="utf-8")
    table = page.split("### explain JSON", 1)[1].split("\n## ", 1)[0]
    documented = {
        row.split("|")[1].strip().strip("`") for row in table.splitlines() if row.startswith("| `")
    }
    doc = cli("explain", "--approvals", str(approvals), "--json", "--", "true").json()
    assert documented == set(doc)
