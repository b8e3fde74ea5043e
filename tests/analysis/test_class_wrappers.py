"""
Class 7 (issue #12): programs that run other programs.

A wrapper's own allowlist entry must never carry an inner command that was not analysed:
each program in the wrapper table is either unwrapped by its own option grammar (the inner
command is then matched and analysed on its own) or blocks the segment. Every shape below
really plants the canary with the real program (run as the shells run text), and the
analyser, with the wrapper allowlisted, does not answer ALLOW. Controls keep the harmless
transparent uses allowed.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from _canary import (
    SCRIPT,
    TOUCH,
    Shape,
    allowlist,
    assert_allowed,
    assert_real,
    assert_refused,
    environment,
)

from openclaw_exec.analysis import evaluate_command
from openclaw_exec.analysis._wrapper_table import DISPATCH, MULTIPLEXERS, SUBCOMMAND_RUNNERS
from openclaw_exec.analysis._wrappers import wrapper_plan
from openclaw_exec.policy import AllowlistEntry
from openclaw_exec.testing import VirtualResolver

EVIL = {"evil": SCRIPT}

SHAPES = [
    # unwrapped by their grammar: the inner command is analysed (touch is not allowlisted)
    Shape(f"flock ./lk {TOUCH}", allow=("flock",), note="flock FILE CMD"),
    Shape(f"flock -n -w 5 ./lk {TOUCH}", allow=("flock",), note="flock options"),
    Shape(f"flock ./lk -c '{TOUCH}'", allow=("flock",), note="flock FILE -c runs $SHELL -c"),
    Shape("flock -x ./lk ./evil", files=EVIL, allow=("flock",), note="a script"),
    # blocked: the wrapper's entry never carries the inner command
    Shape(f"unshare {TOUCH}", allow=("unshare",)),
    Shape(f"unshare --fork {TOUCH}", allow=("unshare",)),
    Shape(f"prlimit --nofile=512 {TOUCH}", allow=("prlimit",)),
    Shape("prlimit ./evil", files=EVIL, allow=("prlimit",)),
    Shape(f"strace -o /dev/null {TOUCH}", allow=("strace",)),
    Shape(f"ltrace -o /dev/null {TOUCH}", allow=("ltrace",)),
    Shape(f"ssh-agent {TOUCH}", allow=("ssh-agent",)),
    Shape(f"setpriv {TOUCH}", allow=("setpriv",)),
    Shape(f"chrt -o 0 {TOUCH}", allow=("chrt",)),
    Shape(f"ionice -c 3 {TOUCH}", allow=("ionice",)),
    Shape(f"su root -c '{TOUCH}'", allow=("su",), note="root only: su to root asks nothing"),
    Shape(f"/usr/sbin/runuser -u root -- {TOUCH}", allow=("/usr/sbin/runuser",)),
    Shape(f"sudo {TOUCH}", allow=("sudo",), note="root only: sudo as root asks nothing"),
    Shape(f"sudo -u root sh -c '{TOUCH}'", allow=("sudo",)),
    Shape(f"script -qc '{TOUCH}' /dev/null", allow=("script",), note="script -c: a shell string"),
    Shape(f"parallel touch ::: {'CANARY'}", allow=("parallel",)),
    Shape(f"parallel ::: '{TOUCH}'", allow=("parallel",), note="::: arguments are commands"),
    Shape(f"setsid -w {TOUCH}", allow=("setsid",)),
    Shape(f"taskset 1 {TOUCH}", allow=("taskset",)),
    Shape(f"nsenter {TOUCH}", allow=("nsenter",)),
    Shape(f"setarch x86_64 {TOUCH}", allow=("setarch",)),
    Shape(f"linux64 {TOUCH}", allow=("linux64",)),
    Shape(f"sg root -c '{TOUCH}'", allow=("sg",)),
    Shape(f"/usr/sbin/capsh -- -c '{TOUCH}'", allow=("/usr/sbin/capsh",)),
    Shape(f"dbus-run-session -- {TOUCH}", allow=("dbus-run-session",)),
    Shape(f"valgrind -q {TOUCH}", allow=("valgrind",)),
    Shape(f"perf stat -o /dev/null {TOUCH}", allow=("perf",)),
    Shape(f"gdb -batch -ex run --args {TOUCH}", allow=("gdb",)),
    Shape(f"/usr/sbin/ip vrf exec default {TOUCH}", allow=("/usr/sbin/ip",)),
    # subcommands that run a command named on the command line (npm/npx: danger profiles)
    Shape(f"npm exec --offline -- {TOUCH}", allow=("npm",), note="npm exec"),
    Shape(f"npx --offline {TOUCH}", allow=("npx",), note="npx"),
    # busybox: only its sh/ash applet is unwrapped
    Shape(f"busybox env {TOUCH}", allow=("busybox",)),
    Shape(f"busybox timeout 5 {TOUCH}", allow=("busybox",)),
    Shape(f"busybox time {TOUCH}", allow=("busybox",)),
    Shape(f"busybox taskset 1 {TOUCH}", allow=("busybox",)),
    Shape(f"busybox xargs {TOUCH}", allow=("busybox",)),
    # nested behind transparent wrappers
    Shape(f"timeout 5 strace -qq {TOUCH}", allow=("timeout", "strace")),
    Shape(f"nice -n 5 flock ./lk {TOUCH}", allow=("nice", "flock")),
    Shape(f"env sudo {TOUCH}", allow=("sudo",)),
]

# Real runs that cannot happen here, with the reason (the refusal is still checked).
_UNRUNNABLE = {
    "doas": "doas needs /etc/doas.conf, which a test must not write",
}

REFUSAL_ONLY = [
    Shape(f"doas {TOUCH}", allow=("doas",)),
    Shape(f"doas -u root {TOUCH}", allow=("doas",)),
]

CONTROLS = [
    Shape("timeout 5 ls"),
    Shape("nice -n 5 ls"),
    Shape("nice -5 ls"),
    Shape("env ls"),
    Shape("env -- ls"),
    Shape("nohup ls"),
    Shape("stdbuf --output=L ls"),
    Shape("timeout -s KILL 5 ls"),
    Shape("timeout 5 nice -n 2 ls"),
    Shape("flock ./lk ls"),
    Shape("flock -n -w 5 ./lk ls -la"),
    Shape("ip addr", allow=("ip",)),
    Shape("ip -br link", allow=("ip",)),
]


def _installed(shape: Shape) -> None:
    word = shape.command.split()[0]
    if word in _UNRUNNABLE:
        pytest.skip(_UNRUNNABLE[word])
    if not shutil.which(word, path="/usr/local/bin:/usr/bin:/bin"):
        pytest.skip(f"{word} is not installed (CI installs it)")


@pytest.mark.parametrize("shape", [s.param() for s in SHAPES + REFUSAL_ONLY])
def test_shape_is_real(shape: Shape, tmp_path: Path) -> None:
    _installed(shape)
    assert_real(shape, tmp_path)


@pytest.mark.parametrize("shape", [s.param() for s in SHAPES + REFUSAL_ONLY])
def test_shape_is_refused(shape: Shape, tmp_path: Path) -> None:
    assert_refused(shape, tmp_path)


@pytest.mark.parametrize("shape", [s.param() for s in CONTROLS])
def test_control_stays_allowed(shape: Shape, tmp_path: Path) -> None:
    _installed(shape)
    assert_allowed(shape, tmp_path)


def test_the_corpus_is_large_enough() -> None:
    assert len(SHAPES) >= 20
    assert len(CONTROLS) >= 10


# --- one test per row of the wrapper table ------------------------------------------------

# The argv that uses each row as a wrapper (most take the command right away).
_USES = {
    "timeout": ["5"],
    "flock": ["./lk"],
    "ip": ["netns", "exec", "ns"],
    "chrt": ["-o", "0"],
    "ionice": ["-c", "3"],
    "taskset": ["1"],
    "setarch": ["x86_64"],
    "sg": ["root"],
    **{name: [min(words)] for name, words in SUBCOMMAND_RUNNERS.items()},
}


def _vfs() -> VirtualResolver:
    vfs = VirtualResolver()
    for name in (*DISPATCH, *MULTIPLEXERS, "touch", "ls"):
        vfs.add_file(f"/usr/bin/{name}")
    return vfs


def _ev(argv: list[str], *patterns: str) -> tuple[bool, str | None, str | None]:
    found = evaluate_command(
        argv,
        cwd="/w",
        env={"PATH": "/usr/bin", "HOME": "/h"},
        allowlist=[AllowlistEntry(pattern=p) for p in patterns],
        resolver=_vfs(),
    )
    seg = found.segments[0]
    return found.allowlist_satisfied, seg.blocked_wrapper, seg.miss_reason


@pytest.mark.parametrize("name", sorted(DISPATCH))
def test_row_own_entry_never_carries_the_inner_command(name: str) -> None:
    argv = [name, *_USES.get(name, []), "touch", "x"]
    satisfied, blocked, reason = _ev(argv, f"/usr/bin/{name}")
    assert not satisfied, (argv, reason)
    spec = DISPATCH[name]
    if spec.unwrap is None:
        assert blocked == name, (argv, reason)
        assert spec.reason in (reason or "")
    else:
        # unwrapped: the inner command decides, with its own entry
        satisfied, blocked, _ = _ev([name, *_USES.get(name, []), "ls"], "/usr/bin/ls")
        assert satisfied, name
        assert blocked is None


@pytest.mark.parametrize("name", sorted(n for n, s in DISPATCH.items() if s.unwrap is None))
def test_blocked_row_stays_blocked_whatever_the_allowlist(name: str) -> None:
    argv = [name, *_USES.get(name, []), "ls"]
    satisfied, blocked, _reason = _ev(argv, "*")
    assert not satisfied
    assert blocked == name


@pytest.mark.parametrize(
    ("argv", "inner"),
    [
        (["flock", "./lk", "ls", "-la"], ("ls", "-la")),
        (["flock", "-n", "-w", "5", "./lk", "ls"], ("ls",)),
        (["flock", "--timeout=5", "--", "./lk", "ls"], ("ls",)),
        (["flock", "-xn", "./lk", "ls"], ("ls",)),
        (["timeout", "-k", "1", "5", "ls"], ("ls",)),
        (["env", "--", "ls"], ("ls",)),
        (["time", "-p", "ls"], ("ls",)),
    ],
)
def test_unwrapping_grammars(argv: list[str], inner: tuple[str, ...]) -> None:
    plan = wrapper_plan(argv)
    assert not plan.blocked
    assert plan.argv == inner


@pytest.mark.parametrize(
    "argv",
    [
        ["flock", "./lk", "-c", "ls"],
        ["flock", "./lk", "--command", "ls"],
        ["flock", "-c", "ls", "./lk"],
        ["flock", "-u", "./lk", "ls"],
        ["flock", "./lk"],
        ["flock", "-w", "./lk"],
        ["flock", "-w5", "./lk", "ls"],
        ["flock", "-nw", "5", "./lk", "ls"],
        ["time", "-o", "out", "ls"],
        ["time", "--output=out", "ls"],
        ["env", "-i", "ls"],
        ["env", "X=1", "ls"],
        ["busybox", "--", "sh", "-c", "ls"],
        ["busybox", "ls"],
        ["toybox", "sh", "-c", "ls"],
        ["ip", "netns", "e", "ns", "ls"],
        ["ip", "-batch", "cmds"],
        ["ip", "-b", "cmds"],
        ["nice", "nice", "nice", "nice", "nice", "ls"],
    ],
)
def test_blocked_uses(argv: list[str]) -> None:
    plan = wrapper_plan(argv)
    assert plan.blocked, argv
    assert plan.blocked_reason


@pytest.mark.parametrize(
    "argv",
    [
        ["ip", "addr"],
        ["ip", "-br", "link"],
        ["ip", "-4", "route"],
        ["yarn", "install"],
        ["uv", "pip", "list"],
        ["poetry", "install"],
        ["nix", "build"],
        ["cabal", "build"],
    ],
)
def test_without_the_running_subcommand_it_is_an_ordinary_command(argv: list[str]) -> None:
    assert not wrapper_plan(argv).blocked


@pytest.mark.parametrize("name", sorted(SUBCOMMAND_RUNNERS))
def test_subcommand_anywhere_blocks(name: str) -> None:
    for word in SUBCOMMAND_RUNNERS[name]:
        plan = wrapper_plan([name, "--opt", "value", word, "ls"])
        assert plan.blocked, (name, word)
        assert plan.blocked_wrapper == name


@pytest.mark.oracle
def test_never_looser_than_openclaw_2026_9_6(oracle96: Any, tmp_path: Path) -> None:
    """Every shape, control and table row, each with its own allowlist, against 2026.9.6."""
    shapes = [*SHAPES, *REFUSAL_ONLY, *CONTROLS]
    for name in sorted(DISPATCH):
        words = " ".join([name, *_USES.get(name, []), "ls"])
        shapes.append(Shape(words, allow=(name,)))
        shapes.append(Shape(words))
    (tmp_path / "home").mkdir()
    (tmp_path / "evil").write_text(SCRIPT)
    cases = []
    for i, shape in enumerate(shapes):
        entries = allowlist(shape)
        cases.append(
            {
                "id": i,
                "op": "shell",
                "command": shape.command,
                "allowlist": [{"pattern": e.pattern} for e in entries],
                "cwd": str(tmp_path),
                "env": environment(shape, tmp_path),
            }
        )
    theirs = oracle96.results(cases)
    looser = []
    allowed = 0
    for shape, answer in zip(shapes, theirs, strict=True):
        ours = evaluate_command(
            shape.command,
            cwd=str(tmp_path),
            env=environment(shape, tmp_path),
            allowlist=allowlist(shape),
        )
        if ours.analysis_ok and ours.allowlist_satisfied:
            allowed += 1
            if not (answer["analysisOk"] and answer["allowlistSatisfied"]):
                looser.append(shape.command)
    assert looser == [], "\n".join(looser)
    assert allowed >= len(CONTROLS)
