"""
The strict word decoders behind the shell walk: unquoted and double-quoted text.

tree-sitter tolerates spellings bash reads differently, so every word the walk accepts is
decoded again from its source bytes here. Anything that would expand, glob or substitute
raises :class:`_Fail` with the construct's name and byte position; the walk in
``_shell`` turns that into an :class:`AnalysisFailure`.
"""

from __future__ import annotations

import re

__all__: list[str] = []  # helpers of _shell; nothing public here


class _Fail(Exception):  # noqa: N818 - internal control flow, caught by _shell's walk
    def __init__(self, construct: str, byte_pos: int) -> None:
        super().__init__(construct)
        self.construct = construct
        self.byte_pos = byte_pos


_UNQUOTED_SPECIAL = re.compile(r"[$`*?\[\]{}()<>|&;'\"\\~#=: \t]")


# Characters _decode_unquoted / _decode_double check one by one; every other character is
# copied as is.
_UNQUOTED_CHECKED = frozenset("$`*?[]{}~#()<>|&;'\" \t")
_DOUBLE_CHECKED = frozenset('\\$`"')


def _byte_pos(text: str, start: int, index: int) -> int:
    """The byte offset of ``text[index]`` when *text* starts at byte *start* (failures only)."""
    return start + len(text[:index].encode())


# Without a backslash a word decodes to itself, and the first character that fails it is
# found by one regex scan (a ``~`` fails after ``=`` or ``:``; at the start of the word
# ``~`` and ``#`` fail too, checked apart so the scan has a plain first-character set).
_FAILING = re.compile(r"[$`*?\[\]{}()<>|&;'\" \t]|[=:]~")
# A word with backslashes that decodes without failure: each backslash escapes the next
# character (not a blank), and an unescaped ``=`` or ``:`` is not followed by ``~``.
_UNQUOTED_ESCAPED_OK = re.compile(r"(?:\\[^ \t]|[=:](?!~)|[^\\$`*?\[\]{}()<>|&;'\" \t=:])*\Z")


def _decode_unquoted(src: bytes, start: int, end: int, *, at_word_start: bool) -> str:
    text = src[start:end].decode("utf-8")
    if _UNQUOTED_SPECIAL.search(text) is None:
        return text
    if "\\" not in text:
        if at_word_start and text[0] in "~#":
            i = 0
        else:
            bad = _FAILING.search(text)
            if bad is None:
                return text
            i = bad.start() + (1 if bad.group()[0] in "=:" else 0)
        # The character-by-character loop below names the failure; start it at the
        # failing character so the failure costs no more than the scan.
        previous = text[i - 1] if i else ("" if at_word_start else "x")
        _decode_tail(text, start, i, previous if previous in ("", "=", ":") else "x")
        raise AssertionError("unreachable: the failing character was found by the scan")
    if not (at_word_start and text[0] in "~#") and _UNQUOTED_ESCAPED_OK.match(text) is not None:
        # Escapes but nothing that fails: each backslash escapes the next character.
        # Escaped backslashes are set aside first (the text holds no NUL: refused before
        # parsing), so every other backslash is an escaping one and is dropped.
        return text.replace("\\\\", "\0").replace("\\", "").replace("\0", "\\")
    return _decode_tail(text, start, 0, "" if at_word_start else "x")


def _decode_tail(text: str, start: int, i: int, previous: str) -> str:
    out: list[str] = []
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "\\":
            if i + 1 >= n:
                raise _Fail("trailing backslash", _byte_pos(text, start, i))
            if text[i + 1] in " \t":
                raise _Fail("escaped blank", _byte_pos(text, start, i))
            out.append(text[i + 1])
            previous = "x"
            i += 2
            continue
        if ch not in _UNQUOTED_CHECKED:
            # No check applies to this character itself (``=`` and ``:`` only matter for
            # a ``~`` after them). The position is computed for a failure only, so
            # decoding stays linear in the word's length.
            out.append(ch)
            previous = ch if ch in "=:" else "x"
            i += 1
            continue
        pos = _byte_pos(text, start, i)
        if ch in "$`":
            raise _Fail("command substitution" if ch == "`" else "parameter expansion", pos)
        if ch in "*?[]":
            raise _Fail(f"glob character {ch!r}", pos)
        if ch in "{}":
            raise _Fail(f"brace character {ch!r}", pos)
        if ch == "~" and previous in ("", "=", ":"):
            raise _Fail("tilde expansion", pos)
        if ch == "#" and previous == "":
            raise _Fail("comment", pos)
        if ch in "()<>|&;'\" \t":
            raise _Fail(f"unexpected {ch!r}", pos)
        out.append(ch)
        previous = ch if ch in "=:" else "x"
        i += 1
    return "".join(out)


# A double-quoted body whose backslashes pair with the next character and that holds no
# ``$``, backtick or bare ``"``; inside it ``\\$ \\` \\" \\\\`` lose the backslash.
_DOUBLE_PLAIN = re.compile(r'(?:[^\\$`"]|\\[\s\S])*\Z')


def _decode_double(src: bytes, start: int, end: int) -> str:
    text = src[start:end].decode("utf-8")
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise _Fail("malformed double-quoted string", start)
    body = text[1:-1]
    if "\\" not in body and "$" not in body and "`" not in body and '"' not in body:
        return body
    if _DOUBLE_PLAIN.match(body) is not None:
        # Only escapes, no expansion: in double quotes a backslash escapes only
        # ``$ ` " \\``. Escaped backslashes are set aside first (no NUL in the text).
        return (
            body.replace("\\\\", "\0")
            .replace("\\$", "$")
            .replace("\\`", "`")
            .replace('\\"', '"')
            .replace("\0", "\\")
        )
    out: list[str] = []
    i = 0
    n = len(body)
    while i < n:
        ch = body[i]
        if ch == "\\" and i + 1 < n:
            nxt = body[i + 1]
            if nxt in '$`"\\':
                out.append(nxt)
                i += 2
                continue
            out.append(ch)
            i += 1
            continue
        if ch in _DOUBLE_CHECKED:
            pos = _byte_pos(body, start + 1, i)
            if ch == "\\":
                raise _Fail("trailing backslash", pos)
            if ch == "$":
                raise _Fail("parameter expansion", pos)
            if ch == "`":
                raise _Fail("command substitution", pos)
            raise _Fail("malformed double-quoted string", pos)
        out.append(ch)
        i += 1
    return "".join(out)
