"""Fixtures for the CLI tests: a private OpenClaw state dir and a folder of tiny programs."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from cli._cli_helpers import Cli, Run
from openclaw_exec.cli import main


@pytest.fixture(autouse=True)
def _private_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Never touch the real ~/.openclaw: the default approvals path lives in tmp_path.
    monkeypatch.setenv("OPENCLAW_STATE_DIR", str(tmp_path / "state"))


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    def run(*argv: str) -> Run:
        code = main(list(argv))
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err + captured.out
        return Run(code, captured.out, captured.err)

    return run


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "bin"
    folder.mkdir()
    for name in ("tool", "other"):
        program = folder / name
        program.write_text(f'#!/bin/sh\necho {name} "$@"\n', encoding="utf-8")
        program.chmod(stat.S_IRWXU)
    return folder


@pytest.fixture
def approvals(tmp_path: Path, bin_dir: Path) -> Path:
    """allowlist / on-miss / deny with ``<bin>/tool`` allowlisted for every agent."""
    path = tmp_path / "exec-approvals.json"
    path.write_text(
        json.dumps(
            {
                "version": 1,
                "socket": {"path": str(tmp_path / "s.sock"), "token": "SECRET-TOKEN-123"},
                "defaults": {"security": "allowlist", "ask": "on-miss", "askFallback": "deny"},
                "agents": {"*": {"allowlist": [{"id": "e1", "pattern": f"{bin_dir}/tool"}]}},
                "futureKey": {"kept": True},
            }
        ),
        encoding="utf-8",
    )
    return path
