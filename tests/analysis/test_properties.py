"""Property tests for the analyser: totality, bounded cost, monotonicity, fail-closed."""

from __future__ import annotations

import tracemalloc

from hypothesis import given, settings
from hypothesis import strategies as st

from openclaw_exec.analysis import (
    ResolutionCache,
    durable_command_pattern,
    evaluate_command,
    parse_shell_command,
)
from openclaw_exec.policy import AllowlistEntry, ExecPolicy, Verdict
from openclaw_exec.testing import VirtualResolver

CWD = "/w"
ENV = {"PATH": "/early:/usr/bin", "HOME": "/h"}


def _world() -> VirtualResolver:
    vfs = VirtualResolver()
    for name in (
        "ls",
        "git",
        "rg",
        "cat",
        "echo",
        "rm",
        "sh",
        "bash",
        "env",
        "timeout",
        "head",
        "wc",
    ):
        vfs.add_file(f"/usr/bin/{name}")
    vfs.add_dir("/early")
    vfs.add_file("/w/tool")
    vfs.add_symlink("/w/link", "/usr/bin/rm")
    return vfs


VFS = _world()
Lists = tuple[list[str], list[bool]]

PATTERN_POOL = [
    "/usr/bin/ls",
    "/usr/bin/git",
    "/usr/bin/rg",
    "/usr/bin/cat",
    "/usr/bin/r?",
    "/usr/bin/*",
    "/usr/**",
    "/w/*",
    "*",
    "/usr/bin/bash",
    "/usr/bin/sh",
    "~/x",
    "ls",
    "=command:0000000000000000",
]
WORDS = [
    "ls",
    "git",
    "rg",
    "cat",
    "rm",
    "./tool",
    "./link",
    "sh",
    "bash",
    "-c",
    "env",
    "timeout",
    "5",
    "head",
    "-n",
    "1",
    "'ls -la'",
    '"rg x | wc"',
    "$X",
    "*",
    "x",
    "FOO=1",
]
SEPARATORS = [" ", " ", " ", " && ", " || ", "; ", " | ", " & ", "\n"]


@st.composite
def commands(draw: st.DrawFn) -> str:
    words = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=7))
    out = words[0]
    for word in words[1:]:
        out += draw(st.sampled_from(SEPARATORS)) + word
    return out


def entries(patterns: list[str], durable: list[bool]) -> list[AllowlistEntry]:
    return [
        AllowlistEntry(pattern=p, source="allow-always" if d else None)
        for p, d in zip(patterns, durable, strict=False)
    ]


allowlists = st.lists(st.sampled_from(PATTERN_POOL), max_size=6).flatmap(
    lambda ps: st.tuples(st.just(ps), st.lists(st.booleans(), min_size=len(ps), max_size=len(ps)))
)
ANY_TEXT = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=300)


def verdict(command: str, allowlist: list[AllowlistEntry], ask: str = "off") -> Verdict:
    ev = evaluate_command(command, cwd=CWD, env=ENV, allowlist=allowlist, resolver=VFS)
    return ev.verdict(ExecPolicy(security="allowlist", ask=ask)).verdict


@given(ANY_TEXT)
def test_analysis_never_raises_on_any_text(text: str) -> None:
    ev = evaluate_command(text, cwd=CWD, env=ENV, resolver=VFS)
    assert isinstance(ev.analysis_ok, bool)
    assert ev.analysis_ok or ev.failure is not None
    assert ev.analysis_ok or ev.segments == ()
    if ev.failure is not None:
        assert 0 <= ev.failure.position <= len(text)
        assert ev.failure.construct in ev.failure.message


@given(st.lists(ANY_TEXT, max_size=5))
def test_argv_analysis_never_raises(argv: list[str]) -> None:
    ev = evaluate_command(argv, cwd=CWD, env=ENV, resolver=VFS)
    assert ev.analysis_ok == (
        bool(argv) and bool(argv[0].strip()) and all("\x00" not in w for w in argv)
    )


