"""A few real runs of the installed command line, as a user (or CI, with no stdin) runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import openclaw_exec


def _run(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "openclaw_exec", *argv],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
        env=env,
    )


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "OPENCLAW_STATE_DIR": str(tmp_path)}


def test_version(tmp_path: Path) -> None:
    done = _run("--version", env=_env(tmp_path))
    assert done.returncode == 0
    assert done.stdout.strip() == f"openclaw-exec {openclaw_exec.__version__}"


def test_demo_runs_with_no_stdin(tmp_path: Path) -> None:
    done = _run("demo", env=_env(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "demo finished: every step behaved as expected" in done.stdout
    assert done.stderr == ""
    assert not (tmp_path / "exec-approvals.json").exists()  # the demo touches no real state


def test_bad_file_is_one_line_on_stderr(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    done = _run("explain", "--approvals", str(bad), "--", "ls", env=_env(tmp_path))
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("openclaw-exec: error:")
    assert done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr


def test_usage_error(tmp_path: Path) -> None:
    done = _run(env=_env(tmp_path))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr


def test_console_script_is_declared() -> None:
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert 'openclaw-exec = "openclaw_exec.cli:main"' in pyproject


def test_closed_stdout_is_not_an_error_message(tmp_path: Path) -> None:
    # `openclaw-exec demo | head -1`: the reader goes away; no traceback, no message.
    with subprocess.Popen(
        [sys.executable, "-m", "openclaw_exec", "demo"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(tmp_path),
    ) as proc:
        assert proc.stdout is not None
        assert proc.stderr is not None
        first = proc.stdout.readline()
        proc.stdout.close()
        err = proc.stderr.read()
        code = proc.wait(timeout=120)
    assert first.startswith(b"openclaw-exec demo")
    assert b"Traceback" not in err
    assert err == b""
    assert code in {0, 2}
