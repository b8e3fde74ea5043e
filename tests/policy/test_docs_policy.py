"""docs/policy.md: every Python example runs and prints exactly what the page says."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "policy.md"
EXAMPLE = re.compile(r"```python\n(.*?)```(?:\s*It prints:\s*```text\n(.*?)```)?", re.DOTALL)


def examples() -> list[tuple[str, str | None]]:
    return [(m.group(1), m.group(2)) for m in EXAMPLE.finditer(DOC.read_text(encoding="utf-8"))]


@pytest.mark.parametrize("index", range(len(examples())))
def test_example_runs_and_prints_what_the_page_says(index: int, tmp_path: Path) -> None:
    code, printed = examples()[index]
    # Examples that use the default approvals file write it under this test's folder.
    env = {**os.environ, "OPENCLAW_STATE_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    if printed is not None:
        assert done.stdout == printed
