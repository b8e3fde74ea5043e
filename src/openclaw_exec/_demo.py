"""
``openclaw-exec demo``: a scripted agent session on embedded defaults, no setup.

It builds everything in a temporary folder: three tiny programs on a private ``PATH``, an
approvals file (``allowlist`` / ``on-miss`` / ``askFallback=deny``, one allowlisted
program), the exec guard with an in-process approval store and audit log, and a console
approver whose answers are scripted (``--interactive`` reads them from stdin instead).
Then an "agent" runs five commands through :func:`~openclaw_exec.guarded_run` and the demo
prints what happened and why. Every step checks its own expectation, so the exit code
says whether the library behaved (0) or not (1).
"""

from __future__ import annotations

import json
import stat
import tempfile
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import anyio
import attrs

from openclaw_exec.adapters.filestore import read_approvals, write_approvals
from openclaw_exec.adapters.memory import ConsoleApprover, MemoryApprovalStore
from openclaw_exec.analysis import format_evaluation_table
from openclaw_exec.audit import verify_audit_log
from openclaw_exec.guard import ExecGuard
from openclaw_exec.integrations import GuardedRun, guarded_run
from openclaw_exec.policy import (
    AgentPolicy,
    AllowlistEntry,
    ApprovalsFile,
    Ask,
    PolicyDefaults,
    Security,
)
from openclaw_exec.protocol import Decision, Principal

__all__ = ["DemoStep", "run_demo"]

_PROGRAMS = {
    "report": 'echo "report: 3 tasks open, 1 done"',
    "deploy": 'echo "deploy: shipped to $1"',
    "cleanup": 'echo "cleanup: deleted everything under $HOME"',
}
SCRIPTED_ANSWERS = ("allow-always", "deny", "")
"""What the scripted console approver types, in order (``""``: no answer)."""


@attrs.frozen(kw_only=True)
class DemoStep:
    """One step of the scripted session and what it is expected to show."""

    title: str
    command: str
    expect_allowed: bool
    expect: Callable[[GuardedRun], bool] = attrs.field(eq=False)
    lesson: str


def _steps(bin_dir: Path) -> tuple[DemoStep, ...]:
    return (
        DemoStep(
            title="an allowlisted command runs",
            command="report --today",
            expect_allowed=True,
            expect=lambda r: r.ok and r.authorization.approval_id is None,
            lesson=f"{bin_dir}/report is on the allowlist: no human needed.",
        ),
        DemoStep(
            title="an unknown command asks a human; allow-always persists",
            command="deploy staging",
            expect_allowed=True,
            expect=lambda r: (
                r.ok
                and r.authorization.decision is Decision.ALLOW_ALWAYS
                and bool(r.authorization.persisted)
            ),
            lesson="deploy is not allowlisted, so ask=on-miss asked; the approver chose "
            "allow-always and the grant was written to the approvals file.",
        ),
        DemoStep(
            title="the allow-always grant is used, no prompt this time",
            command="deploy staging",
            expect_allowed=True,
            expect=lambda r: r.ok and r.authorization.approval_id is None,
            lesson="the persisted entry satisfies the allowlist now.",
        ),
        DemoStep(
            title="a chained bypass attempt is refused",
            command="report --today && sh -c 'cleanup --all'",
            expect_allowed=False,
            expect=lambda r: not r.ran and r.authorization.reason == "user-denied",
            lesson="an allowlisted first segment does not carry the chain: the guard "
            "analyses every segment (and the shell inside sh -c), finds cleanup not "
            "allowlisted, and shows the WHOLE command to the approver, who denied it.",
        ),
        DemoStep(
            title="a timeout falls back to askFallback",
            command="cleanup --all",
            expect_allowed=False,
            expect=lambda r: not r.ran and r.authorization.decision is None,
            lesson="nobody answered before the approval expired; askFallback=deny applies.",
        ),
    )


