r"""
``argPattern``: a JavaScript regular expression over an allowlist entry's arguments.

OpenClaw 2026.9.6 (``matchArgPattern`` / ``matchAllowlist``) runs ``new RegExp(argPattern)
.test(subject)`` where the subject is ``argv[1:]`` joined by a space, or, when the pattern
holds a NUL character, every argument followed by NUL (``"\\0\\0"`` for no arguments).
Allow-always grants carry a cwd-bound hash instead (``sha256:cwd-argv:v1:<hex>``), compared
for equality; the legacy ``sha256:argv:`` form never matches.

The pattern is JavaScript syntax without flags, so it is translated into an equivalent
Python pattern here instead of being handed to :mod:`re` as is. Whatever cannot be
translated faithfully (backreferences, named groups, ``\\cX``, ``[^]``, identity escapes
of letters, ...) makes the pattern *unsupported*: it never matches, and writing it is
refused. Strings are compared as UTF-16 code units, as JavaScript does without the ``u``
flag. Matching is bounded because arguments are attacker-controlled: a subject longer than
:data:`MAX_SUBJECT` never matches, and patterns whose backtracking can explode (a repeated
group that holds an unbounded quantifier or an alternation, or more than
:data:`MAX_UNBOUNDED` unbounded quantifiers) are refused.

This module is pure: no I/O, no clock.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Sequence
from typing import Final

import attrs

__all__ = [
    "CWD_BOUND_HASH_PREFIX",
    "LEGACY_HASH_PREFIX",
    "MAX_SUBJECT",
    "MAX_UNBOUNDED",
    "CompiledArgPattern",
    "arg_pattern_problem",
    "compile_arg_pattern",
    "cwd_bound_arg_pattern",
    "subject_limit",
]

CWD_BOUND_HASH_PREFIX: Final = "sha256:cwd-argv:v1:"
"""The argPattern of an allow-always grant: exact arguments in one working directory."""
LEGACY_HASH_PREFIX: Final = "sha256:argv:"
"""An older hashed argPattern; OpenClaw 2026.9.6 treats it as inactive (never matches)."""
MAX_SUBJECT: Final = 4096
"""Arguments joined longer than this (in UTF-16 code units) never match a regex argPattern."""
MAX_UNBOUNDED: Final = 3
"""Most unbounded quantifiers (``*``, ``+``, ``{n,}``, ``{n,m}`` with m > 32) per argPattern."""
_MAX_COUNT = 1000  # largest {n,m} bound accepted
_WIDE = 32  # a {n,m} bound above this costs like an unbounded quantifier
_MIN_LIMIT = 32  # a pattern that cannot afford even this subject length is refused
# Backtracking tries every start of the subject and, at each, up to (reach + 1) choices per
# quantifier: n * prod(min(high, n) + 1) steps. The subject is capped to keep that near
# this budget (about 0.2 s of Python's re in the worst case measured).
_STEP_BUDGET = 20_000_000


def subject_limit(highs: Sequence[int | None]) -> int:
    """
    The longest subject a pattern is tested against.

    *highs* are its quantifiers' upper bounds (``None`` for unbounded); the answer is the
    largest ``n <= MAX_SUBJECT`` whose worst case stays within the step budget.
    """

    def cost(n: int) -> int:
        total = n
        for high in highs:
            total *= min(n if high is None else high, n) + 1
            if total > _STEP_BUDGET:
                break
        return total

    low, high = 0, MAX_SUBJECT
    while low < high:
        mid = (low + high + 1) // 2
        if cost(mid) <= _STEP_BUDGET:
            low = mid
        else:
            high = mid - 1
    return low


_JS_SPACE = (
    "\\t\\n\\x0b\\x0c\\r \\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"
)
_JS_DOT = "[^\\n\\r\\u2028\\u2029]"  # '.' without the s flag stops at line terminators
_HEX = frozenset("0123456789abcdefABCDEF")
_SURROGATES = re.compile("[\ud800-\udfff]")


class _Invalid(Exception):  # noqa: N818 - internal: not a regular expression at all
    pass


class _Unsupported(Exception):  # noqa: N818 - internal: valid JavaScript, not translatable
    pass


def _utf16(text: str) -> str:
    """*text* with every non-BMP character as its surrogate pair (JavaScript's code units)."""
    if text.isascii() or all(ord(c) <= 0xFFFF for c in text):
        return text
    out: list[str] = []
    for c in text:
        cp = ord(c)
        if cp > 0xFFFF:
            cp -= 0x10000
            out.append(chr(0xD800 + (cp >> 10)))
            out.append(chr(0xDC00 + (cp & 0x3FF)))
        else:
            out.append(c)
    return "".join(out)


class _Translator:
    """A one-pass translation of a flag-less JavaScript pattern into Python syntax."""

    def __init__(self, src: str) -> None:
        self.src = src
        self.i = 0
        self.out: list[str] = []
        self.groups: list[dict[str, bool]] = [{"unbounded": False, "alternation": False}]
        self.unbounded = 0
        self.highs: list[int | None] = []
        # What the last emitted atom was: "atom", "group" (with its facts), "assertion",
        # or None (nothing quantifiable: start, after '(' or '|').
        self.last: str | None = None
        self.last_group: dict[str, bool] | None = None

    def run(self) -> str:
        src = self.src
        while self.i < len(src):
            c = src[self.i]
            if c == "\\":
                self._escape()
            elif c == "[":
                self._class()
            elif c == "(":
                self._open()
            elif c == ")":
                self._close()
            elif c == "|":
                self.groups[-1]["alternation"] = True
                self.out.append("|")
                self.last = None
                self.i += 1
            elif c in "*+?":
                self._quantifier(None if c != "?" else 1, 1)
            elif c == "{":
                self._brace()
            elif c == ".":
                self._atom(_JS_DOT, 1)
            elif c == "^":
                self.out.append("^")
                self.last = "assertion"
                self.i += 1
            elif c == "$":
                self.out.append("\\Z")
                self.last = "assertion"
                self.i += 1
            else:
                self._atom(re.escape(c), 1)
        if len(self.groups) > 1:
            raise _Invalid("unterminated group")
        return "".join(self.out)

    def _atom(self, text: str, width: int) -> None:
        self.out.append(text)
        self.last = "atom"
        self.i += width

    def _escape(self) -> None:
        src = self.src
        if self.i + 1 >= len(src):
            raise _Invalid("\\ at end of pattern")
        c = src[self.i + 1]
        if c in "bB":
            # Python's \B never matches an empty string; JavaScript's does: spell it out.
            self.out.append("\\b" if c == "b" else "(?:(?<=\\w)(?=\\w)|(?<!\\w)(?!\\w))")
            self.last = "assertion"
            self.i += 2
            return
        self._atom(*self._escape_value(c, in_class=False))

    def _escape_value(self, c: str, *, in_class: bool) -> tuple[str, int]:
        """The Python text for the escape of *c* at ``self.i``, and its source width."""
        src = self.src
        i = self.i
        if c in "dDwW":
            return ("\\" + c, 2)  # compiled with re.ASCII: JavaScript's ASCII classes
        if c == "s":
            return ((_JS_SPACE if in_class else f"[{_JS_SPACE}]"), 2)
        if c == "S":
            if in_class:
                raise _Unsupported("\\S inside a character class")
            return (f"[^{_JS_SPACE}]", 2)
        if c in "nrtfv":
            return ("\\" + c, 2)
        if c == "0":
            if i + 2 < len(src) and src[i + 2].isdigit():
                raise _Unsupported("legacy octal escape")
            return ("\\x00", 2)
        if c.isdigit():
            raise _Unsupported("backreference or octal escape \\" + c)
        if c == "x":
            hexa = src[i + 2 : i + 4]
            if len(hexa) == 2 and set(hexa) <= _HEX:
                return ("\\x" + hexa, 4)
            raise _Unsupported("\\x without two hex digits")
        if c == "u":
            hexa = src[i + 2 : i + 6]
            if len(hexa) == 4 and set(hexa) <= _HEX:
                return ("\\u" + hexa, 6)
            raise _Unsupported("\\u without four hex digits")
        if c.isascii() and c.isalpha():
            raise _Unsupported(f"escape \\{c}")
        return (re.escape(c), 2)

    def _class(self) -> None:
        src = self.src
        j = self.i + 1
        negate = j < len(src) and src[j] == "^"
        if negate:
            j += 1
        if j < len(src) and src[j] == "]":
            raise _Unsupported("empty class [] or [^]")
        # Items: ("char", text, codepoint) or ("set", text, -1); "-" kept as ("dash", "-", 45).
        items: list[tuple[str, str, int]] = []
        while True:
            if j >= len(src):
                raise _Invalid("unterminated character class")
            c = src[j]
            if c == "]":
                j += 1
                break
            if c == "\\":
                if j + 1 >= len(src):
                    raise _Invalid("\\ at end of pattern")
                e = src[j + 1]
                self.i = j
                if e == "b":
                    items.append(("char", "\\x08", 8))
                    j += 2
                    continue
                if e in "dwsDW":
                    text, width = self._escape_value(e, in_class=True)
                    items.append(("set", text, -1))
                    j += width
                    continue
                text, width = self._escape_value(e, in_class=True)
                items.append(("char", text, _escape_codepoint(e, src[j + 2 : j + width])))
                j += width
                continue
            if c == "-":
                items.append(("dash", "\\-", ord("-")))
            else:
                items.append(("char", re.escape(c), ord(c)))
            j += 1
        parts: list[str] = []
        k = 0
        while k < len(items):
            kind, text, code = items[k]
            if k + 2 < len(items) and items[k + 1][0] == "dash":
                hi_kind, hi_text, hi_code = items[k + 2]
                if kind == "set" or hi_kind == "set":
                    # JavaScript reads [\d-z] as three items, Python refuses it.
                    raise _Unsupported("class escape as a range end")
                if code > hi_code:
                    raise _Invalid("range out of order in character class")
                parts.append(f"{text}-{hi_text}")
                k += 3
                continue
            parts.append(text)
            k += 1
        self.out.append("[" + ("^" if negate else "") + "".join(parts) + "]")
        self.last = "atom"
        self.i = j

    def _open(self) -> None:
        src = self.src
        if src.startswith("(?", self.i):
            for opener in ("(?:", "(?=", "(?!", "(?<=", "(?<!"):
                if src.startswith(opener, self.i):
                    break
            else:
                if src.startswith("(?<", self.i):
                    raise _Unsupported("named group")
                raise _Invalid("invalid group")
            self.out.append(opener)
            self.i += len(opener)
            kind = "look" if opener != "(?:" else "group"
        else:
            self.out.append("(")
            self.i += 1
            kind = "group"
        self.groups.append({"unbounded": False, "alternation": False, "look": kind == "look"})
        self.last = None

    def _close(self) -> None:
        if len(self.groups) == 1:
            raise _Invalid("unmatched ')'")
        facts = self.groups.pop()
        parent = self.groups[-1]
        parent["unbounded"] = parent["unbounded"] or facts["unbounded"]
        self.out.append(")")
        self.i += 1
        if facts.get("look"):
            self.last = "assertion"
            self.last_group = None
        else:
            self.last = "group"
            self.last_group = facts

    def _brace(self) -> None:
        m = re.compile(r"\{(\d+)(,(\d*))?\}").match(self.src, self.i)
        if m is None:
            if self.src.startswith("{,", self.i):
                raise _Unsupported("'{,' (Python reads it as a quantifier)")
            self._atom("\\{", 1)
            return
        low = int(m.group(1))
        high: int | None = low if m.group(2) is None else (int(m.group(3)) if m.group(3) else None)
        if high is not None and high < low:
            raise _Invalid("numbers out of order in {} quantifier")
        if max(low, high or 0) > _MAX_COUNT:
            raise _Unsupported(f"quantifier bound above {_MAX_COUNT}")
        self._quantifier(high, len(m.group(0)))

    def _quantifier(self, high: int | None, width: int) -> None:
        if self.last == "quantified":
            raise _Invalid("nothing to repeat")
        if self.last is None or self.last == "assertion":
            # JavaScript refuses "nothing to repeat" and quantified ^ $ \b; it accepts a
            # quantified lookahead, which Python does not: refuse both.
            raise _Unsupported("quantifier without something to repeat")
        src = self.src
        j = self.i + width
        lazy = j < len(src) and src[j] == "?"
        if lazy:
            j += 1
        repeats = high is None or high > 1
        group = self.last_group if self.last == "group" else None
        if repeats and group is not None and (group["unbounded"] or group["alternation"]):
            raise _Unsupported(
                "a repeated group holding an unbounded quantifier or an alternation"
                " (catastrophic backtracking)"
            )
        self.highs.append(high)
        if high is None or high > _WIDE:
            self.unbounded += 1
            self.groups[-1]["unbounded"] = True
            if self.unbounded > MAX_UNBOUNDED:
                raise _Unsupported(f"more than {MAX_UNBOUNDED} unbounded quantifiers")
        self.out.append(src[self.i : j])
        self.i = j
        self.last = "quantified"


def _escape_codepoint(e: str, tail: str) -> int:
    if e in {"x", "u"}:
        return int(tail, 16)
    simple = {"n": 10, "r": 13, "t": 9, "f": 12, "v": 11, "0": 0}
    return simple.get(e, ord(e))


@attrs.frozen
class CompiledArgPattern:
    """
    One argPattern, compiled once.

    Attributes:
        source: The argPattern as written.
        kind: ``"regex"``, ``"cwd-hash"`` (an allow-always grant), ``"legacy-hash"``
            (inactive) or ``"invalid"`` (never matches; see :attr:`problem`).
        nul_joined: The subject is every argument followed by NUL (the pattern holds NUL).
        problem: Why an ``"invalid"`` pattern never matches.
    """

    source: str
    kind: str
    nul_joined: bool = False
    problem: str | None = None
    max_subject: int = MAX_SUBJECT
    _regex: re.Pattern[str] | None = attrs.field(default=None, eq=False, repr=False, alias="regex")

    def subject(self, argv: Sequence[str]) -> str:
        """The text a regex argPattern is tested against (``argv[0]`` is left out)."""
        args = list(argv[1:])
        if self.nul_joined:
            return "\0".join(args) + "\0" if args else "\0\0"
        return " ".join(args)

    def matches(self, argv: Sequence[str]) -> bool:
        """Whether a regex argPattern matches *argv* (hashed and invalid ones never do)."""
        if self.kind != "regex" or self._regex is None:
            return False
        subject = _utf16(self.subject(argv))
        if len(subject) > self.max_subject:
            return False
        return self._regex.search(subject) is not None


@functools.lru_cache(maxsize=1024)
def compile_arg_pattern(pattern: str) -> CompiledArgPattern:
    """Compile an argPattern (cached); never raises."""
    if pattern.startswith(LEGACY_HASH_PREFIX):
        return CompiledArgPattern(
            source=pattern, kind="legacy-hash", problem="legacy sha256:argv: grants are inactive"
        )
    if pattern.startswith(CWD_BOUND_HASH_PREFIX):
        return CompiledArgPattern(source=pattern, kind="cwd-hash")
    try:
        translator = _Translator(_utf16(pattern))
        text = translator.run()
        limit = subject_limit(translator.highs)
        regex = re.compile(text, re.ASCII)
    except _Invalid as exc:
        return _invalid(pattern, f"not a valid regular expression ({exc})")
    except _Unsupported as exc:
        return _invalid(pattern, f"not supported ({exc})")
    except re.error as exc:
        return _invalid(pattern, f"not supported ({exc.msg})")
    except (RecursionError, OverflowError, ValueError) as exc:
        return _invalid(pattern, f"not supported ({type(exc).__name__})")
    if limit < _MIN_LIMIT:
        return _invalid(pattern, "not supported (its quantifiers can backtrack too far)")
    return CompiledArgPattern(
        source=pattern,
        kind="regex",
        nul_joined="\0" in pattern,
        max_subject=limit,
        regex=regex,
    )


def _invalid(pattern: str, problem: str) -> CompiledArgPattern:
    return CompiledArgPattern(source=pattern, kind="invalid", problem=problem)


def arg_pattern_problem(pattern: str) -> str | None:
    """Why *pattern* may not be written as an argPattern, or ``None`` when it may."""
    found = compile_arg_pattern(pattern)
    if found.kind == "legacy-hash":
        return "a legacy sha256:argv: pattern never matches (OpenClaw 2026.9.6 ignores it)"
    return found.problem


def _js_normalize(path: str) -> str:
    """Node's ``path.posix.normalize`` (keeps a trailing slash, collapses a leading ``//``)."""
    if not path:
        return "."
    absolute = path.startswith("/")
    trailing = path.endswith("/")
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not absolute:
                parts.append("..")
            continue
        parts.append(part)
    joined = "/".join(parts)
    if not joined and not absolute:
        joined = "."
    if joined and trailing:
        joined += "/"
    return ("/" + joined) if absolute else joined


def _utf8(text: str) -> bytes:
    return _SURROGATES.sub("\ufffd", text).encode("utf-8")


def cwd_bound_arg_pattern(argv: Sequence[str], cwd: str) -> str:
    """
    The argPattern an allow-always grant stores: the folder and exact arguments, hashed.

    SHA-256 of the working folder and ``argv[1:]``, equal to OpenClaw 2026.9.6's
    ``buildCwdBoundHashedArgPattern`` (so OpenClaw honours the grants this library writes).
    """
    folder = _utf8(_js_normalize(cwd))
    args = [_utf8(a) for a in argv[1:]]
    subject = b"%d\0%s\0%d\0" % (len(folder), folder, len(args))
    subject += b"".join(b"%d\0%s\0" % (len(a), a) for a in args)
    return CWD_BOUND_HASH_PREFIX + hashlib.sha256(subject).hexdigest()
