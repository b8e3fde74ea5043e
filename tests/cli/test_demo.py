"""openclaw-exec demo: the scripted session tells the story and checks itself."""

from __future__ import annotations

import io
import sys
from pathlib import Path

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


def test_interactive_demo_tells_what_the_human_chose_on_a_terminal() -> None:
    # Before: answering allow-once was narrated as "the approver chose allow-always and the
    # grant was written", and the demo hung at exit on its blocked stdin read.
    pexpect = pytest.importorskip("pexpect")
    root = Path(__file__).resolve().parents[2]
    child = pexpect.spawn(
        sys.executable,
        ["-m", "openclaw_exec.cli", "demo", "--interactive", "--timeout-ms", "4000"],
        env={"PYTHONPATH": str(root / "src"), "PATH": "/usr/bin:/bin", "HOME": "/tmp"},
        encoding="utf-8",
        timeout=20,
    )
    seen = io.StringIO()
    child.logfile_read = seen
    prompt = "allow-once | allow-always | deny ?"
    try:
        child.expect(r"\[2\] an unknown command asks a human")
        child.expect_exact(prompt)
        child.sendline("allow-once")
        child.expect("why: ")
        child.expect(r"\[3\]")
        child.expect_exact(prompt)  # nothing was persisted, so step 3 asks again
        child.sendline("deny")
        child.expect(r"\[4\]")
        child.expect_exact(prompt)
        child.sendline("deny")
        child.expect(r"\[5\]")
        child.expect_exact(prompt)  # no answer: the approval expires after 4 s
        child.expect("demo finished")
        child.expect(pexpect.EOF, timeout=10)
    finally:
        child.close(force=True)
    text = seen.getvalue()
    step2 = text.split("[2]", 1)[1].split("[3]", 1)[0]
    assert "approved (allow-once) by console" in step2
    assert "the approver chose allow-once: nothing was written" in step2
    assert "allow-always and the grant was written" not in text
    assert "step 2 was not answered allow-always" in text
    assert child.exitstatus == 1  # the session did not go as scripted, and says so