def _lesson(step: DemoStep, result: GuardedRun, steps: tuple[DemoStep, ...]) -> str:
    """The step's lesson, told from what the approver actually answered (interactive mode)."""
    auth = result.authorization
    if step is steps[1] and auth.decision is not Decision.ALLOW_ALWAYS:
        chosen = auth.decision.value if auth.decision else "no answer"
        kept = "nothing was written to the approvals file"
        return (
            f"deploy is not allowlisted, so ask=on-miss asked; the approver chose {chosen}: {kept}."
        )
    if step is steps[2] and auth.approval_id is not None:
        return (
            "no allow-always grant covers deploy (step 2 was not answered allow-always), "
            "so it asked again."
        )
    return step.lesson


def _make_world(root: Path) -> tuple[Path, Path, Path, dict[str, str]]:
    bin_dir = root / "bin"
    bin_dir.mkdir()
    for name, body in _PROGRAMS.items():
        program = bin_dir / name
        program.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
        program.chmod(stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP)
    approvals = root / "exec-approvals.json"
    write_approvals(
        approvals,
        ApprovalsFile(
            defaults=PolicyDefaults(
                security=Security.ALLOWLIST, ask=Ask.ON_MISS, ask_fallback=Security.DENY
            ),
            agents={"main": AgentPolicy(allowlist=(AllowlistEntry(pattern=f"{bin_dir}/report"),))},
        ),
    )
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(root / "home"), "LC_ALL": "C"}
    (root / "home").mkdir()
    return bin_dir, approvals, root / "audit.jsonl", env


class _Printer:
    """Writes demo lines; silent in JSON mode (the JSON document is printed at the end)."""

    def __init__(self, out: TextIO, *, quiet: bool) -> None:
        self.out = out
        self.quiet = quiet
        self.lock = threading.Lock()
        self.root = ""

    def __call__(self, text: str = "") -> None:
        if self.quiet:
            return
        if self.root:  # the temporary folder is noise: show it as $DEMO
            text = text.replace(self.root, "$DEMO")
        with self.lock:
            self.out.write(text + "\n")
            self.out.flush()


class _ApproverOutput:
    """The console approver's prompts, indented under the step (a TextIO-like sink)."""

    def __init__(self, say: _Printer) -> None:
        self.say = say
        self.prompted = threading.Semaphore(0)  # one release per prompt shown

    def write(self, text: str) -> int:
        for line in text.splitlines():
            self.say(f"    approver | {line}")
            if line.strip().endswith("deny ?"):
                self.prompted.release()
        return len(text)

    def flush(self) -> None:
        """Nothing buffered."""


def _scripted_reader(say: _Printer, prompts: threading.Semaphore) -> Callable[[], str]:
    answers = deque(SCRIPTED_ANSWERS)
    never = threading.Event()

    def read_line() -> str:
        prompts.acquire()  # a human answers a prompt they have seen, never ahead of it
        answer = answers.popleft() if answers else ""
        if not answer:
            say("    approver | > (no answer: the approver walked away)   [scripted]")
            never.wait()  # the console approver's reader is a daemon thread: exit is fine
        say(f"    approver | > {answer}   [scripted]")
        return answer + "\n"

    return read_line


def _step_json(step: DemoStep, result: GuardedRun, ok: bool) -> dict[str, Any]:
    auth = result.authorization
    return {
        "title": step.title,
        "command": step.command,
        "allowed": auth.allowed,
        "reason": auth.reason,
        "message": auth.message,
        "decision": auth.decision.value if auth.decision else None,
        "approver": auth.approver,
        "persisted": list(auth.persisted),
        "ran": result.ran,
        "returncode": result.returncode,
        "stdout": result.stdout.decode("utf-8", "replace"),
        "asExpected": ok,
    }


