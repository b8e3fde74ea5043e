"""
Checking the bypass corpora against the real shells, not against our reading of them.

Every must-not-auto-run shape in the ``test_class_*`` modules is a :class:`Shape`: a command
line, the files its folder holds, and the environment the agent asks for. Two things are
asserted about it, both in a fresh temporary folder on the real filesystem:

* **it is real**: run with each real shell named in ``shells`` (``bash -c TEXT`` /
  ``dash -c TEXT``, the way :func:`openclaw_exec.guarded_run` runs text), it creates the file
  ``CANARY`` in that folder, so the unallowed code really runs;
* **it is refused**: the analyser, with the allowlist an honest administrator writes
  (:data:`HONEST`, real paths found with :func:`shutil.which`) and OpenClaw's default safe
  bins, does not answer ALLOW.

Controls are shapes that must stay allowed (and must *not* create the canary), so an
analyser that refuses everything fails the corpus.

The helpers here never decide anything; they only build worlds and run processes.
"""

from __future__ import annotations

import contextlib
import shutil
import stat
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs
import pytest

from openclaw_exec.analysis import Evaluation, evaluate_command
from openclaw_exec.policy import AllowlistEntry, Ask, ExecPolicy, Security, Verdict

CANARY = "CANARY"
"""The file every must-not-auto-run shape creates when really run."""

TOUCH = f"touch {CANARY}"
"""The canary payload, for shapes that spell it out."""

SCRIPT = f"#!/bin/sh\ntouch {CANARY}\n"
"""An executable script that plants the canary (``./x.sh``, ``./evil``, ...)."""

HONEST_NAMES = (
    "awk",
    "bash",
    "cat",
    "cp",
    "echo",
    "env",
    "find",
    "git",
    "grep",
    "head",
    "ls",
    "make",
    "printf",
    "python3",
    "sed",
    "sh",
    "sort",
    "tail",
    "tar",
    "tee",
    "test",
    "wc",
    "xargs",
)
"""Programs an honest administrator allowlists for a coding agent."""

POLICY = ExecPolicy(security=Security.ALLOWLIST, ask=Ask.ON_MISS)
"""Allowlist with ask-on-miss: a refused shape comes out ASK, an allowed one ALLOW."""

BASE_PATH = "/usr/local/bin:/usr/bin:/bin"

SHELLS = tuple(s for s in ("bash", "dash") if shutil.which(s))
"""The real shells every shape is run with (both are on Debian and in CI)."""


def which_all(names: Iterable[str]) -> tuple[str, ...]:
    """Absolute paths of the programs that exist here (missing ones are left out)."""
    found = (shutil.which(n, path=BASE_PATH) for n in names)
    return tuple(dict.fromkeys(p for p in found if p))


HONEST = which_all(HONEST_NAMES)


@attrs.frozen
class Shape:
    """
    One command an agent might send.

    Attributes:
        command: The shell text.
        files: Files to create in the folder first (relative path -> content). A file
            whose content starts with ``#!`` is made executable; a value of ``None``
            makes a folder.
        env: What the agent asks to add to the environment.
        allow: Extra allowlist entries (names found on PATH, or absolute patterns).
        shells: The real shells that run it (a bash-only shape names only bash).
        note: Why it is dangerous (or, for a control, why it is harmless).
        entries: Allowlist entries with more than a pattern: ``(name or absolute
            pattern, argPattern, source)``. They replace the honest entry of the same
            program (an administrator who restricts ``git`` to ``^status$`` does not
            also allow all of ``git``).
    """

    command: str
    files: Mapping[str, str | None] = attrs.field(factory=dict)
    env: Mapping[str, str] = attrs.field(factory=dict)
    allow: tuple[str, ...] = ()
    shells: tuple[str, ...] = SHELLS
    note: str = ""
    entries: tuple[tuple[str, str | None, str | None], ...] = ()

    def param(self, prefix: str = "") -> object:
        """This shape as a ``pytest.param`` with a readable id."""
        ident = (prefix + self.command)[:80].replace("\n", "\\n")
        return pytest.param(self, id=ident)


