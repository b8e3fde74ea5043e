"""
Class 1 (issue #12): shell options read exactly as each shell reads them.

Every shape below makes a real shell run something other than what a naive reading of its
options says (``bash -cls X`` runs ``X``, ``bash x.sh -c ls`` runs ``x.sh``, ``bash -C ls``
runs the file ``./ls``), or run a startup file the command does not show (``-l``, ``-i``,
``--rcfile``, zsh's ``~/.zshenv``, ksh ``-E``). Each is checked twice: the real shells
plant the canary, and the analyser does not answer ALLOW.

The grammar itself is checked against the real binaries: for hand-picked and generated
argvs, whatever the real shell runs (payload, script, startup file) must be exactly what
:func:`parse_shell_argv` claims it runs; a refusal claims nothing.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
from _canary import (
    BASE_PATH,
    SCRIPT,
    TOUCH,
    Shape,
    assert_allowed,
    assert_real,
    assert_refused,
    which_all,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openclaw_exec.analysis import DEFAULT_SAFE_BINS, evaluate_command
from openclaw_exec.analysis._shells import ShellCall, parse_shell_argv, shell_family
from openclaw_exec.analysis._wrappers import is_shell_wrapper, wrapper_plan
from openclaw_exec.policy import AllowlistEntry
from openclaw_exec.testing import VirtualResolver

RC = f"touch {'CANARY'}\n"
"""A startup file that plants the canary (sourced, so no #! line needed)."""

SHAPES = [
    # -- the command string is the first operand after the options, not "what follows c"
    Shape(f"bash -cls '{TOUCH}'", note="-c -l -s: the payload is the operand"),
    Shape(f"bash -lc '{TOUCH}' ls", note="operand order: payload first, then $0"),
    Shape(
        "bash x.sh -c ls",
        files={"x.sh": SCRIPT},
        note="options stop at x.sh: bash runs the script with $1=-c",
    ),
    Shape("sh x.sh -c ls", files={"x.sh": SCRIPT}, note="same in every sh"),
    Shape("bash -C ls", files={"ls": SCRIPT}, note="-C is noclobber: bash runs the file ./ls"),
    Shape("sh -C ls", files={"ls": SCRIPT}, note="noclobber in dash too"),
    Shape("bash -eC ls", files={"ls": SCRIPT}, note="clustered noclobber"),
    Shape("dash -Cx ls", files={"ls": SCRIPT}, allow=("dash",), note="dash cluster, no c"),
    Shape("bash -- -c", files={"-c": SCRIPT}, note="after --, -c is a script name"),
    Shape("bash - x.sh", files={"x.sh": SCRIPT}, note="a lone - ends the options too"),
    Shape("bash -x x.sh", files={"x.sh": SCRIPT}, note="a script never analysed"),
    Shape(f"echo '{TOUCH}' | bash -s", note="-s reads the commands from stdin"),
    Shape(f"echo '{TOUCH}' | sh", note="no operand: stdin"),
    # -- startup files that the command does not show
    Shape("bash -lc ls", files={"home/.bash_profile": RC}, note="login shell profile"),
    Shape("bash --login -c ls", files={"home/.profile": RC}, note="--login reads ~/.profile"),
    Shape("bash -ic ls", files={"home/.bashrc": RC}, note="interactive shell reads ~/.bashrc"),
    Shape("bash --rcfile ./x -ic ls", files={"x": RC}, note="--rcfile runs ./x"),
    Shape("bash --init-file ./x -ic ls", files={"x": RC}, note="--init-file runs ./x"),
    Shape("sh -lc ls", files={"home/.profile": RC}, note="dash/bash -l read ~/.profile"),
    Shape("dash -l -c ls", files={"home/.profile": RC}, allow=("dash",)),
    Shape("zsh -c ls", files={"home/.zshenv": RC}, allow=("zsh",), note="zsh reads .zshenv"),
    Shape("zsh -ec ls", files={"home/.zshenv": RC}, allow=("zsh",), note="without -f"),
    Shape("zsh -f +f -c ls", files={"home/.zshenv": RC}, allow=("zsh",), note="+f undoes -f"),
    Shape(
        "zsh --no-rcs --rcs -c ls",
        files={"home/.zshenv": RC},
        allow=("zsh",),
        note="the last rcs setting wins",
    ),
    Shape("ksh -Ec ls", files={"home/.kshrc": RC}, allow=("ksh",), note="-E reads ~/.kshrc"),
    Shape("ksh -o rc -c ls", files={"home/.kshrc": RC}, allow=("ksh",), note="-o rc"),
    Shape("ksh -ic ls", files={"home/.kshrc": RC}, allow=("ksh",), note="interactive ksh"),
    Shape("ksh -lc ls", files={"home/.profile": RC}, allow=("ksh",), note="login ksh"),
    Shape("busybox sh -lc ls", files={"home/.profile": RC}, allow=("busybox",), note="login ash"),
    # -- the payload's words change meaning
    Shape(
        "bash -kc 'bash -c ls BASH_ENV=./x'",
        files={"x": RC},
        note="-k: BASH_ENV=./x becomes the inner bash's environment",
    ),
    Shape(
        "ksh -kc 'bash -c ls BASH_ENV=./x'",
        files={"x": RC},
        allow=("ksh",),
        note="ksh -k is the same keyword option",
    ),
    # -- shells this library did not recognise, and other grammars
    Shape(f"rbash -c '{TOUCH}'", allow=("rbash",), note="rbash is bash"),
    Shape(
        "ksh -oc errexit ls",
        files={"errexit": SCRIPT},
        allow=("ksh",),
        note="ksh takes -oVALUE: 'c' is the option name, errexit the script",
    ),
    Shape(
        f"ksh '{TOUCH}'",
        allow=("ksh",),
        note="ksh93 runs an operand that is not a file as command text",
    ),
    Shape(
        "zsh -fb -c ls",
        files={"-c": SCRIPT},
        allow=("zsh",),
        note="zsh -b ends the options: -c is the script",
    ),
    Shape("busybox sh x.sh -c ls", files={"x.sh": SCRIPT}, allow=("busybox",)),
    Shape("busybox sh -C ls", files={"ls": SCRIPT}, allow=("busybox",)),
    # -- reached through wrappers and paths
    Shape("env bash x.sh -c ls", files={"x.sh": SCRIPT}, note="behind env"),
    Shape("timeout 5 bash -C ls", files={"ls": SCRIPT}, allow=("timeout",)),
    Shape("nice -n 5 sh x.sh -c ls", files={"x.sh": SCRIPT}, allow=("nice",)),
    Shape("/usr/bin/bash x.sh -c ls", files={"x.sh": SCRIPT}, note="absolute path"),
    Shape(
        "/bin/sh -C ls",
        files={"ls": SCRIPT},
        allow=("/bin/sh", "/usr/bin/dash"),
        note="absolute /bin/sh (a symlinked folder: its real path is allowlisted too)",
    ),
]

CONTROLS = [
    Shape("bash -c 'ls -la'"),
    Shape("sh -c ls"),
    Shape("bash -xc 'ls'"),
    Shape("bash -ec 'ls | wc -l'"),
    Shape("bash -o pipefail -c 'ls | wc -l'"),
    Shape("bash -co pipefail ls"),
    Shape("bash --norc --noprofile -c ls"),
    Shape("bash -c ls x y"),
    Shape("dash -ec ls", allow=("dash",)),
    Shape("sh -eu -c 'ls -la'"),
    Shape("zsh -fc ls", allow=("zsh",), files={"home/.zshenv": RC}),
    Shape("zsh --no-rcs -c ls", allow=("zsh",), files={"home/.zshenv": RC}),
    Shape("ksh -c ls", allow=("ksh",), files={"home/.kshrc": RC}),
    Shape("busybox sh -c ls", allow=("busybox",), files={"home/.profile": RC}),
    Shape("rbash -c ls", allow=("rbash",)),
    Shape("bash ./ok.sh", files={"ok.sh": "#!/bin/sh\ntrue\n"}, allow=("/**/ok.sh",)),
    Shape("bash -c ls", files={"home/.bashrc": RC, "home/.profile": RC}),
]


@pytest.mark.parametrize("shape", [s.param() for s in SHAPES])
def test_shape_is_real(shape: Shape, tmp_path: Path) -> None:
    assert_real(shape, tmp_path)


@pytest.mark.parametrize("shape", [s.param() for s in SHAPES])
def test_shape_is_refused(shape: Shape, tmp_path: Path) -> None:
    assert_refused(shape, tmp_path)


@pytest.mark.parametrize("shape", [s.param() for s in CONTROLS])
def test_control_stays_allowed(shape: Shape, tmp_path: Path) -> None:
    assert_allowed(shape, tmp_path)


def test_the_corpus_is_large_enough() -> None:
    assert len(SHAPES) >= 20
    assert len(CONTROLS) >= 10


# --- shells that cannot be run here: refused whatever the allowlist ----------------------

_VFS_BINS = (
    "bash", "bash5.2", "bash-static", "rbash", "ksh93", "zsh-5.9", "fish", "mksh", "yash",
    "tcsh", "csh", "pwsh", "posh", "ls", "busybox", "toybox",
)  # fmt: skip


@pytest.mark.parametrize(
    "command",
    [
        "bash --debugger -c ls",
        "bash -O extdebug -c ls",
        "bash -H -c ls",
        "bash -o history -c ls",
        "bash -o keyword -c ls",
        "bash -D -c ls",
        "bash -c",
        "bash -c ''",
        "bash -x --norc -c ls",
        "bash --rcfile=./x -c ls",
        "bash --no-such-option -c ls",
        "bash -o -c ls",
        "bash -O no_such_shopt -c ls",
        "bash5.2 x.sh -c ls",
        "bash-static -C ls",
        "ksh93 -Ec ls",
        "zsh-5.9 -c ls",
        "fish -c ls",
        "mksh -c ls",
        "yash -c ls",
        "tcsh -c ls",
        "csh -c ls",
        "posh -c ls",
        "pwsh -c ls",
        "toybox sh -c ls",
        "busybox -- sh -c ls",
        "busybox SH -c ls",
        "busybox hush -c ls",
    ],
)
def test_unrunnable_shapes_are_refused(command: str) -> None:
    vfs = VirtualResolver()
    for name in _VFS_BINS:
        vfs.add_file(f"/usr/bin/{name}")
    vfs.add_file("/w/x.sh")
    vfs.add_file("/w/ls")
    found = evaluate_command(
        command,
        cwd="/w",
        env={"PATH": "/usr/bin", "HOME": "/h"},
        allowlist=[AllowlistEntry(pattern="/usr/bin/*")],
        resolver=vfs,
    )
    assert not found.allowlist_satisfied, command
    assert any(s.miss_reason for s in found.all_segments), command


def test_shell_names() -> None:
    for name in ("bash", "/bin/sh", "rbash", "ksh93", "bash5.2", "zsh-5.9", "sh.distrib", "fish"):
        assert is_shell_wrapper(name), name
    for name in ("ls", "shasum", "bashful", "zshdb", "python3"):
        assert not is_shell_wrapper(name), name
    assert shell_family("rbash") == (True, "bash")
    assert shell_family("fish") == (True, None)


def test_plan_reports_payload_and_refusal() -> None:
    plan = wrapper_plan(["bash", "-cls", "X"])
    assert plan.blocked
    assert "login" in (plan.blocked_reason or "")
    plan = wrapper_plan(["bash", "-xc", "ls -la", "zero"])
    assert not plan.blocked
    assert plan.shell_inline_command == "ls -la"
    plan = wrapper_plan(["bash", "x.sh", "-c", "ls"])
    assert plan.shell_inline_command is None
    assert not plan.blocked


# --- the grammar against the real binaries -------------------------------------------------

_MARKED = ("x.sh", "ls", "-c", "errexit", "pipefail", "extglob", "c", "y")
_RC_FILES = (
    ".bashrc",
    ".bash_profile",
    ".bash_login",
    ".profile",
    ".zshenv",
    ".zshrc",
    ".zprofile",
    ".zlogin",
    ".kshrc",
)


def _world() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="shopt-"))
    (folder / "home").mkdir()
    for name in _MARKED:
        path = folder / name
        path.write_text(f"#!/bin/sh\ntouch RAN_{name}\n")
        path.chmod(0o755)
    for name in _RC_FILES:
        (folder / "home" / name).write_text(f"touch RC_{name}\n")
    return folder