async def _session(
    root: Path, say: _Printer, *, interactive: bool, timeout_ms: int
) -> tuple[list[dict[str, Any]], bool]:
    bin_dir, approvals, audit, env = _make_world(root)
    say("openclaw-exec demo: a scripted agent session (nothing to set up, nothing kept)")
    say(f"  $DEMO = {root} (a temporary folder, removed at the end)")
    say.root = str(root)
    say(f"  approvals file: {approvals}")
    say("  policy: security=allowlist ask=on-miss askFallback=deny")
    say(f"  allowlist (agent main): {bin_dir}/report")
    say("  gateway: in-process approval store (OpenClaw's approval life cycle, no network)")
    say("  audit log: $DEMO/audit.jsonl (hash-chained)")
    say(f"  approver: console, {'answers read from stdin' if interactive else 'scripted answers'}")
    say(f"  approval timeout: {timeout_ms / 1000:g} s")
    if interactive:
        say("  answer each prompt with allow-once, allow-always or deny (the script expects")
        say("  allow-always, then deny, then no answer: press Enter and wait for the timeout)")
    steps = _steps(bin_dir)
    reports: list[dict[str, Any]] = []
    all_ok = True
    async with MemoryApprovalStore() as store, anyio.create_task_group() as tg:
        sink = _ApproverOutput(say)
        approver = ConsoleApprover(
            store,
            principal=Principal(id="console"),
            # Interactive: stdin itself (watched without a thread, so exit never hangs).
            read_line=None if interactive else _scripted_reader(say, sink.prompted),
            output=sink,  # type: ignore[arg-type]
        )
        await tg.start(approver.run)
        guard = ExecGuard(store=store, approvals=approvals, audit=audit, timeout_ms=timeout_ms)
        for number, step in enumerate(steps, start=1):
            say()
            say(f"[{number}] {step.title}")
            say(f"    agent wants to run: {step.command}")
            result = await guarded_run(guard, step.command, cwd=root, env=env, agent_id="main")
            auth = result.authorization
            verdict = "ALLOWED" if auth.allowed else "REFUSED"
            say(f"    guard: {verdict} ({auth.reason}): {auth.message}")
            if auth.persisted:
                say(f"    persisted to the approvals file: {', '.join(auth.persisted)}")
            if result.ran:
                output = result.stdout.decode("utf-8", "replace").strip()
                say(f"    ran: {' '.join(result.argv[:2])} {result.argv[2]!r} -> {output}")
            else:
                say("    ran: nothing")
            if step.expect_allowed is False and auth.evaluation is not None and number == 4:
                say("    why (segment by segment):")
                for line in format_evaluation_table(auth.evaluation).splitlines():
                    say(f"      {line}")
            ok = auth.allowed is step.expect_allowed and step.expect(result)
            all_ok = all_ok and ok
            say(f"    why: {_lesson(step, result, steps)}")
            if not ok:
                say("    UNEXPECTED: this step did not behave as the demo expects")
            reports.append(_step_json(step, result, ok))
        tg.cancel_scope.cancel()
    file = read_approvals(approvals)
    durable = [
        entry.pattern
        for agent in (file.agents.values() if file else ())
        for entry in agent.allowlist
        if entry.is_durable
    ]
    check = verify_audit_log(audit)
    say()
    say(f"approvals file now holds allow-always grants: {', '.join(durable) or 'none'}")
    chain = "hash chain intact" if check.ok else f"BROKEN: {check.error}"
    say(f"audit log: {check.records} records, {chain}")
    all_ok = all_ok and check.ok and check.records == len(steps)
    if all_ok:
        say("demo finished: every step behaved as expected")
    else:
        say("demo finished: SOME STEPS DID NOT BEHAVE AS EXPECTED")
    return reports, all_ok


def run_demo(
    out: TextIO,
    *,
    as_json: bool = False,
    interactive: bool = False,
    timeout_ms: int | None = None,
) -> int:
    """
    Run the scripted session, print it to *out*, return the exit code (0 when as expected).

    Args:
        out: Where to print.
        as_json: Print one JSON document instead of the narrated session.
        interactive: Read the approver's answers from stdin (default: scripted).
        timeout_ms: Approval lifetime (default 1 s scripted, 15 s interactive).
    """
    limit = timeout_ms if timeout_ms is not None else (15_000 if interactive else 1_000)
    say = _Printer(out, quiet=as_json)
    with tempfile.TemporaryDirectory(prefix="openclaw-exec-demo-") as folder:
        root = Path(folder).resolve()
        reports, ok = anyio.run(
            lambda: _session(root, say, interactive=interactive, timeout_ms=limit)
        )
    if as_json:
        json.dump({"ok": ok, "steps": reports}, out, indent=2)
        out.write("\n")
    return 0 if ok else 1
