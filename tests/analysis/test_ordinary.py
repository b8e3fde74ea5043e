"""
The ordinary-program shortcut of ``evaluate_segment`` decides exactly as the full steps.

A segment whose first word names no wrapper, multiplexer, shell, inline-eval interpreter
or builtin skips ``wrapper_plan``, ``detect_inline_eval`` and ``check_builtin``. These
tests evaluate argvs and command lines with the shortcut on and off (every word refused
by it) and compare the whole Evaluation, on words chosen near every table's edges.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

import pytest
from _corpus import HAND_WRITTEN, generated_commands
from hypothesis import given, settings
from hypothesis import strategies as st

from openclaw_exec.analysis import Evaluation, _segment, evaluate_command
from openclaw_exec.policy import AllowlistEntry

# First words: ordinary programs, and every kind of name the shortcut must refuse, in
# the spellings normalisation maps onto them.
_FIRST = (
    "ls",
    "/usr/bin/ls",
    "git",
    "rg",
    "cat",
    "true",
    "wc",
    "head",
    "sort",
    "tee",
    "find",
    "xargs",
    "env",
    "/usr/bin/env",
    "sudo",
    "doas",
    "nice",
    "nohup",
    "timeout",
    "stdbuf",
    "command",
    "builtin",
    "exec",
    "eval",
    "time",
    "busybox",
    "toybox",
    "sh",
    "bash",
    "/bin/bash",
    "Bash",
    "bash5.2",
    "zsh.exe",
    "dash",
    "python3",
    "python3.11",
    "python3.11-dbg",
    "Python",
    "node",
    "nodejs",
    "perl",
    "ruby",
    "awk",
    "gawk",
    "sed",
    "jq",
    "php",
    "lua",
    "deno",
    "bun",
    "npx",
    "cd",
    "export",
    "printf",
    "read",
    "source",
    ".",
    "alias",
    "set",
    "trap",
    "ulimit",
    "compgen",
    "compadd",
    "echo",
    "test",
    "[",
    " ls",
    "ls ",
    "",
    "C:\\bin\\python.exe",
    "./script.sh",
    "../x",
)
_ARGS = (
    "-c",
    "-e",
    "-lc",
    "print(1)",
    "'x'",
    "-la",
    "--",
    "-",
    "ls",
    "sh",
    "python3",
    "-exec",
    ";",
    "-i",
    "status",
    "config",
    "core.pager=x",
    "-p",
    "-v",
    "x",
    "/tmp/f",
)
_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin"}
_ALLOW = [
    AllowlistEntry(pattern="/usr/bin/*"),
    AllowlistEntry(pattern="/bin/*"),
    AllowlistEntry(pattern="/usr/bin/git", arg_pattern="^status"),
]


@contextmanager
def _no_shortcut() -> Iterator[None]:
    with mock.patch.object(_segment, "_ordinary", return_value=False):
        yield


def _same(fast: Evaluation, slow: Evaluation) -> None:
    assert fast == slow
    assert fast.allow_always == slow.allow_always
    assert fast.must_ask == slow.must_ask
    assert fast.inline_eval_hits == slow.inline_eval_hits


def _check(command: str | list[str], *, strict: bool = False) -> None:
    fast = evaluate_command(
        command, cwd="/tmp", env=_ENV, allowlist=_ALLOW, strict_inline_eval=strict
    )
    with _no_shortcut():
        slow = evaluate_command(
            command, cwd="/tmp", env=_ENV, allowlist=_ALLOW, strict_inline_eval=strict
        )
    _same(fast, slow)


@settings(max_examples=400, deadline=None)
@given(
    first=st.sampled_from(_FIRST),
    rest=st.lists(st.sampled_from(_ARGS), max_size=4),
    strict=st.booleans(),
)
def test_argvs_decide_the_same_with_and_without_the_shortcut(
    first: str, rest: list[str], *, strict: bool
) -> None:
    _check([first, *rest], strict=strict)


@settings(max_examples=300, deadline=None)
@given(
    words=st.lists(
        st.tuples(st.sampled_from(_FIRST), st.lists(st.sampled_from(_ARGS), max_size=3)),
        min_size=1,
        max_size=3,
    ),
    op=st.sampled_from((" | ", " && ", " ; ")),
)
def test_command_lines_decide_the_same(words: list[tuple[str, list[str]]], op: str) -> None:
    _check(op.join(" ".join([first, *rest]) for first, rest in words))


def test_the_corpus_decides_the_same() -> None:
    for text in (*HAND_WRITTEN, *generated_commands()):
        _check(text)


@pytest.mark.parametrize(
    "word",
    [
        "env",
        "sudo",
        "busybox",
        "bash",
        "Bash5.2.exe",
        "/usr/bin/python3.11-dbg",
        "node",
        "awk",
        "find",
        "xargs",
        "eval",
        "cd",
        "time",
        "compadd",
        " ls",
        "",
    ],
)
def test_names_the_shortcut_refuses(word: str) -> None:
    assert not _segment._ordinary(word)


@pytest.mark.parametrize("word", ["ls", "/usr/bin/ls", "git", "rg", "cat", "wc", "./tool"])
def test_names_it_takes(word: str) -> None:
    assert _segment._ordinary(word)


def test_long_first_words_are_decided_but_never_kept() -> None:
    """The per-word caches hold names, not 64 KiB words an agent may send."""
    from openclaw_exec.analysis import _wrappers  # noqa: PLC0415 - the cache under test

    long_word = "x" * 5000
    before = (_segment._ordinary.cache_info(), _wrappers.normalize_executable_token.cache_info())
    for i in range(20):
        _check([f"{long_word}{i}", "-c", "id"])
        _check(f"/usr/bin/{long_word}{i} -la")
    after = (_segment._ordinary.cache_info(), _wrappers.normalize_executable_token.cache_info())
    assert after[0].currsize <= before[0].currsize + 1
    assert after[1].currsize <= before[1].currsize + 2
