"""
Deny rules against the real shells: every route to a denied program really runs it.

The denied program is ``touch`` (the canary planter). Each shape is run with real bash
and dash (zsh/ksh/busybox where the shape is theirs) in a temporary folder and must
create the canary; then, under the loosest policy there is (``security=full``,
``ask=off``, ``askFallback=full``, an allowlist of ``*``), a deny rule on ``touch`` must
make it DENY naming the rule, or, for the shapes where the program is built at run time,
never ALLOW. Controls that do not reach ``touch`` stay ALLOW and plant nothing.
"""

from __future__ import annotations

import posixpath
import shutil
from pathlib import Path

import pytest
from _canary import SHELLS, Shape, analyse, assert_real, build, run

from openclaw_exec.analysis import OsResolver, check_deny
from openclaw_exec.policy import (
    Ask,
    DenyRule,
    ExecPolicy,
    ScopedDenyRule,
    Security,
    Verdict,
    VerdictReason,
    VerdictResult,
    decide_verdict,
)

TOUCH = shutil.which("touch", path="/usr/bin:/bin")
assert TOUCH is not None
LOOSEST = ExecPolicy(security=Security.FULL, ask=Ask.OFF, ask_fallback=Security.FULL)
RULE_SETS = {
    "name": (DenyRule(pattern="touch"),),
    "path": (DenyRule(pattern=TOUCH),),
    "glob": (DenyRule(pattern=posixpath.dirname(TOUCH) + "/tou*"),),
    "args": (DenyRule(pattern="touch", arg_pattern="CANARY"),),
}
LINKS = {"t": TOUCH, "bin": posixpath.dirname(TOUCH)}
ALL_SHELLS = tuple(s for s in ("bash", "dash", "zsh", "ksh") if shutil.which(s))

#: Routes where the analyser sees the program: DENY, naming the rule.
SEEN = (
    Shape("touch CANARY", note="the program itself"),
    Shape(f"{TOUCH} CANARY", note="its absolute path"),
    Shape("/bin/touch CANARY", note="merged /usr: /bin is a symlink, same real path"),
    Shape(f"{posixpath.dirname(TOUCH)}/../bin/touch CANARY", note="a path with .."),
    Shape("./t CANARY", note="a symlink to it in the folder"),
    Shape("bin/touch CANARY", note="through a symlinked folder"),
    Shape("./bin/../bin/touch CANARY", note="relative, with .., through a symlink"),
    Shape("env touch CANARY", note="env wrapper"),
    Shape("env -i PATH=/usr/bin touch CANARY", note="env with options and assignments"),
    Shape("nice -n 1 touch CANARY", note="nice wrapper"),
    Shape("timeout 5 touch CANARY", note="timeout wrapper"),
    Shape("nice env timeout 5 touch CANARY", note="wrappers in wrappers"),
    Shape("FOO=1 touch CANARY", note="an env prefix"),
    Shape("true && touch CANARY", note="second segment of a chain"),
    Shape("true | touch CANARY", note="in a pipeline"),
    Shape("bash -c 'touch CANARY'", note="a shell payload"),
    Shape("sh -c \"bash -c 'touch CANARY'\"", note="a shell in a shell"),
    Shape("dash -c 'env touch CANARY'", note="a wrapper in a shell payload"),
    Shape("command touch CANARY", note="the command builtin"),
    Shape("exec touch CANARY", note="the exec builtin"),
    Shape("eval 'touch CANARY'", note="eval"),
    Shape("eval 'tou''ch CANARY'", note="eval of a split word"),
    Shape("x=touch; $x CANARY", note="a variable names it"),
    Shape("$(echo touch) CANARY", note="a command substitution names it"),
    Shape("t''ouch CANARY", note="quotes inside the word"),
    Shape('"touch" CANARY', note="a quoted word"),
    Shape("\\touch CANARY", note="a backslash"),
    Shape(f"{posixpath.dirname(TOUCH)}/tou?h CANARY", note="a glob that expands to it"),
    Shape("echo CANARY | xargs touch", note="xargs runs it"),
    Shape("find . -maxdepth 0 -exec touch CANARY ';'", note="find -exec runs it"),
    Shape("python3 -c \"import os; os.system('touch CANARY')\"", note="inline code runs it"),
    Shape("busybox touch CANARY", note="a busybox applet", shells=("bash",)),
    Shape("busybox sh -c 'touch CANARY'", note="busybox's shell", shells=("bash", "dash")),
)

