"""
The one-call symlink check (``openat2`` with ``RESOLVE_NO_SYMLINKS``) against the kernel.

``OsResolver.has_symlink`` and the evaluation's "is the executable reached through a
symlink?" answer from one ``openat2`` where the kernel offers it, and from an ``lstat``
per component otherwise. Both must give the same answer for every path: checked here on
a real tree of folders, files, symlinks to folders, symlinks to files, dangling and
looping links, with the fast path on and off.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from _canary import CANARY, SCRIPT, SHELLS
from hypothesis import given, settings
from hypothesis import strategies as st

from openclaw_exec.analysis import _openat2, compile_allowlist, evaluate_command
from openclaw_exec.analysis._openat2 import symlink_free
from openclaw_exec.analysis._resolver import OsResolver
from openclaw_exec.policy import AllowlistEntry

pytestmark = pytest.mark.skipif(
    _openat2._OPENAT2 is None,
    reason="no openat2 on this kernel (the lstat loop is then the only path)",
)

NAMES = ("d", "ld", "f", "lf", "dangle", "loop", "missing", "x")


def _tree(root: Path) -> None:
    """In root and in root/d: d/x/ (folders), f (a file), ld -> root/d, lf -> f, dangle, loop."""
    for base in (root, root / "d"):
        (base / "d" / "x").mkdir(parents=True)
        (base / "f").write_text("#!/bin/sh\n")
        (base / "f").chmod(0o755)
        (base / "ld").symlink_to(root / "d")
        (base / "lf").symlink_to(base / "f")
        (base / "dangle").symlink_to(base / "nowhere")
        (base / "loop").symlink_to(base / "loop")


def _lstat_loop(path: str) -> bool:
    saved = _openat2._OPENAT2
    _openat2._OPENAT2 = None
    try:
        return OsResolver().has_symlink(path)
    finally:
        _openat2._OPENAT2 = saved


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # The temporary folder itself may sit under a symlink (macOS /tmp, some CI): resolve.
    root = tmp_path_factory.mktemp("links").resolve()
    _tree(root)
    return root


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(st.sampled_from(NAMES), min_size=1, max_size=4))
def test_has_symlink_agrees_with_an_lstat_per_component(tree: Path, parts: list[str]) -> None:
    path = str(tree.joinpath(*parts))
    assert OsResolver().has_symlink(path) == _lstat_loop(path)


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (("d",), True),
        (("d", "x"), True),
        (("f",), True),
        (("d", "f"), True),
        (("ld",), False),  # the last component is a symlink to a folder
        (("ld", "f"), False),  # a symlinked folder on the way
        (("lf",), False),  # the last component is a symlink to a file
        (("d", "ld", "x"), False),
        (("dangle",), False),
        (("loop",), False),
        (("missing",), None),  # does not exist: ask per component
        (("f", "x"), None),  # a file used as a folder
    ],
)
def test_symlink_free_answers(tree: Path, parts: tuple[str, ...], expected: bool | None) -> None:
    assert symlink_free(str(tree.joinpath(*parts))) is expected


@pytest.mark.parametrize(
    "path",
    ["relative/path", "", "/tmp/../tmp", "/tmp/./x", "//tmp", "/tmp/.", "/tmp/..", "/a\x00b"],
)
def test_paths_it_does_not_answer(path: str) -> None:
    # ".." is resolved by the kernel after symlinks, lexically by the loop; a NUL would end
    # the C string early: never answered in one call.
    assert symlink_free(path) is None


def test_hidden_names_are_still_answered(tree: Path) -> None:
    hidden = tree / ".hidden"
    hidden.mkdir()
    assert symlink_free(str(hidden)) is True


def test_magic_links_count_as_symlinks() -> None:
    assert symlink_free(f"/proc/{os.getpid()}/exe") is False
    assert OsResolver().has_symlink(f"/proc/{os.getpid()}/cwd")


def test_a_kernel_that_refuses_the_call_switches_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def refusing(*_args: object) -> int:
        calls.append(1)
        ctypes.set_errno(errno.ENOSYS)
        return -1

    caller = _openat2._OPENAT2
    assert caller is not None
    monkeypatch.setattr(_openat2, "_OPENAT2", (refusing, *caller[1:]))
    assert symlink_free("/usr") is None
    assert _openat2._OPENAT2 is None
    assert symlink_free("/usr") is None
    assert calls == [1]
    # The loop still answers.
    assert OsResolver().has_symlink("/usr") == _lstat_loop("/usr")


def test_evaluations_are_identical_with_and_without_the_one_call_check(tree: Path) -> None:
    """The whole evaluation, for programs reached through every kind of path in the tree."""
    entries = [
        AllowlistEntry(pattern=str(tree / "d" / "f")),
        AllowlistEntry(pattern=str(tree / "f")),
    ]
    compiled = compile_allowlist(entries)
    commands = [
        f"{tree}/{a}/{b} -x" for a in ("d", "ld", "x", "dangle") for b in ("f", "lf", "ld/f")
    ] + [f"{tree}/f", f"{tree}/lf", "f -l", "lf | f", f"{tree}/d/ld/f"]
    for path_env in (f"{tree}/d", f"{tree}/ld", f"{tree}:{tree}/d"):
        env = {"PATH": path_env}
        for command in commands:
            fast = evaluate_command(command, cwd=str(tree), env=env, allowlist=compiled)
            saved = _openat2._OPENAT2
            _openat2._OPENAT2 = None
            try:
                slow = evaluate_command(command, cwd=str(tree), env=env, allowlist=compiled)
            finally:
                _openat2._OPENAT2 = saved
            assert fast == slow, command
            assert fast.allowlist_satisfied == slow.allowlist_satisfied
    # And the point of the check: an allowlisted path reached through a symlinked folder
    # is refused unless its real path is allowlisted too.
    only_link = compile_allowlist([AllowlistEntry(pattern=str(tree / "ld" / "f"))])
    both = compile_allowlist(
        [
            AllowlistEntry(pattern=str(tree / "ld" / "f")),
            AllowlistEntry(pattern=str(tree / "d" / "f")),
        ]
    )
    env = {"PATH": "/usr/bin"}
    refused = evaluate_command(f"{tree}/ld/f", cwd=str(tree), env=env, allowlist=only_link)
    assert not refused.allowlist_satisfied
    assert "symlinked folder" in (refused.segments[0].miss_reason or "")
    assert evaluate_command(
        f"{tree}/ld/f", cwd=str(tree), env=env, allowlist=both
    ).allowlist_satisfied


@pytest.mark.skipif(sys.platform != "linux", reason="Linux only")
def test_the_system_call_number_is_openat2() -> None:
    # A wrong number would call another system call: prove it opens what it is asked to.
    assert symlink_free("/") is True
    assert symlink_free("/proc/self") is False


def test_a_known_link_name_never_answers_the_folder_question(tmp_path: Path) -> None:
    """
    ``find -exec`` asks only whether the file is a link; a later ``find`` of the same path
    must still find its folder symlinked (the two answers are kept apart).

    The shape is real: run by bash and dash, the ``find`` reached through the symlinked
    folder plants the canary. Allowlisting its real path too (the control) allows it.
    """
    root = tmp_path.resolve()
    (root / "real").mkdir()
    find = root / "real" / "find"
    find.write_text(SCRIPT)
    find.chmod(0o755)
    (root / "link").symlink_to(root / "real")
    only_link = compile_allowlist([AllowlistEntry(pattern=str(root / "link" / "find"))])
    both = compile_allowlist(
        [AllowlistEntry(pattern=str(root / "link" / "find")), AllowlistEntry(pattern=str(find))]
    )
    env = {"PATH": f"{root}/link:/usr/bin:/bin"}  # the stub finds touch
    commands = ("find . -exec ls '{}' + ; find .", "find . ; find . -exec ls '{}' +", "find .")
    for command in commands:
        found = evaluate_command(command, cwd=str(root), env=env, allowlist=only_link)
        assert not found.allowlist_satisfied, command
        last = found.segments[-1] if command.endswith("find .") else found.segments[0]
        assert "symlinked folder" in (last.miss_reason or ""), command
        for shell in SHELLS:
            (root / CANARY).unlink(missing_ok=True)
            subprocess.run(
                [shutil.which(shell) or shell, "-c", command],
                cwd=root,
                env=env,
                check=False,
                capture_output=True,
                timeout=30,
            )
            assert (root / CANARY).exists(), (shell, command)
    assert evaluate_command("find .", cwd=str(root), env=env, allowlist=both).allowlist_satisfied