def _really_runs(argv: list[str]) -> set[str]:
    """The marker files the real shell creates for *argv* (T_a, RAN_x.sh, RC_.profile...)."""
    folder = _world()
    try:
        env = {"PATH": "/usr/bin:/bin", "HOME": str(folder / "home")}
        exe = shutil.which(argv[0], path=env["PATH"])
        assert exe is not None
        with contextlib.suppress(subprocess.TimeoutExpired):
            subprocess.run(
                [exe, *argv[1:]],
                cwd=folder,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=10,
                check=False,
                start_new_session=True,
            )
        made = {p.name for p in folder.iterdir() if p.name.startswith(("T_", "RAN_"))}
        made |= {p.name for p in (folder / "home").iterdir() if p.name.startswith("RC_")}
        made |= {p.name for p in (folder / "home").iterdir() if p.name.startswith("T_")}
        return made
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _claimed(call: ShellCall) -> set[str] | None:
    """What our reading says runs (None: refused, nothing claimed)."""
    if call.refusal is not None:
        return None
    if call.payload is not None:
        return (
            {call.payload.removeprefix("touch ")} if call.payload.startswith("touch T_") else set()
        )
    assert call.script is not None
    return {f"RAN_{call.script}"}


def _check(argv: list[str]) -> ShellCall:
    """*argv* runs nothing beyond what we read; ``busybox sh …`` is read with both grammars."""
    if argv[0] == "busybox":
        applet = argv[1:]
        ash = parse_shell_argv("ash", "ash", applet, openclaw_floor=False)
        sh = parse_shell_argv("sh", "sh", applet, openclaw_floor=False)
        for call in (ash, sh):
            claimed = _claimed(call)
            if claimed is not None:
                made = _really_runs(argv)
                assert made <= claimed, f"{argv}: we read {call}, busybox ran {sorted(made)}"
        return ash
    name = argv[0]
    call = parse_shell_argv(shell_family(name)[1], name, argv, openclaw_floor=False)
    claimed = _claimed(call)
    if claimed is None:
        return call
    made = _really_runs(argv)
    assert made <= claimed, f"{argv}: we read {call}, the real shell ran {sorted(made)}"
    return call