#: Routes where the program's name is built at run time: never ALLOW (at least a miss).
UNSEEN = (
    Shape("printf 'tou''ch CANARY' | sh", note="a shell reading a pipe"),
    Shape("echo dG91Y2ggQ0FOQVJZ | base64 -d | sh", note="decoded into a shell"),
    Shape("python3 -c \"import os; os.system('tou' + 'ch CANARY')\"", note="name built in code"),
    Shape("x=ouch; t$x CANARY", note="name built by expansion"),
)

CONTROLS = (
    Shape("ls -la", note="lists"),
    Shape("echo hello", note="prints"),
    Shape("true | wc -l", note="a pipeline of harmless programs"),
    Shape("env ls", note="a wrapper around a harmless program"),
    Shape("bash -c 'ls'", note="a shell payload with a harmless program"),
)


def _build(shape: Shape, folder: Path) -> None:
    build(shape, folder)
    for name, target in LINKS.items():
        link = folder / name
        if not link.is_symlink():
            link.symlink_to(target)


def _verdict(shape: Shape, folder: Path, rules: tuple[DenyRule, ...]) -> VerdictResult:
    evaluation = analyse(shape, folder, extra_allow=("*",))
    check = check_deny(
        [ScopedDenyRule(rule=r, where=f"defaults.deny[{i}]") for i, r in enumerate(rules)],
        evaluation,
        cwd=str(folder),
        home=str(folder / "home"),
        path_env="/usr/local/bin:/usr/bin:/bin",
        resolver=OsResolver(),
    )
    return decide_verdict(
        LOOSEST,
        analysis_ok=evaluation.analysis_ok,
        allowlist_satisfied=evaluation.allowlist_satisfied,
        durable_approval_satisfied=evaluation.durable_approval_satisfied,
        force_ask=evaluation.must_ask,
        deny=check,
    )


@pytest.mark.parametrize("shape", [s.param() for s in SEEN])
def test_seen_routes_are_real_and_denied(shape: Shape, tmp_path: Path) -> None:
    _build(shape, tmp_path)
    assert_real(shape, tmp_path)
    for label, rules in RULE_SETS.items():
        verdict = _verdict(shape, tmp_path, rules)
        assert verdict.verdict is Verdict.DENY, (label, verdict)
        assert verdict.reason is VerdictReason.DENY_RULE
        assert verdict.rule == "defaults.deny[0]"


@pytest.mark.parametrize("shape", [s.param() for s in UNSEEN])
def test_built_names_are_real_and_never_allowed(shape: Shape, tmp_path: Path) -> None:
    _build(shape, tmp_path)
    assert_real(shape, tmp_path)
    for label, rules in RULE_SETS.items():
        verdict = _verdict(shape, tmp_path, rules)
        assert verdict.verdict is not Verdict.ALLOW, (label, verdict)
        if verdict.verdict is Verdict.ASK:
            # Forced: an unanswered request is never run by askFallback=full.
            assert verdict.triggers, verdict


@pytest.mark.parametrize("shape", [s.param() for s in CONTROLS])
def test_controls_stay_allowed_and_plant_nothing(shape: Shape, tmp_path: Path) -> None:
    _build(shape, tmp_path)
    for rules in RULE_SETS.values():
        verdict = _verdict(shape, tmp_path, rules)
        assert verdict.verdict is Verdict.ALLOW, verdict
    for shell in SHELLS:
        assert not run(shell, shape, tmp_path)


@pytest.mark.parametrize("shell", ALL_SHELLS)
def test_every_shell_runs_the_payload_route(shell: str, tmp_path: Path) -> None:
    shape = Shape(f"{shell} -c 'touch CANARY'", shells=(shell,))
    _build(shape, tmp_path)
    assert_real(shape, tmp_path)
    assert _verdict(shape, tmp_path, RULE_SETS["name"]).verdict is Verdict.DENY
