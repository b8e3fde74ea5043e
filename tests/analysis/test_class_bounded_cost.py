"""
Issue #12, class 11: bounded cost on hostile input.

Every input under the length cap must finish quickly. Speed itself is shown by
``benchmarks/hostile_inputs.py``; these tests assert the *work* done (positions computed,
patterns compiled) and use generous wall-clock limits only as a hang guard, so a slow CI
machine cannot make them flaky while a quadratic or exponential regression still fails.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openclaw_exec.analysis import (
    MAX_COMMAND_CHARS,
    MAX_SHELL_WORDS,
    compile_allowlist,
    compile_pattern,
    evaluate_command,
    parse_shell_command,
)
from openclaw_exec.analysis import _allowlist as evaluate_module
from openclaw_exec.analysis import _shell_words as shell_module
from openclaw_exec.policy import AllowlistEntry
from openclaw_exec.testing import VirtualResolver

ENV = {"PATH": "/usr/bin:/bin", "HOME": "/home/u"}
HANG_GUARD_S = 5.0  # far above the ~10 ms each input takes; only catches a hang


def _resolver() -> VirtualResolver:
    vfs = VirtualResolver()
    for name in ("ls", "git", "echo", "bash", "sh", "a", "x"):
        vfs.add_file(f"/usr/bin/{name}")
    vfs.add_dir("/w")
    return vfs


VFS = _resolver()
CAP = MAX_COMMAND_CHARS


def hostile_inputs() -> Iterator[tuple[str, str]]:
    """(name, text) pairs, each at or just under the length cap."""
    yield "assignment chain a=a=...", "a=" * (CAP // 2 - 1) + "a"
    yield "assignment chain then a command", "x=" * (CAP // 2 - 4) + " ls"
    yield "words a=a a=a ...", "echo " + "a=a" * ((CAP - 5) // 3)
    yield "colon-tilde word", "echo " + ":~" * ((CAP - 5) // 2)
    yield "escaped letters", "echo " + "\\a" * ((CAP - 5) // 2)
    yield "escaped specials", "echo " + "\\$\\*" * ((CAP - 5) // 4)
    yield "double-quoted escapes", 'echo "' + "a\\b" * ((CAP - 7) // 3) + '"'
    yield "double-quoted non-ASCII then $", 'echo "' + "é" * (CAP - 9) + '$"'
    yield "non-ASCII word with a glob at the end", "echo " + "é=é" * ((CAP - 6) // 3) + "*"
    yield "one long word", "a" * CAP
    yield "one long option", "echo " + "-" * (CAP - 5)
    yield "many one-letter words", "echo " + "a " * ((CAP - 5) // 2)
    yield "many single-quoted pieces", "echo " + "'a'" * ((CAP - 5) // 3)
    yield "many double-quoted pieces", "echo " + '"a"' * ((CAP - 5) // 3)
    yield "mixed concatenations", "echo " + 'a"b"c ' * ((CAP - 5) // 6)
    yield "only double quotes", '"' * CAP
    yield "only single quotes", "'" * CAP
    yield "only backslashes", "\\" * CAP
    yield "only non-ASCII", "é" * CAP
    yield "pipeline at the operator cap", "a|" * 256 + "a"
    yield "and-chain at the operator cap", "a && " * 255 + "a"
    yield "parentheses", "(" * CAP
    yield "command substitutions", "$(" * (CAP // 2)
    yield "braces", "{" * CAP
    yield "nested shell payloads", "bash -c 'sh -c \"bash -c ls\"'" + " " * (CAP - 40) + "x"
    yield "shell payload full of words", "bash -c '" + "a " * ((CAP - 12) // 2) + "'"
    yield "git options", "git " + "-c a.b=c " * ((CAP - 4) // 9)
    yield "find expression", "find . " + "-name x -o " * ((CAP - 7) // 11)
    yield "a writer with a thousand targets", "tee " + " ".join(f"a/b/c{i}" for i in range(1000))
    yield "rm with a thousand targets", "rm -rf " + " ".join(f"/w/d{i}" for i in range(1000))
    yield "a long sed script", "sed -e '" + "s/a/b/;" * 140 + "' f"
    yield "a long awk program", "awk '" + "{print $1};" * 90 + "' f"


HOSTILE = list(hostile_inputs())


@pytest.mark.parametrize(("name", "text"), HOSTILE, ids=[n for n, _ in HOSTILE])
def test_hostile_input_finishes_and_computes_at_most_one_position(
    name: str, text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert len(text) <= CAP, name
    calls = 0
    real = shell_module._byte_pos

    def counting(text_: str, start: int, index: int) -> int:
        nonlocal calls
        calls += 1
        return real(text_, start, index)

    monkeypatch.setattr(shell_module, "_byte_pos", counting)
    began = time.perf_counter()
    ev = evaluate_command(text, cwd="/w", env=ENV, allowlist=[], resolver=VFS)
    elapsed = time.perf_counter() - began
    # A position is computed only for the failure that is reported (once per parse: the
    # newline-terminated parse and the parse as written may each fail).
    assert calls <= 2, f"{name}: {calls} byte positions computed"
    assert elapsed < HANG_GUARD_S, f"{name}: {elapsed:.2f} s"
    assert not ev.allowlist_satisfied  # nothing is allowlisted


def test_write_targets_are_checked_within_a_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0
    real = VFS.realpath

    def counting(path: str) -> str | None:
        nonlocal calls
        calls += 1
        return real(path)

    monkeypatch.setattr(VFS, "realpath", counting)
    targets = " ".join(f"a/b{i}/c" for i in range(1000))
    allow = [AllowlistEntry(pattern="/usr/bin/tee")]
    VFS.add_file("/usr/bin/tee")
    ev = evaluate_command(f"tee {targets}", cwd="/w", env=ENV, allowlist=allow, resolver=VFS)
    assert ev.segments[0].danger is not None  # more targets than are checked: it asks
    assert calls <= 8 * 64, calls  # a bounded number of file-system questions


def test_word_cap_fails_closed_and_names_itself() -> None:
    text = "echo " + "a " * (MAX_SHELL_WORDS + 1)
    everything = [AllowlistEntry(pattern="*")]
    ev = evaluate_command(text, cwd="/w", env=ENV, allowlist=everything, resolver=VFS)
    assert not ev.analysis_ok
    assert ev.failure is not None
    assert f"more than {MAX_SHELL_WORDS} words" in ev.failure.construct
    quoted = "echo " + "'a'" * (MAX_SHELL_WORDS + 1)
    assert not parse_shell_command(quoted).ok


def test_word_cap_leaves_room_for_long_file_lists() -> None:
    text = "ls " + " ".join(f"file{i}.py" for i in range(MAX_SHELL_WORDS - 2))
    parsed = parse_shell_command(text)
    assert parsed.ok, parsed.failure
    assert len(parsed.segments[0].argv) == MAX_SHELL_WORDS - 1


# --------------------------------------------------------------------------- decoder


def _reference_unquoted(text: str, *, at_word_start: bool) -> str | tuple[str, int]:
    """The decoder before the linear rewrite (character by character), as a reference."""
    out: list[str] = []
    i = 0
    n = len(text)
    previous = "" if at_word_start else "x"
    while i < n:
        ch = text[i]
        if ch == "\\":
            if i + 1 >= n:
                return ("trailing backslash", len(text[:i].encode()))
            if text[i + 1] in " \t":
                return ("escaped blank", len(text[:i].encode()))
            out.append(text[i + 1])
            previous = "x"
            i += 2
            continue
        pos = len(text[:i].encode())
        if ch in "$`":
            return ("command substitution" if ch == "`" else "parameter expansion", pos)
        if ch in "*?[]":
            return (f"glob character {ch!r}", pos)
        if ch in "{}":
            return (f"brace character {ch!r}", pos)
        if ch == "~" and previous in ("", "=", ":"):
            return ("tilde expansion", pos)
        if ch == "#" and previous == "":
            return ("comment", pos)
        if ch in "()<>|&;'\" \t":
            return (f"unexpected {ch!r}", pos)
        out.append(ch)
        previous = ch if ch in "=:" else "x"
        i += 1
    return "".join(out)


def _reference_double(body: str) -> str | tuple[str, int]:
    out: list[str] = []
    i = 0
    n = len(body)
    while i < n:
        ch = body[i]
        pos = 1 + len(body[:i].encode())
        if ch == "\\" and i + 1 < n:
            nxt = body[i + 1]
            if nxt in '$`"\\':
                out.append(nxt)
                i += 2
                continue
            out.append(ch)
            i += 1
            continue
        if ch == "\\":
            return ("trailing backslash", pos)
        if ch == "$":
            return ("parameter expansion", pos)
        if ch == "`":
            return ("command substitution", pos)
        if ch == '"':
            return ("malformed double-quoted string", pos)
        out.append(ch)
        i += 1
    return "".join(out)


WORD_CHARS = st.text(alphabet="ab=:~#\\$`*?[]{}()<>|&;'\" \té", max_size=12)


def _decode(fn: object, *args: object, **kwargs: object) -> str | tuple[str, int]:
    try:
        return fn(*args, **kwargs)  # type: ignore[operator,no-any-return]
    except shell_module._Fail as fail:
        return (fail.construct, fail.byte_pos)


@settings(max_examples=400, deadline=None)
@given(WORD_CHARS, st.booleans())
def test_unquoted_decoder_equals_the_reference(word: str, at_word_start: bool) -> None:
    src = word.encode()
    got = _decode(shell_module._decode_unquoted, src, 0, len(src), at_word_start=at_word_start)
    assert got == _reference_unquoted(word, at_word_start=at_word_start)


@settings(max_examples=400, deadline=None)
@given(WORD_CHARS)
def test_double_quoted_decoder_equals_the_reference(body: str) -> None:
    src = f'"{body}"'.encode()
    got = _decode(shell_module._decode_double, src, 0, len(src))
    assert got == _reference_double(body)


# --------------------------------------------------------------------------- allowlists


def _entries(n: int, *, wildcard_every: int = 50) -> list[AllowlistEntry]:
    out = []
    for i in range(n):
        if i % wildcard_every == 0:
            out.append(AllowlistEntry(pattern=f"/opt/w{i}/*"))
        else:
            out.append(AllowlistEntry(pattern=f"/opt/t{i}/bin/tool"))
    out.append(AllowlistEntry(pattern="/usr/bin/git"))
    return out


def test_an_allowlist_reloaded_with_the_same_content_is_not_compiled_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = _entries(20_000)
    ev = evaluate_command("git status", cwd="/w", env=ENV, allowlist=first, resolver=VFS)
    assert ev.segments[0].matched_entry is first[-1]
    compiled = 0
    real = compile_pattern

    def counting(pattern: str, home: str | None = None) -> object:
        nonlocal compiled
        compiled += 1
        return real(pattern, home)

    monkeypatch.setattr(evaluate_module, "compile_pattern", counting)
    # A fresh load of the same file: new entry objects, equal content, other metadata.
    reloaded = [
        AllowlistEntry(pattern=e.pattern, id=f"id-{i}", last_used_at=i) for i, e in enumerate(first)
    ]
    began = time.perf_counter()
    ev = evaluate_command("git status", cwd="/w", env=ENV, allowlist=reloaded, resolver=VFS)
    assert time.perf_counter() - began < HANG_GUARD_S
    assert compiled == 0
    # The entry reported is the caller's own object, not the one first compiled.
    assert ev.segments[0].matched_entry is reloaded[-1]


def test_a_changed_allowlist_is_compiled_again() -> None:
    a = compile_allowlist([AllowlistEntry(pattern="/usr/bin/git")])
    b = compile_allowlist([AllowlistEntry(pattern="/usr/bin/ls")])
    c = compile_allowlist([AllowlistEntry(pattern="/usr/bin/git")], home="/other")
    same = compile_allowlist([AllowlistEntry(pattern="/usr/bin/git", id="x")])
    assert a._set is same._set
    assert a._set is not b._set
    assert a._set is not c._set


def test_the_shared_compiled_sets_are_bounded() -> None:
    for i in range(evaluate_module._SHARED_MAX_SETS + 10):
        compile_allowlist([AllowlistEntry(pattern=f"/bounded/{i}")])
    assert len(evaluate_module._SHARED) <= evaluate_module._SHARED_MAX_SETS
    total = sum(s.size for s in evaluate_module._SHARED.values())
    assert total <= evaluate_module._SHARED_MAX_PATTERNS


POOL = [
    "/usr/bin/ls",
    "/usr/bin/git",
    "/usr/bin/r?",
    "/usr/bin/*",
    "/usr/**",
    "*",
    "~/bin/tool",
    "~",
    "~x/bin",
    "rg",
    "r*",
    "git",
    "/usr/bin/./ls",
    "/usr//bin/ls",
    "/usr/bin/a\\b",
    "relative/ls",
    "=command:0123456789abcdef",
    " /usr/bin/ls ",
    "/usr/bin/~ls",
    "",
]
TARGETS = ["/usr/bin/ls", "/usr/bin/git", "/usr/bin/rg", "/home/u/bin/tool", "/home/u", "/x"]
NAMES = ["rg", "git", "ls", "r", "x"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(POOL), max_size=8), st.sampled_from(["/home/u", None, "/"]))
def test_compiled_matching_equals_first_matching_pattern(
    patterns: list[str], home: str | None
) -> None:
    entries = [AllowlistEntry(pattern=p or "x") for p in patterns]
    compiled = compile_allowlist(entries, home=home, bare_name_patterns=True)
    naive = [compile_pattern(e.pattern, home) for e in entries]
    for target in TARGETS:
        want = next(
            (e for e, c in zip(entries, naive, strict=True) if c.kind == "any"),
            next(
                (e for e, c in zip(entries, naive, strict=True) if c.matches_path(target)),
                None,
            ),
        )
        assert compiled.match(None, path=target) is want, (patterns, target)
    for name in NAMES:
        if any(c.kind == "any" for c in naive):
            continue
        want = next((e for e, c in zip(entries, naive, strict=True) if c.matches_name(name)), None)
        got = compiled._set.first_name(name)
        assert (None if got is None else entries[got]) is want, (patterns, name)
