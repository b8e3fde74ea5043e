"""
Bypass class: shell builtins are not the allowlisted file of the same name (issue #12, 2).

When a shell runs the text, ``printf``, ``test``, ``read``, ``jobs``... are builtins: an
allowlist entry for ``/usr/bin/printf`` says nothing about builtin ``printf -v NAME``,
which assigns to ``NAME`` (a subscript ``a[$(cmd)]`` runs ``cmd``; ``PATH`` or
``BASH_CMDS[ls]`` changes what ``ls`` runs). Each shape below is run with the real shells
that have the builtin (it must plant the canary) and must not be auto-approved with the
honest allowlist, which holds ``printf``, ``test``, ``echo``, ``ls``, ``bash``, ``sh``...
The table of builtins itself is checked against the shells installed here.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from _canary import (
    CANARY,
    SCRIPT,
    TOUCH,
    Shape,
    analyse,
    assert_allowed,
    assert_real,
    assert_refused,
)
from hypothesis import given
from hypothesis import strategies as st

from openclaw_exec.analysis import evaluate_command
from openclaw_exec.analysis._builtins import BUILTINS, BuiltinKind, check_builtin
from openclaw_exec.policy import AllowlistEntry, Ask, ExecPolicy, Security, Verdict
from openclaw_exec.testing import VirtualResolver


def _vfs(*paths: str) -> VirtualResolver:
    vfs = VirtualResolver()
    vfs.add_file("/w/.keep", executable=False)
    for path in paths:
        vfs.add_file(path)
    return vfs


B = ("bash",)
Z = ("zsh",)
K = ("ksh",)
SUB = f"a[$({TOUCH})]"  # a subscript whose evaluation runs the canary
# A fake `ls` in the folder that plants the canary with an absolute touch (it runs with
# the PATH the shape gave the shell, which may not find touch).
_LS = f"#!/bin/sh\n/usr/bin/touch {CANARY}\n"
LS = {"ls": _LS, "0/ls": _LS}

SHAPES = [
    # printf -v assigns: a subscript runs code, PATH / BASH_CMDS change what ls runs
    Shape(f"printf -v '{SUB}' x", shells=("bash", "zsh"), note="subscript of -v"),
    Shape(f"printf -v'{SUB}' x", shells=B, note="attached -v"),
    Shape(f'printf -v "{SUB}" %s x', shells=B, note="double-quoted subscript"),
    Shape("printf -v 'BASH_CMDS[ls]' %s ./evil && ls", files={"evil": SCRIPT}, shells=B),
    Shape("printf -v PATH %s . && ls", files=LS, shells=("bash", "zsh", "ksh")),
    Shape(f"time printf -v '{SUB}' x", shells=("bash", "zsh"), note="time keyword"),
    Shape(f"time -p printf -v '{SUB}' x", shells=B, note="time -p keyword"),
    # printf's numeric arguments and test's -eq operands are arithmetic in ksh/zsh
    Shape("printf %d 'PATH=0' && ls", files=LS, shells=("zsh", "ksh")),
    Shape("printf '%s %d\\n' a 'PATH=0' && ls", files=LS, shells=("zsh", "ksh")),
    Shape("printf '%*s' 'PATH=0' x && ls", files=LS, shells=K),
    Shape("test 'PATH=0' -eq 0 && ls", files=LS, shells=K),
    Shape("'[' 0 -le 'PATH=0' ']' && ls", files=LS, shells=K),
    # test -v evaluates a variable name
    Shape(f"test -v '{SUB}'", shells=B),
    Shape(f"'[' -v '{SUB}' ']'", shells=B),
    Shape(f"test -n x -a -v '{SUB}'", shells=B, note="-v after -a"),
    # read / mapfile / getopts / let assign
    Shape(f"read '{SUB}'", shells=("bash", "zsh")),
    Shape("read PATH; ls", files=LS, shells=("bash", "dash", "zsh")),
    Shape(f"echo a | mapfile -C '{TOUCH}' -c 1 x", shells=B),
    Shape(f"echo a | readarray -C '{TOUCH}' -c 1 x", shells=B),
    Shape(f"getopts a '{SUB}' -a", shells=Z),
    Shape(f"let '{SUB}'", shells=B),
    Shape(f"print -v '{SUB}' x", shells=Z),
    # completion builtins run commands
    Shape(f"compgen -C '{TOUCH}' x", shells=B),
    Shape(f"compgen -W '$({TOUCH})' x", shells=B),
    Shape(f"jobs -x {TOUCH}", shells=B),
    # eval-like builtins and precommand modifiers
    Shape(f"trap '{TOUCH}' EXIT"),
    Shape(f"echo hi; trap '{TOUCH}' EXIT", note="second segment"),
    Shape(f"command eval '{TOUCH}'", shells=("bash", "dash", "ksh")),
    Shape(f"builtin eval '{TOUCH}'", shells=B),
    Shape(f"noglob eval '{TOUCH}'", shells=Z),
    Shape(f"emulate sh -c '{TOUCH}'", shells=Z),
    Shape(f"zstyle -e :x y '{TOUCH}'; zstyle -s :x y z", shells=Z),
    Shape("hash -p ./evil ls && ls", files={"evil": SCRIPT}, shells=B),
    Shape("export PATH=. && ls", files=LS),
    Shape("readonly PATH=. && ls", files=LS),
    Shape(". ./evil", files={"evil": SCRIPT}),
    # at depth: a shell payload is run by that shell
    Shape(f"bash -c \"printf -v '{SUB}' x\"", note="bash payload under sh"),
    Shape(f"sh -c \"trap '{TOUCH}' EXIT\"", note="sh payload"),
    Shape(f"bash -c \"test -v '{SUB}'\""),
    Shape(f"echo ok && bash -c \"read '{SUB}'\""),
]

CONTROLS = [
    Shape("echo hi"),
    Shape("echo -n hi"),
    Shape("printf '%s\\n' a b"),
    Shape("printf '%d items\\n' 42"),
    Shape("printf '%5.2f|%x\\n' 3.5 255"),
    Shape("printf '%s=%d\\n' a 1 b 2"),
    Shape("printf 'PATH=0\\n'", note="no conversion: the text is printed"),
    Shape("printf '%s\\n' 'a[$(x)]' 'PATH=0'", note="string conversions only"),
    Shape("test -f x", files={"x": "data"}),
    Shape("test 3 -eq 3 && echo same"),
    Shape("test -n 'a[$(x)]'", note="a string operand is not a name"),
    Shape("'[' -d sub ']'", files={"sub": None}, allow=("/usr/bin/[",)),
    Shape("time echo hi"),
    Shape("bash -c \"printf '%s\\n' a\""),
    Shape("pwd", allow=("pwd",)),
    Shape("true && false || true", allow=("true", "false")),
    Shape("kill -0 1", allow=("kill",)),
]


@pytest.mark.parametrize("shape", [s.param() for s in SHAPES])
def test_shape_is_real(shape: Shape, tmp_path: Path) -> None:
    for shell in shape.shells:
        if shutil.which(shell) is None:
            pytest.skip(f"{shell} is not installed")
    assert_real(shape, tmp_path)


@pytest.mark.parametrize("shape", [s.param() for s in SHAPES])
def test_shape_is_refused(shape: Shape, tmp_path: Path) -> None:
    assert_refused(shape, tmp_path)


@pytest.mark.parametrize("shape", [s.param() for s in SHAPES])
def test_shape_is_refused_even_under_a_broad_entry(shape: Shape, tmp_path: Path) -> None:
    # An administrator who allowlists a whole system folder still must not allow these:
    # the builtin is not the file, whatever covers the file.
    extra = ("/usr/bin/*", "/bin/*")
    assert_refused(shape, tmp_path, extra_allow=extra)
    found = analyse(shape, tmp_path, extra_allow=extra)
    assert not found.allow_always or all(g.kind == "command" for g in found.allow_always)


@pytest.mark.parametrize("shape", [s.param() for s in CONTROLS])
def test_control_stays_allowed(shape: Shape, tmp_path: Path) -> None:
    assert_allowed(shape, tmp_path)


# --------------------------------------------------------------------------- the table


def _bash_builtins() -> set[str]:
    out = subprocess.run(
        ["bash", "-c", "compgen -b; compgen -k"], capture_output=True, text=True, check=True
    )
    return set(out.stdout.split())


# Names the parser refuses as constructs before any builtin check (keywords and [[).
_KEYWORDS = frozenset(
    {"if", "then", "else", "elif", "fi", "case", "esac", "for", "select", "while", "until"}
    | {"do", "done", "in", "function", "time", "{", "}", "!", "[[", "]]"}
)


def test_every_bash_builtin_is_in_the_table() -> None:
    missing = _bash_builtins() - set(BUILTINS) - _KEYWORDS
    assert not missing, f"bash builtins without a row: {sorted(missing)}"


_DASH_NAMES = frozenset({
    ".", ":", "[", "alias", "bg", "break", "cd", "chdir", "command", "continue", "echo",
    "eval", "exec", "exit", "export", "false", "fg", "getopts", "hash", "jobs", "kill",
    "local", "printf", "pwd", "read", "readonly", "return", "set", "shift", "test", "times",
    "trap", "true", "type", "ulimit", "umask", "unalias", "unset", "wait",
})  # fmt: skip


@pytest.mark.skipif(shutil.which("dash") is None, reason="dash is not installed")
def test_every_dash_builtin_is_in_the_table() -> None:
    # dash cannot list its builtins; `type` says which of the POSIX names are builtins.
    for name in sorted(_DASH_NAMES):
        out = subprocess.run(
            ["dash", "-c", f"type '{name}'"], capture_output=True, text=True, check=False
        )
        assert "builtin" in out.stdout, (name, out.stdout)
        assert name in BUILTINS, name


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_every_zsh_builtin_is_in_the_table() -> None:
    out = subprocess.run(
        ["zsh", "-c", "print -l ${(k)builtins}"], capture_output=True, text=True, check=True
    )
    missing = [n for n in out.stdout.split() if check_builtin([n, "-v", "a[$(x)]"]) is None]
    harmless = {n for n, s in BUILTINS.items() if s.kind is BuiltinKind.HARMLESS}
    assert set(missing) <= harmless, sorted(set(missing) - harmless)


@pytest.mark.skipif(shutil.which("ksh") is None, reason="ksh is not installed")
def test_every_ksh_builtin_is_in_the_table() -> None:
    out = subprocess.run(["ksh", "-c", "builtin"], capture_output=True, text=True, check=True)
    # Builtins bound to a path (/opt/ast/bin/cat) run only for that path, like the file.
    names = [n for n in out.stdout.split() if "/" not in n]
    missing = [n for n in names if n not in BUILTINS]
    assert not missing, missing


@pytest.mark.parametrize(
    "name", sorted(n for n, s in BUILTINS.items() if s.kind is BuiltinKind.CODE)
)
def test_code_builtins_fail_analysis_even_under_star(name: str) -> None:
    ev = evaluate_command(
        f"'{name}' x",
        cwd="/w",
        env={"PATH": "/usr/bin"},
        allowlist=[AllowlistEntry(pattern="*")],
        resolver=_vfs(f"/usr/bin/{name}"),
    )
    assert not ev.analysis_ok
    assert ev.failure is not None
    assert ev.failure.construct.startswith("shell builtin")
    assert ev.allow_always == ()


@pytest.mark.parametrize(
    "name", sorted(n for n, s in BUILTINS.items() if s.kind is BuiltinKind.STATE)
)
def test_state_builtins_miss_even_with_a_file_entry(name: str) -> None:
    # macOS and Fedora ship /usr/bin/cd, /usr/bin/umask... as scripts: the entry for the
    # file must not cover the builtin, and allow-always must not persist it.
    ev = evaluate_command(
        f"{name} x && ls",
        cwd="/w",
        env={"PATH": "/usr/bin"},
        allowlist=[AllowlistEntry(pattern="/usr/bin/*")],
        resolver=_vfs(f"/usr/bin/{name}", "/usr/bin/ls"),
    )
    assert ev.analysis_ok
    first = ev.segments[0]
    assert first.satisfied_by is None
    assert first.miss_reason is not None
    assert first.miss_reason.startswith("shell builtin")
    policy = ExecPolicy(security=Security.ALLOWLIST, ask=Ask.ON_MISS)
    assert ev.verdict(policy).verdict is Verdict.ASK
    assert [g.kind for g in ev.allow_always] == ["command"]


def test_a_path_is_never_a_builtin() -> None:
    ev = evaluate_command(
        "/usr/bin/printf -v 'a[$(x)]' y",
        cwd="/w",
        env={"PATH": "/usr/bin"},
        allowlist=[AllowlistEntry(pattern="/usr/bin/printf")],
        resolver=_vfs("/usr/bin/printf"),
    )
    assert ev.analysis_ok
    assert ev.allowlist_satisfied


def test_an_argv_with_a_code_shape_misses() -> None:
    # An argv is not parsed, but a caller may still hand it to a shell: it misses.
    ev = evaluate_command(
        ["printf", "-v", "a[$(x)]", "y"],
        cwd="/w",
        env={"PATH": "/usr/bin"},
        allowlist=[AllowlistEntry(pattern="/usr/bin/printf")],
        resolver=_vfs("/usr/bin/printf"),
    )
    assert not ev.allowlist_satisfied


# --------------------------------------------------------------------------- properties

_ANY_WORD = st.text(alphabet="ab$()[]=-%dsv0 ", max_size=8)


@given(st.lists(_ANY_WORD, max_size=5))
def test_time_is_transparent(args: list[str]) -> None:
    for name in ("printf", "test", "echo", "read", "cd", "kill"):
        assert check_builtin([name, *args]) == check_builtin(["time", name, *args])
        assert check_builtin([name, *args]) == check_builtin(["time", "-p", name, *args])


@given(_ANY_WORD, st.lists(_ANY_WORD, max_size=4))
def test_printf_with_an_option_always_fails(name: str, rest: list[str]) -> None:
    found = check_builtin(["printf", f"-v{name}", *rest])
    assert found is not None
    assert found.fails_analysis


@given(st.lists(_ANY_WORD, max_size=6))
def test_printf_string_formats_accept_any_argument(args: list[str]) -> None:
    assert check_builtin(["printf", "%s|%b|%q\\n", *args]) is None


@given(st.lists(st.sampled_from(["1", "-2", "0x1f", "3.5", "a", "PATH=0", "b[1]"]), max_size=6))
def test_printf_numeric_slots_need_number_literals(args: list[str]) -> None:
    # '%s %d': odd-numbered arguments fill the %d slot.
    found = check_builtin(["printf", "%s %d\\n", *args])
    numeric = args[1::2]
    ok = all(a in ("1", "-2", "0x1f", "3.5") for a in numeric)
    assert (found is None) == ok


_TEST_WORDS = ["-f", "x", "-n", "-a", "-o", "=", "3", "-eq", "y", "-v"]


@given(st.lists(st.sampled_from(_TEST_WORDS), max_size=6))
def test_test_refuses_exactly_names_and_non_integer_arithmetic(args: list[str]) -> None:
    found = check_builtin(["test", *args])
    bad = "-v" in args or any(
        w == "-eq" and any(s != "3" for s in args[max(k - 1, 0) : k] + args[k + 1 : k + 2])
        for k, w in enumerate(args)
    )
    assert (found is not None) == bad
