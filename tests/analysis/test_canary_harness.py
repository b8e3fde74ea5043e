"""The canary harness itself: it must be able to tell a real shape from a dud."""

from __future__ import annotations

from pathlib import Path

import pytest
from _canary import SCRIPT, SHELLS, TOUCH, Shape, assert_allowed, assert_real, build, run


@pytest.mark.parametrize("shell", SHELLS)
def test_a_shape_that_runs_the_payload_is_seen(shell: str, tmp_path: Path) -> None:
    shape = Shape(f"true; {TOUCH}")
    build(shape, tmp_path)
    assert run(shell, shape, tmp_path)


@pytest.mark.parametrize("shell", SHELLS)
def test_a_script_file_is_executable(shell: str, tmp_path: Path) -> None:
    shape = Shape("./evil", files={"evil": SCRIPT})
    build(shape, tmp_path)
    assert run(shell, shape, tmp_path)


def test_a_dud_shape_fails_assert_real(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="did not create CANARY"):
        assert_real(Shape("echo harmless"), tmp_path)


def test_a_control_that_plants_the_canary_fails(tmp_path: Path) -> None:
    with pytest.raises(AssertionError):
        assert_allowed(Shape(f"{TOUCH}", allow=("touch",)), tmp_path)


def test_a_harmless_control_passes(tmp_path: Path) -> None:
    assert_allowed(Shape("ls -la"), tmp_path)
