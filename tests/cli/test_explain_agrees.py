"""`openclaw-exec explain` predicts the guard: same verdict and reason for any file and command."""

from __future__ import annotations

import contextlib
import io
import json
import stat
import tempfile
from pathlib import Path

import anyio
from hypothesis import given, settings
from hypothesis import strategies as st

from openclaw_exec import Authorization, ExecGuard
from openclaw_exec.cli import main

KNOB = st.one_of(st.none(), st.sampled_from(["deny", "allowlist", "full"]))
ASK = st.one_of(st.none(), st.sampled_from(["off", "on-miss", "always"]))
COMMANDS = [
    "{bin}/tool",
    "{bin}/tool a && {bin}/other",
    "{bin}/other | {bin}/tool",
    "{bin}/tool $(id)",
    "sh -c '{bin}/tool x'",
    "FOO=1 {bin}/tool",
    "/approve abc allow-once",
    "python3 -c 'print(1)'",
]


@settings(max_examples=60, deadline=None)
@given(
    security=KNOB,
    ask=ASK,
    fallback=KNOB,
    agent_ask=ASK,
    listed=st.sets(st.sampled_from(["tool", "other"])),
    template=st.sampled_from(COMMANDS),
    agent=st.sampled_from(["main", "ops"]),
)
def test_explain_verdict_is_the_guards(  # noqa: PLR0917
    security: str | None,
    ask: str | None,
    fallback: str | None,
    agent_ask: str | None,
    listed: set[str],
    template: str,
    agent: str,
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        bin_dir = root / "bin"
        bin_dir.mkdir()
        for name in ("tool", "other"):
            (bin_dir / name).write_text("#!/bin/sh\n", encoding="utf-8")
            (bin_dir / name).chmod(stat.S_IRWXU)
        defaults = {
            k: v
            for k, v in (("security", security), ("ask", ask), ("askFallback", fallback))
            if v is not None
        }
        agent_body: dict[str, object] = {
            "allowlist": [{"pattern": f"{bin_dir}/{name}"} for name in sorted(listed)]
        }
        if agent_ask is not None:
            agent_body["ask"] = agent_ask
        approvals = root / "exec-approvals.json"
        approvals.write_text(
            json.dumps({"version": 1, "defaults": defaults, "agents": {"main": agent_body}})
        )
        command = template.format(bin=bin_dir)
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            argv = ["explain", "--approvals", str(approvals), "--agent", agent, "--cwd", folder]
            code = main([*argv, "--json", "--", command])
        doc = json.loads(out.getvalue())

        async def decide() -> Authorization:
            return await ExecGuard(approvals=approvals).authorize(
                command, cwd=folder, agent_id=agent
            )

        auth = anyio.run(decide)
    assert code == (0 if doc["verdict"]["verdict"] == "allow" else 1)
    if auth.verdict is None:  # refused before any verdict (an /approve command)
        assert doc["verdict"]["reason"] == auth.reason
        assert not auth.allowed
    else:
        assert doc["verdict"]["verdict"] == str(auth.verdict.verdict)
        assert doc["verdict"]["reason"] == str(auth.verdict.reason)
    if doc["verdict"]["verdict"] == "allow":
        assert auth.allowed