_REAL = [s for s in ("bash", "dash", "zsh", "ksh", "rbash", "sh") if shutil.which(s)]
if shutil.which("busybox"):
    _REAL.append("busybox sh")

# (argv, what runs): the payload "touch T_a", a script RAN_x, or "" for a refusal.
_KNOWN: list[tuple[list[str], str]] = [
    (["bash", "-cx", "touch T_a"], "T_a"),
    (["bash", "-xc", "touch T_a", "touch T_b"], "T_a"),
    (["bash", "-co", "pipefail", "touch T_a"], "T_a"),
    (["bash", "-oc", "pipefail", "touch T_a"], "T_a"),
    (["bash", "-c", "-o", "pipefail", "touch T_a"], "T_a"),
    (["bash", "-c", "-", "touch T_a"], "T_a"),
    (["bash", "+c", "touch T_a"], "T_a"),
    (["bash", "-Oc", "extglob", "touch T_a"], "T_a"),
    (["bash", "x.sh", "-c", "touch T_a"], "RAN_x.sh"),
    (["bash", "-C", "ls"], "RAN_ls"),
    (["bash", "--", "-c"], "RAN_-c"),
    (["bash", "--norc", "-x", "-c", "touch T_a"], "T_a"),
    (["dash", "-oc", "errexit", "touch T_a"], "T_a"),
    (["dash", "-c", "touch T_a", "-x"], "T_a"),
    (["dash", "-C", "ls"], "RAN_ls"),
    (["zsh", "-fc", "touch T_a"], "T_a"),
    (["zsh", "-c", "-f", "touch T_a"], "T_a"),
    (["zsh", "-f", "-oerrexit", "-c", "touch T_a"], "T_a"),
    (["zsh", "--no-rcs", "-c", "touch T_a"], "T_a"),
    (["zsh", "-fb", "-c", "touch T_a"], "RAN_-c"),
    (["ksh", "touch T_a"], ""),
    (["ksh", "-co", "errexit", "touch T_a"], "T_a"),
    (["ksh", "-oerrexit", "-c", "touch T_a"], "T_a"),
    (["ksh", "--norc", "-c", "touch T_a"], "T_a"),
    (["ksh", "-c", "touch T_a", "-x"], "T_a"),
    (["rbash", "-c", "touch T_a"], "T_a"),
    (["sh", "-ec", "touch T_a"], "T_a"),
    (["busybox", "sh", "-cx", "touch T_a"], "T_a"),
    (["busybox", "sh", "-oc", "errexit", "touch T_a"], "T_a"),
    (["busybox", "sh", "x.sh", "-c", "touch T_a"], "RAN_x.sh"),
    (["busybox", "sh", "-C", "ls"], "RAN_ls"),
    (["busybox", "sh", "-c", "touch T_a", "-x"], "T_a"),
    (["dash", "+", "-v", "x.sh"], ""),
    (["ksh", "+c", "ls"], ""),
    (["bash", "-lc", "touch T_a"], ""),
    (["zsh", "-c", "touch T_a"], ""),
    (["ksh", "-oc", "errexit", "touch T_a"], ""),
]


