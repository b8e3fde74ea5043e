"""Any argv made of the CLI's own words (and junk) gives an exit code, never a traceback."""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from openclaw_exec.cli import main

WORDS = [
    "policy", "explain", "approvals", "get", "set", "allowlist", "add", "remove",
    "pairing", "audit", "verify", "replay", "--json", "--agent", "--approvals",
    "--security", "--ask", "--ask-fallback", "--auto-allow-skills", "--file", "--cwd",
    "--arg-pattern", "--all", "--", "-", "deny", "allowlist", "full", "off", "on-miss",
    "always", "true", "main", "*", "/usr/bin/jq", "ls -la", "/approve x deny", "",
    "\x00", "é", "{", "/nonexistent/file.json",
]  # fmt: skip


@settings(max_examples=150)
@given(st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=8)), max_size=7))
def test_never_a_traceback(argv: list[str]) -> None:
    if "demo" in argv:
        return
    with tempfile.TemporaryDirectory() as state:
        out, err = io.StringIO(), io.StringIO()
        with (
            mock.patch.dict(os.environ, {"OPENCLAW_STATE_DIR": state}),
            mock.patch("sys.stdin", io.StringIO("")),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
        ):
            code = main(argv)
    assert code in {0, 1, 2}
    assert "Traceback" not in err.getvalue()
    assert "unexpected" not in err.getvalue(), err.getvalue()
