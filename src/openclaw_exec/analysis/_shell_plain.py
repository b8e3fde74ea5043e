r"""
Plain command lines split without tree-sitter: the same parts the full walk returns.

Most commands an agent runs are plain words, quotes without expansions and the four
chain operators (``git log --oneline -n 5 && git diff --stat``). For those the
tree-sitter parse and the walk over its nodes (10-30 us in Python) can only ever give
one answer, which :func:`plain_parts` computes directly from the text:

* ASCII only; tokens separated by spaces or tabs: operators ``&&``, ``||``, ``|``, ``;``
  and words, each a run of plain characters (letters, digits, ``_ . / , @ % + : = -``),
  a single-quoted string or a double-quoted string without ``\ $ ` "``; a word ends at
  a blank, an operator or the end (no concatenation such as ``a'b'``);
* every segment is optional ``NAME=value`` assignments (the value plain or quoted, not
  empty) then a command word, quoted or of letters, digits and ``_ . / + -`` only;
  operators sit between segments only;
* no unquoted word is a shell keyword (tree-sitter-bash's or bash's reserved words),
  which could parse as another construct;
* no pipeline of three or more commands is followed by ``&&`` or ``||`` (tree-sitter-bash
  nests the list inside the pipeline there, and the walk refuses it).

Plain characters decode to themselves (no expansion, glob, tilde, brace, comment,
escape or redirection is possible), so the words are the argv the walk would build. A
segment whose builtin fails analysis (``eval``, ``printf -v`` ...) is not answered here:
the full walk names that failure. Anything else returns ``None`` and takes the full path,
so this never refuses and never names a failure. ``tests/analysis/test_plain_parse.py``
compares both paths on generated texts, the corpus and the harness mix.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from openclaw_exec.analysis._builtins import check_builtin

if TYPE_CHECKING:
    from openclaw_exec.analysis._shell import RawParts, RawSegment

__all__ = ["plain_parts"]

# tree-sitter-bash's keyword tokens and bash's reserved words: fall back to the walk.
_RESERVED = frozenset(
    {
        "case",
        "coproc",
        "declare",
        "do",
        "done",
        "elif",
        "else",
        "end",
        "esac",
        "export",
        "fi",
        "for",
        "function",
        "if",
        "in",
        "local",
        "readonly",
        "select",
        "then",
        "time",
        "typeset",
        "unset",
        "unsetenv",
        "until",
        "while",
    }
)

_QUOTED = r"""'[^']*'|"[^"\\$`]*\""""
_END = r"(?=[ \t;|&]|\Z)"  # a word ends at a blank, an operator or the end: no a'b'
# A word (plain characters or one quoted string) or an assignment whose value is quoted
# (``NAME='...'``: one word, valid only before the command word).
_WORD = rf"(?:[A-Za-z0-9_./,@%+:=-]+|{_QUOTED}){_END}|[A-Za-z_][A-Za-z0-9_]*=(?:{_QUOTED}){_END}"
# A segment of such words and the operator after it ('' at the end of the text).
_SEGMENT = re.compile(rf"[ \t]*((?:{_WORD})(?:[ \t]+(?:{_WORD}))*)[ \t]*(&&|\|\||[|;]|\Z)")
# The words of a matched segment, in order (the quoted assignment first: it is one word).
_WORDS = re.compile(rf"[A-Za-z_][A-Za-z0-9_]*=(?:{_QUOTED})|[A-Za-z0-9_./,@%+:=-]+|{_QUOTED}")
_ASSIGNMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=(.+)\Z")
# An unquoted command word: fewer characters than an argument (tree-sitter-bash reads
# ``ls@x`` and ``ls%x`` in command position as a syntax error, bash as a name).
_COMMAND_WORD = re.compile(r"[A-Za-z0-9_./+-]+\Z")


# A segment of unquoted words only, no assignment (its first word has no '='), and the
# operator after it ('' at the end): the commonest shape, split without the token loop.
_BARE_SEGMENT = re.compile(
    r"[ \t]*([A-Za-z0-9_./+-]+(?:[ \t]+[A-Za-z0-9_./,@%+:=-]+)*)[ \t]*(&&|\|\||[|;]|\Z)"
)


def plain_parts(text: str) -> RawParts | None:
    """
    The walk's parts for a plain ASCII command line, or ``None`` (take the full path).

    Only for texts that passed ``parse_raw``'s own pre-checks (caps, forbidden
    characters, not blank).
    """
    if not text.isascii():
        return None
    if "'" not in text and '"' not in text:
        bare = _bare_parts(text)
        if bare is not None:
            return bare
    return _quoted_parts(text)


_Words = tuple[list[str], list[tuple[str, str]]]


def _bare_words(group: str) -> _Words | None:
    """The argv of a segment of unquoted words without assignments (``_BARE_SEGMENT``)."""
    words = group.split()
    return None if not _RESERVED.isdisjoint(words) else (words, [])


def _quoted_words(group: str) -> _Words | None:
    """The argv and leading assignments of a segment matched by ``_SEGMENT``."""
    argv: list[str] = []
    assignments: list[tuple[str, str]] = []
    for word in _WORDS.findall(group):
        first = word[0]
        if first in "'\"":
            argv.append(word[1:-1])
        elif word[-1] in "'\"":  # NAME='...': plain characters never hold a quote
            if argv:
                return None  # only before the command word
            name, _, value = word.partition("=")
            assignments.append((name, value[1:-1]))
        elif word in _RESERVED:
            return None
        elif argv or _COMMAND_WORD.match(word) is not None:
            argv.append(word)
        else:
            assignment = _ASSIGNMENT.match(word)
            if assignment is None:
                return None  # NAME+=value, =x, NAME=, ls@x ...: the walk decides
            assignments.append((assignment.group(1), assignment.group(2)))
    return (argv, assignments) if argv else None  # not assignments without a command


def _bare_parts(text: str) -> RawParts | None:
    """:func:`plain_parts` for unquoted words without assignments (``None``: not that)."""
    return _split(text, _BARE_SEGMENT, _bare_words)


def _quoted_parts(text: str) -> RawParts | None:
    """:func:`plain_parts` segment by segment: quotes and leading assignments too."""
    return _split(text, _SEGMENT, _quoted_words)


def _split(
    text: str, segment_shape: re.Pattern[str], words_of: Callable[[str], _Words | None]
) -> RawParts | None:
    """Segments of *segment_shape* (words, then the operator after them) to the end."""
    parts: RawParts = []
    pipeline: list[RawSegment] = []
    pos = 0
    end = len(text)
    match = segment_shape.match
    while True:
        found = match(text, pos)
        if found is None:
            return None
        words = words_of(found.group(1))
        if words is None:
            return None
        segment = _segment(words[0], words[1], text, found.start(1), found.end(1))
        if segment is None:
            return None
        pipeline.append(segment)
        op = found.group(2)
        pos = found.end()
        if op == "|":
            continue
        if not op:  # the end of the text
            if pos != end:
                return None
            parts.append((pipeline, None))
            return parts
        if len(pipeline) > 2 and op != ";":
            # tree-sitter-bash reads `a | b | c && d` at the start of a statement as a
            # pipeline holding a list, which the walk refuses.
            return None
        parts.append((pipeline, op))
        pipeline = []


def _segment(
    argv: list[str], assignments: list[tuple[str, str]], text: str, first: int, end: int
) -> RawSegment | None:
    words = tuple(argv)
    builtin = check_builtin(words)
    if builtin is not None and builtin.fails_analysis:
        return None  # the walk names the failure
    return (words, tuple(assignments), text[first:end], first)