@pytest.mark.parametrize(
    ("argv", "runs"), _KNOWN, ids=lambda v: " ".join(v) if isinstance(v, list) else v
)
def test_grammar_matches_the_real_shell(argv: list[str], runs: str) -> None:
    if not shutil.which(argv[0]):
        pytest.skip(f"{argv[0]} is not installed")
    call = _check(argv)
    if not runs:
        assert call.refusal is not None
        return
    assert _claimed(call) == {runs}
    assert _really_runs(argv) == {runs}, "the fixture itself is wrong"


_TOKENS = st.sampled_from(
    [
        "-c", "-x", "-e", "-C", "-s", "-l", "-i", "-f", "-b", "-o", "-O", "+o", "+c", "-cx",
        "-xc", "-co", "-oc", "-ce", "-ec", "-cl", "-fc", "-oerrexit", "--", "-", "--norc",
        "--no-rcs", "--rcs", "--login", "errexit", "pipefail", "extglob", "x.sh", "ls", "c",
        "touch T_a", "touch T_b", "-k", "-E", "-u", "-n", "+f", "+e", "+", "-+", "y",
    ]
)  # fmt: skip


@pytest.mark.skipif(not _REAL, reason="no shell installed")
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
@given(shell=st.sampled_from(_REAL or ["sh"]), words=st.lists(_TOKENS, max_size=5))
def test_generated_argvs_never_run_more_than_we_read(shell: str, words: list[str]) -> None:
    _check([*shell.split(), *words])


