"""``openclaw-exec test``, ``approvals grants`` and ``schema``: exit codes, --json, errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cli._cli_helpers import Cli
from openclaw_exec.adapters.filestore import read_approvals
from openclaw_exec.policy import approvals_schema, dumps_schema, exec_config_schema

GIT = shutil.which("git", path="/usr/bin:/bin") or "/usr/bin/git"
LS = shutil.which("ls", path="/usr/bin:/bin") or "/usr/bin/ls"


@pytest.fixture
def approvals(tmp_path: Path) -> Path:
    path = tmp_path / "exec-approvals.json"
    path.write_text(
        json.dumps(
            {
                "version": 1,
                "defaults": {"security": "allowlist", "ask": "on-miss", "askFallback": "deny"},
                "agents": {
                    "*": {
                        "allowlist": [GIT, LS],
                        "deny": [{"pattern": "git", "argPattern": "^push", "id": "no-push"}, "rm"],
                    },
                    "ops": {"security": "full"},
                },
            }
        )
    )
    return path


def _tests(tmp_path: Path, *lines: str) -> str:
    path = tmp_path / "policy.jsonl"
    path.write_text("# policy tests\n" + "\n".join(lines) + "\n")
    return str(path)


GOOD = (
    '{"command": "git status", "expect": "allow"}',
    '{"command": "git push origin main", "expect": "deny", "rule": "agents.*.deny[0]"}',
    '{"command": "curl https://example.com", "expect": "ask", "reason": "allowlist-miss"}',
    '{"command": "env rm -rf /tmp/x", "expect": "deny", "agent": "ops"}',
    '{"command": "curl https://example.com", "expect": "allow", "agent": "ops"}',
)


def test_all_passing_exits_0(cli: Cli, tmp_path: Path, approvals: Path) -> None:
    run = cli("test", _tests(tmp_path, *GOOD), "--approvals", str(approvals))
    assert run.code == 0, run.out + run.err
    assert "5 passed, 0 failed" in run.out


def test_a_failing_case_exits_1_and_names_its_line(
    cli: Cli, tmp_path: Path, approvals: Path
) -> None:
    wrong = '{"command": "git push", "expect": "deny", "rule": "agents.*.deny[1]", "name": "push"}'
    run = cli("test", _tests(tmp_path, *GOOD, wrong), "--approvals", str(approvals))
    assert run.code == 1
    assert "policy.jsonl:7: push: expected deny rule agents.*.deny[1], got agents.*.deny[0]" in (
        run.out
    )
    assert "5 passed, 1 failed" in run.out


def test_json_reports_every_case(cli: Cli, tmp_path: Path, approvals: Path) -> None:
    run = cli(
        "test",
        _tests(tmp_path, *GOOD, '{"command": "ls", "expect": "ask"}'),
        "--approvals",
        str(approvals),
        "--json",
    )
    assert run.code == 1
    doc = run.json()
    assert (doc["schemaVersion"], doc["passed"], doc["failed"], doc["exitCode"]) == (1, 5, 1, 1)
    assert [r["line"] for r in doc["results"]] == [2, 3, 4, 5, 6, 7]
    failed = doc["results"][-1]
    assert (failed["passed"], failed["verdict"], failed["expect"]) == (False, "allow", "ask")
    assert doc["results"][1]["rule"] == "agents.*.deny[0]"


@pytest.mark.parametrize(
    ("line", "where"),
    [
        ('{"command": "ls", "expect": "maybe"}', "policy.jsonl:2: expect:"),
        ('{"command": "ls"', "policy.jsonl:2: invalid JSON"),
        ('{"command": "ls", "expect": "allow", "cwd": "rel"}', "policy.jsonl:2: cwd:"),
    ],
)
def test_a_bad_test_file_exits_2_naming_line_and_path(
    cli: Cli, tmp_path: Path, approvals: Path, line: str, where: str
) -> None:
    run = cli("test", _tests(tmp_path, line), "--approvals", str(approvals))
    assert run.code == 2
    assert where in run.err
    assert run.out == ""


def test_a_missing_test_file_or_approvals_file_exits_2(cli: Cli, tmp_path: Path) -> None:
    assert cli("test", str(tmp_path / "nope.jsonl")).code == 2
    tests = _tests(tmp_path, *GOOD)
    run = cli("test", tests, "--approvals", str(tmp_path / "missing.json"))
    assert run.code == 2
    assert "no such approvals file" in run.err


def test_grants_are_judged_at_the_cases_clock_and_session(
    cli: Cli, tmp_path: Path, approvals: Path
) -> None:
    add = cli(
        "approvals",
        "grants",
        "add",
        "/usr/bin/curl",
        "--approvals",
        str(approvals),
        "--session",
        "cron:nightly",
        "--expires-in-days",
        "1",
        "--now-ms",
        "1000",
        "--id",
        "nightly-curl",
    )
    assert add.code == 0, add.err
    curl = '{"command": "curl https://x", '
    cases = (
        curl + '"expect": "allow", "sessionKey": "cron:nightly", "nowMs": 2000}',
        curl + '"expect": "ask", "sessionKey": "chat:1", "nowMs": 2000}',
        curl + '"expect": "ask", "sessionKey": "cron:nightly", "nowMs": 86401000}',
    )
    if not Path("/usr/bin/curl").exists():
        pytest.skip("curl is not installed")
    run = cli("test", _tests(tmp_path, *cases), "--approvals", str(approvals))
    assert run.code == 0, run.out


def test_grants_add_list_revoke_prune(cli: Cli, approvals: Path) -> None:
    base = ("approvals", "grants")
    where = ("--approvals", str(approvals), "--now-ms", "1000")
    assert cli(*base, "add", LS, *where).code == 2  # no lifetime given: refused
    run = cli(*base, "add", LS, *where, "--expires-in-minutes", "30", "--max-uses", "1")
    assert run.code == 0
    assert "expires in 30m, 1 use(s) left" in run.out
    run = cli(*base, "add", LS, *where, "--until-revoked", "--id", "keep", "--agent", "ops")
    assert run.code == 0
    assert cli(*base, "add", LS, *where, "--until-revoked", "--id", "keep").code == 2
    listing = cli(*base, "list", *where, "--json").json()
    assert sorted((g["agentId"], g["state"]) for g in listing["grants"]) == [
        ("main", "active"),
        ("ops", "active"),
    ]
    revoked = cli(*base, "revoke", "keep", *where, "--by", "alice", "--json")
    assert revoked.json()["outcome"] == "revoked"
    assert cli(*base, "revoke", "keep", *where).out.startswith("grant keep was already revoked")
    assert cli(*base, "revoke", "nope", *where).code == 2
    file = read_approvals(approvals)
    assert file is not None
    assert file.agents["ops"].grants[0].revoked_by == "alice"
    pruned = cli(*base, "prune", "--approvals", str(approvals), "--now-ms", "1000", "--json")
    assert pruned.json()["removed"] == 1
    later = cli(*base, "list", "--approvals", str(approvals), "--now-ms", str(1000 + 1_800_000))
    assert "expired" in later.out


def test_schema_prints_the_shipped_schema(cli: Cli) -> None:
    run = cli("schema")
    assert run.code == 0
    assert run.out == dumps_schema(approvals_schema())
    assert json.loads(run.out)["$id"].endswith("exec-approvals.schema.json")
    assert cli("schema", "nonsense").code == 2
    config = cli("schema", "config")
    assert config.code == 0
    assert config.out == dumps_schema(exec_config_schema())


def test_policy_lists_deny_rules_and_the_sessions_grants(cli: Cli) -> None:
    example = "examples/policy-with-deny.json"
    run = cli("policy", "--approvals", example, "--agent", "ops", "--json")
    doc = run.json()
    assert [d["where"] for d in doc["deny"]] == ["agents.*.deny[0]", "agents.*.deny[1]"]
    assert doc["grants"] == []  # the grant serves one session key
    scoped = cli("policy", "--approvals", example, "--agent", "ops", "--session",
                 "cron:nightly-report", "--json").json()  # fmt: skip
    assert scoped["grants"] == [{"where": "agents.ops.grants[0]", "id": "nightly-report"}]
    text = cli(
        "policy", "--approvals", example, "--agent", "ops", "--session", "cron:nightly-report"
    )
    assert "/usr/bin/tar  [grant nightly-report]" in text.out
    assert "rm  (agents.*.deny[1])" in text.out


def test_explain_judges_grants_for_the_session(cli: Cli, approvals: Path) -> None:
    cat = shutil.which("cat", path="/usr/bin:/bin") or "/usr/bin/cat"
    add = ("approvals", "grants", "add", cat, "--approvals", str(approvals), "--agent", "main")
    assert cli(*add, "--session", "cron:x", "--until-revoked").code == 0
    base = ("explain", "--approvals", str(approvals), "--json")
    assert cli(*base, "--", "cat /etc/hostname").json()["verdict"]["verdict"] == "ask"
    granted = cli(*base, "--session", "cron:x", "--", "cat /etc/hostname").json()
    assert granted["verdict"]["verdict"] == "allow"
    denied = cli(*base, "--session", "cron:x", "--", "cat /etc/hostname | env rm -rf /srv")
    assert denied.json()["verdict"]["rule"] == "agents.*.deny[1]"


def test_deny_add_and_remove(cli: Cli, approvals: Path) -> None:
    where = ("--approvals", str(approvals))
    run = cli("approvals", "deny", "add", "curl", "--id", "net", "--reason", "no network", *where)
    assert run.code == 0, run.err
    file = read_approvals(approvals)
    assert file is not None
    assert file.defaults.deny[-1].reason == "no network"
    explained = cli("explain", *where, "--json", "--", "env curl x").json()
    assert explained["verdict"]["rule"] == "defaults.deny[0]"
    bad = cli("approvals", "deny", "add", "--agent", "ops", "x", "--arg-pattern", "((", *where)
    assert bad.code == 2
    assert 'agents["ops"].deny[+]: invalid argPattern' in bad.err
    assert cli("approvals", "deny", "add", "--agent", "ops", "sudo", *where).code == 0
    assert cli("approvals", "deny", "remove", "net", *where).code == 0
    assert cli("approvals", "deny", "remove", "net", *where).code == 2
    removed = cli("approvals", "deny", "remove", "--agent", "ops", "sudo", *where, "--json")
    assert removed.json()["removed"] == 1
    after = read_approvals(approvals)
    assert after is not None
    assert after.defaults.deny == ()
    assert after.agents["ops"].deny == ()


def test_test_resolves_like_explain_with_preset_and_config(cli: Cli, tmp_path: Path) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text('{"version": 1}')
    tests = _tests(tmp_path, '{"command": "curl https://x", "expect": "allow"}')
    assert cli("test", tests, "--approvals", str(empty)).code == 1  # 4.1: deny
    assert cli("test", tests, "--approvals", str(empty), "--preset", "openclaw-2026.9.6").code == 0
    config = tmp_path / "openclaw.json"
    config.write_text('{"tools": {"exec": {"mode": "full"}}}')
    assert cli("test", tests, "--approvals", str(empty), "--config", str(config)).code == 0