def build(shape: Shape, folder: Path) -> Path:
    """Create *shape*'s files under *folder* (a ``home`` folder is always there)."""
    (folder / "home").mkdir(exist_ok=True)
    for rel, content in shape.files.items():
        path = folder / rel
        if content is None:
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        if content.startswith("#!"):
            path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return folder


def environment(shape: Shape, folder: Path) -> dict[str, str]:
    """The environment a shape runs and is analysed with: a small base, then its own."""
    base = {"PATH": BASE_PATH, "HOME": str(folder / "home"), "LANG": "C.UTF-8"}
    return {**base, **shape.env}


def allowlist(shape: Shape, extra: Iterable[str] = ()) -> list[AllowlistEntry]:
    """The honest allowlist plus the shape's own additions, as entries."""
    names = [*shape.allow, *extra]
    patterns = [*HONEST]
    for name in names:
        patterns.extend(_patterns_for(name))
    special = [
        AllowlistEntry(pattern=pattern, arg_pattern=arg_pattern, source=source)
        for name, arg_pattern, source in shape.entries
        for pattern in _patterns_for(name)
    ]
    replaced = {e.pattern for e in special}
    plain = [AllowlistEntry(pattern=p) for p in dict.fromkeys(patterns) if p not in replaced]
    return [*plain, *special]


def _patterns_for(name: str) -> tuple[str, ...]:
    if name.startswith(("/", "~", "=")) or "*" in name:
        return (name,)
    return which_all([name])


def analyse(
    shape: Shape, folder: Path, *, extra_allow: Iterable[str] = (), **options: Any
) -> Evaluation:
    """
    Evaluate *shape* in *folder* with the real filesystem (its files must exist).

    The shape's ``env`` is what the agent asked for, so it is also passed as
    ``env_overrides`` (checked against the override block lists, as the guard does).
    """
    return evaluate_command(
        shape.command,
        cwd=str(folder),
        env=environment(shape, folder),
        env_overrides=dict(shape.env) or None,
        allowlist=allowlist(shape, extra_allow),
        **options,
    )


def verdict(shape: Shape, folder: Path, **options: Any) -> Verdict:
    """The allowlist/on-miss verdict for *shape* (ALLOW means it would auto-run)."""
    return analyse(shape, folder, **options).verdict(POLICY).verdict


def run(shell: str, shape: Shape, folder: Path, *, timeout: float = 20) -> bool:
    """Run *shape* with the real *shell* in *folder*; True when it created the canary."""
    canary = folder / CANARY
    if canary.exists():
        canary.unlink()
    exe = shutil.which(shell, path=BASE_PATH)
    if exe is None:
        pytest.skip(f"{shell} is not installed")
    env = environment(shape, folder)
    with contextlib.suppress(subprocess.TimeoutExpired):
        subprocess.run(
            [exe, "-c", shape.command],
            cwd=folder,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=timeout,
            check=False,
            start_new_session=True,
        )
    return canary.exists()


def assert_real(shape: Shape, folder: Path) -> None:
    """Assert every shell in ``shape.shells`` really runs the canary for *shape*."""
    build(shape, folder)
    missing = [sh for sh in shape.shells if not run(sh, shape, folder)]
    assert not missing, f"{shape.command!r} did not create {CANARY} under {missing}"


def assert_refused(shape: Shape, folder: Path, **options: Any) -> None:
    """Assert the analyser does not auto-approve *shape* (built in *folder*)."""
    build(shape, folder)
    found = analyse(shape, folder, **options)
    got = found.verdict(POLICY).verdict
    why = [s.miss_reason for s in found.all_segments]
    assert got is not Verdict.ALLOW, f"{shape.command!r} was auto-approved ({why})"


def assert_allowed(shape: Shape, folder: Path, **options: Any) -> None:
    """Assert a control stays allowed and, when run, plants no canary."""
    build(shape, folder)
    found = analyse(shape, folder, **options)
    got = found.verdict(POLICY).verdict
    why = found.failure or [s.miss_reason for s in found.all_segments if s.miss_reason]
    assert got is Verdict.ALLOW, f"control {shape.command!r} was not allowed: {why}"
    for shell in shape.shells:
        assert not run(shell, shape, folder), f"control {shape.command!r} planted {CANARY}"
