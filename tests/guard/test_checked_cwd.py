"""
``checked_cwd``'s one-call answer against ``os.path.realpath`` (a differential test).

A normalised absolute path that ``openat2`` reaches without meeting a symlink is returned
as it is; every other path goes through ``os.path.realpath``. Both must give the same
folder for any path over a real tree of folders, files, symlinks to folders and files,
dangling and looping links, with ``.``, ``..``, doubled and trailing slashes, and with
the one-call path switched off.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openclaw_exec.analysis import _openat2
from openclaw_exec.guard import checked_cwd

pytestmark = pytest.mark.skipif(
    _openat2._OPENAT2 is None, reason="no openat2 on this kernel: realpath is the only path"
)

PARTS = ("d", "ld", "f", "lf", "dangle", "loop", "missing", "x", ".", "..", "")


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cwd").resolve()
    for base in (root, root / "d"):
        (base / "d" / "x").mkdir(parents=True)
        (base / "f").write_text("")
        (base / "ld").symlink_to(root / "d")
        (base / "lf").symlink_to(base / "f")
        (base / "dangle").symlink_to(base / "nowhere")
        (base / "loop").symlink_to(base / "loop")
    return root


def _check(path: str) -> None:
    assert checked_cwd(path) == os.path.realpath(path), path
    saved = _openat2._OPENAT2
    _openat2._OPENAT2 = None  # the realpath way only
    try:
        assert checked_cwd(path) == os.path.realpath(path), path
    finally:
        _openat2._OPENAT2 = saved


@given(parts=st.lists(st.sampled_from(PARTS), max_size=5), trailing=st.booleans())
def test_the_one_call_answer_is_realpath(tree: Path, parts: list[str], trailing: bool) -> None:
    _check(str(tree) + "/" + "/".join(parts) + ("/" if trailing else ""))


def test_the_usual_cases(tree: Path) -> None:
    for path in ("/", "/tmp", str(tree), f"{tree}/d/x", f"{tree}/ld/x", f"{tree}//d", f"{tree}/d/"):
        _check(path)
    assert checked_cwd(f"{tree}/ld/x") == f"{tree}/d/x"  # the symlink is followed
    assert checked_cwd("relative/path") == "relative/path"  # left for the analysis to refuse
