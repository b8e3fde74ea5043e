"""
Danger-profile matchers for programs that write, link or delete files.

tee, cp, mv, install, ln, rm, chmod, chown, chgrp, dd: each yields ``(row key, detail)``
when a target (or, for a recursive copy into ``.``, a tree) is a protected path.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from openclaw_exec.analysis._danger import (
    Grammar,
    PathContext,
    contains_protected,
    operands,
    options,
    profile_name,
    scan,
)
from openclaw_exec.analysis._danger_util import Hit, option_names, protect

__all__ = ["FILE_MATCHERS"]

_TEE = Grammar(long_optional=frozenset({"output-error"}))


def _tee(argv: Sequence[str], ctx: PathContext) -> Iterator[Hit]:
    yield from protect("FILE (writes a protected path)", operands(scan(argv[1:], _TEE)), ctx)


_COPY = Grammar(
    short_value="tSmogZ",
    long_value=frozenset(
        {"target-directory", "suffix", "mode", "owner", "group", "strip-program", "sparse"}
    ),
    long_optional=frozenset({"backup", "reflink", "preserve", "context"}),
    long_flags=frozenset({"no-target-directory", "recursive", "archive", "symbolic-link"}),
)
_RECURSIVE = frozenset({"-r", "-R", "-a", "--recursive", "--archive"})


def _copy_like(argv: Sequence[str], ctx: PathContext) -> Iterator[Hit]:
    program = profile_name(argv[0]) or ""
    tokens = scan(argv[1:], _COPY)
    names = option_names(tokens)
    words = operands(tokens)
    target_dir = next(
        (v for n, v in options(tokens) if n in ("-t", "--target-directory") and v), None
    )
    if "--strip-program" in names and program == "install":
        yield "install --strip-program", "--strip-program"
    key = f"{'SOURCE or ' if program in ('mv', 'ln') else ''}DEST (writes a protected path)"
    if target_dir is not None:
        sources, dest = words, target_dir
    elif len(words) >= 2 or (program == "ln" and words):
        sources, dest = words[:-1], words[-1]
        if program == "ln" and len(words) == 1:
            sources, dest = words, "."
    else:
        return
    targets = [dest]
    if "-T" not in names and "--no-target-directory" not in names:
        targets += [f"{dest.rstrip('/')}/{s.rstrip('/').rsplit('/', 1)[-1]}" for s in sources]
    yield from protect(key, targets, ctx)
    if names & _RECURSIVE or program == "mv":
        for target in targets:
            if target.rstrip("/").rsplit("/", 1)[-1] in (".", ".."):
                reason = contains_protected(target, ctx)
                if reason is not None:
                    yield key, reason
    if program == "mv":
        yield from protect(key, sources, ctx)
    elif program == "ln" or names & {"-l", "-s", "--link", "--symbolic-link"}:
        base = dest if target_dir is not None else dest.rsplit("/", 1)[0] if "/" in dest else "."
        for source in sources:
            link_target = source if source.startswith("/") else f"{base}/{source}"
            reason = contains_protected(link_target, ctx)
            if reason is not None:
                yield key, f"link to {reason}"


def _rm(argv: Sequence[str], ctx: PathContext) -> Iterator[Hit]:
    for word in operands(scan(argv[1:], Grammar())):
        reason = contains_protected(word, ctx)
        if reason is not None:
            yield "PATH (deletes a protected path)", reason


_OCTAL = re.compile(r"[0-7]{1,5}\Z")


def _chmod(argv: Sequence[str], ctx: PathContext) -> Iterator[Hit]:
    program = argv[0].rsplit("/", 1)[-1].lower()
    program = "chmod" if profile_name(argv[0]) == "chmod" else program
    words = [w for w in argv[1:] if w != "--"]
    paths: list[str] = []
    mode_seen = program != "chmod"
    for word in words:
        if word.startswith("--reference"):
            mode_seen = True
            if program == "chmod":
                yield "setuid/setgid (+s, 4755, --reference)", word
            continue
        if word.startswith("-") and (program != "chmod" or not re.search("[rwxXst]", word)):
            continue
        if not mode_seen:
            mode_seen = True
            if (_OCTAL.match(word) and int(word, 8) & 0o6000) or re.search(r"[+=][^,]*s", word):
                yield "setuid/setgid (+s, 4755, --reference)", word
            continue
        paths.append(word)
    yield from protect(f"{'MODE ' if program == 'chmod' else 'OWNER '}PROTECTED-PATH", paths, ctx)


def _dd(argv: Sequence[str], ctx: PathContext) -> Iterator[Hit]:
    for word in argv[1:]:
        if word.startswith("of="):
            yield from protect("of=PROTECTED-PATH", [word[3:]], ctx)


FILE_MATCHERS = {
    "tee": _tee,
    "cp": _copy_like,
    "mv": _copy_like,
    "install": _copy_like,
    "ln": _copy_like,
    "rm": _rm,
    "chmod": _chmod,
    "chown": _chmod,
    "chgrp": _chmod,
    "dd": _dd,
}
"""Profile name -> matcher, for the file writers."""