# --- never looser than OpenClaw 2026.9.6 -----------------------------------------------------

_OPTS = (
    "-c", "-x", "-e", "-C", "-s", "-l", "-f", "-o", "pipefail", "errexit", "-O", "extglob",
    "--", "-", "+c", "-xc", "-co", "-oc", "-cx", "--norc", "--no-rcs", "-oerrexit",
)  # fmt: skip
_TAILS = (("ls",), ("ls -la", "x"), ("./ok.sh",), ("x.sh", "-c", "ls"))


def _generated() -> list[str]:
    out: list[str] = []
    for shell in ("bash", "sh", "dash", "zsh", "ksh", "rbash", "busybox sh", "env bash"):
        for first in ("", *_OPTS):
            for second in ("", "-c", "-e", "pipefail", "--"):
                for tail in _TAILS:
                    words = [w for w in (first, second) if w]
                    out.append(" ".join([shell, *words, *(f"'{t}'" for t in tail)]))
    return sorted(set(out))


@pytest.mark.oracle
def test_never_looser_than_openclaw_2026_9_6(oracle96: Any, tmp_path: Path) -> None:
    folder = tmp_path
    (folder / "home").mkdir()
    for name in ("ok.sh", "x.sh", "ls"):
        (folder / name).write_text("#!/bin/sh\ntrue\n")
        (folder / name).chmod(0o755)
    names = ("bash", "sh", "dash", "zsh", "ksh", "rbash", "busybox", "ls", "env", "timeout")
    patterns = [*which_all(names), str(folder / "ok.sh")]
    env = {"PATH": BASE_PATH, "HOME": str(folder / "home")}
    commands = _generated() + [s.command for s in SHAPES + CONTROLS]
    cases = [
        {
            "id": i,
            "op": "shell",
            "command": c,
            "allowlist": [{"pattern": p} for p in patterns],
            # Both sides with OpenClaw's default safe bins (``wc -l`` is one in 2026.9.6).
            "safeBins": sorted(DEFAULT_SAFE_BINS),
            "cwd": str(folder),
            "env": env,
        }
        for i, c in enumerate(commands)
    ]
    theirs = oracle96.results(cases)
    entries = [AllowlistEntry(pattern=p) for p in patterns]
    looser = []
    allowed = 0
    for command, answer in zip(commands, theirs, strict=True):
        ours = evaluate_command(command, cwd=str(folder), env=env, allowlist=entries)
        if ours.analysis_ok and ours.allowlist_satisfied:
            allowed += 1
            if not (answer["analysisOk"] and answer["allowlistSatisfied"]):
                looser.append(command)
    assert looser == [], "\n".join(looser)
    assert allowed > 100  # not a refuse-everything analyser
