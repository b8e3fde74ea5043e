"""openclaw-exec demo: the scripted session tells the story and checks itself."""

from __future__ import annotations

import io

import pytest

from cli._cli_helpers import Cli
from openclaw_exec._demo import run_demo


def test_demo_prints_the_key_lines(cli: Cli) -> None:
    run = cli("demo")
    assert run.code == 0, run.out
    out = run.out
    for line in (
        "[1] an allowlisted command runs",
        "guard: ALLOWED (allowlist-satisfied): every command segment is allowlisted",
        "ran: sh -c 'report --today' -> report: 3 tasks open, 1 done",
        "[2] an unknown command asks a human; allow-always persists",
        "approver | > allow-always   [scripted]",
        "guard: ALLOWED (user-approved): approved (allow-always) by console",
        "persisted to the approvals file: $DEMO/bin/deploy",
        "[3] the allow-always grant is used, no prompt this time",
        "[4] a chained bypass attempt is refused",
        "guard: REFUSED (user-denied)",
        "[5] a timeout falls back to askFallback",
        "guard: REFUSED (approval-timeout)",
        "approvals file now holds allow-always grants: $DEMO/bin/deploy",
        "audit log: 5 records, hash chain intact",
        "demo finished: every step behaved as expected",
    ):
        assert line in out, line
    # Step 3 really ran without a prompt: exactly three approvals were asked for.
    assert out.count("allow-once | allow-always | deny ?") == 3
    # The bypass step shows its segment table, with the miss inside sh -c.
    bypass = out.split("[4]", 1)[1].split("[5]", 1)[0]
    assert "MISS" in bypass
    assert "ran: nothing" in bypass


def test_demo_json(cli: Cli) -> None:
    doc = cli("demo", "--json").json()
    assert doc["ok"] is True
    steps = doc["steps"]
    assert [s["allowed"] for s in steps] == [True, True, True, False, False]
    assert [s["reason"] for s in steps][3:] == ["user-denied", "approval-timeout"]
    assert steps[1]["decision"] == "allow-always"
    assert steps[1]["persisted"]
    assert all(s["asExpected"] for s in steps)


def test_demo_interactive_reads_answers_from_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    # A human who denies everything: the demo says the session did not go as scripted.
    monkeypatch.setattr("sys.stdin", io.StringIO("deny\ndeny\ndeny\n"))
    out = io.StringIO()
    code = run_demo(out, interactive=True, timeout_ms=2_000)
    assert code == 1
    text = out.getvalue()
    assert "answers read from stdin" in text
    assert "UNEXPECTED" in text
    assert "SOME STEPS DID NOT BEHAVE AS EXPECTED" in text
