"""docs/protocol.md shows the real transition table, and its examples run as printed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from openclaw_exec.protocol import render_transition_table

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def test_the_documented_table_is_the_table() -> None:
    assert render_transition_table() in DOC.read_text(encoding="utf-8")


@pytest.mark.parametrize("index", [0, 1])
def test_examples_run(index: int) -> None:
    text = DOC.read_text(encoding="utf-8")
    block = re.findall(r"```python\n(.*?)```", text, re.DOTALL)[index]
    done = subprocess.run(
        [sys.executable, "-c", block], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    if index == 0:
        printed = text.split("It prints:\n\n```text\n", 1)[1].split("```", 1)[0]
        assert done.stdout == printed