@given(st.text(alphabet="ab $()'\"\\|&;<>{}*~#\n`", min_size=1, max_size=40), st.integers(1, 25))
@settings(max_examples=25)
def test_one_megabyte_inputs_are_bounded(chunk: str, repeat: int) -> None:
    text = (chunk * (1_048_576 // len(chunk) + 1))[: 1_048_576 - repeat]
    tracemalloc.start()
    try:
        ev = evaluate_command(text, cwd=CWD, env=ENV, resolver=VFS)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert not ev.analysis_ok
    assert peak < 32 * 1024 * 1024


@given(st.text(alphabet="ab $()'\"\\|&;<>{}*~#`", min_size=1, max_size=20))
@settings(max_examples=25)
def test_inputs_just_under_the_limit_are_parsed_within_bounds(chunk: str) -> None:
    text = (chunk * (65_000 // len(chunk) + 1))[:65_000]
    tracemalloc.start()
    try:
        parsed = parse_shell_command(text)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(parsed.ok, bool)
    assert peak < 64 * 1024 * 1024


@given(commands(), allowlists, allowlists)
def test_adding_entries_never_turns_allow_into_deny(
    command: str, base: Lists, extra: Lists
) -> None:
    a = entries(*base)
    b = entries(*extra)
    if verdict(command, a) is Verdict.ALLOW:
        assert verdict(command, a + b) is Verdict.ALLOW
        assert verdict(command, b + a) is Verdict.ALLOW


@given(commands(), allowlists, st.data())
def test_removing_entries_never_turns_deny_into_allow(
    command: str, base: Lists, data: st.DataObject
) -> None:
    full = entries(*base)
    keep = data.draw(st.lists(st.booleans(), min_size=len(full), max_size=len(full)))
    reduced = [e for e, k in zip(full, keep, strict=True) if k]
    if verdict(command, full) is Verdict.DENY:
        assert verdict(command, reduced) is Verdict.DENY


@given(st.one_of(commands(), ANY_TEXT), allowlists, st.sampled_from(["off", "on-miss", "always"]))
def test_failed_analysis_is_never_allow(command: str, base: Lists, ask: str) -> None:
    # Even a durable exact-command grant for this very text does not re-admit it.
    grant = AllowlistEntry(pattern=durable_command_pattern(command), source="allow-always")
    allowlist = [*entries(*base), grant]
    ev = evaluate_command(command, cwd=CWD, env=ENV, allowlist=allowlist, resolver=VFS)
    if not ev.analysis_ok:
        assert ev.verdict(ExecPolicy(security="allowlist", ask=ask)).verdict is not Verdict.ALLOW
        assert not ev.durable_approval_satisfied
        assert ev.allow_always == ()


@given(commands(), allowlists)
def test_cache_gives_the_same_answer_and_notices_changes(command: str, base: Lists) -> None:
    vfs = _world()
    cache = ResolutionCache()
    allowlist = entries(*base)

    def both() -> tuple[object, object]:
        cold = evaluate_command(command, cwd=CWD, env=ENV, allowlist=allowlist, resolver=vfs)
        warm = evaluate_command(
            command, cwd=CWD, env=ENV, allowlist=allowlist, resolver=vfs, cache=cache
        )
        return (
            (cold.analysis_ok, cold.allowlist_satisfied, [s.executable for s in cold.all_segments]),
            (warm.analysis_ok, warm.allowlist_satisfied, [s.executable for s in warm.all_segments]),
        )

    first = both()
    assert first[0] == first[1]
    # A trojan dropped into an earlier PATH folder must invalidate cached lookups.
    for name in ("ls", "git", "rg", "cat"):
        vfs.add_file(f"/early/{name}")
    second = both()
    assert second[0] == second[1]
    vfs.chmod_executable("/w/tool", executable=False)
    third = both()
    assert third[0] == third[1]
