"""
Reading sed and awk programs for commands that run programs or write files.

Both readers fail closed: a program they cannot read to the end is reported as such (the
row fires), so a construct they do not know cannot hide a command behind it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

__all__ = ["awk_program_hits", "sed_script_hits"]

Hit = tuple[str, str]
_HARMLESS_OUTPUTS = frozenset({"/dev/stdout", "/dev/stderr"})


class _Unreadable(Exception):  # noqa: N818 - internal control flow
    pass


# --------------------------------------------------------------------------- sed

_SED_NO_ARGS = frozenset("=dDgGhHnNpPxzF")
_SED_NUMBER_ARG = frozenset("qQlL")
_SED_LABEL = frozenset(":btT")
_SED_TEXT = frozenset("aic")


def sed_script_hits(script: str) -> Iterator[Hit]:
    """``(row key, detail)`` for ``e``, ``w``/``W``, ``s///e`` and ``s///w`` in a GNU sed script."""
    try:
        yield from _SedReader(script).commands()
    except _Unreadable as why:
        yield "<script not understood>", f"{why}: {script[:60]!r}"


class _SedReader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0

    def peek(self) -> str:
        return self.text[self.i] if self.i < len(self.text) else ""

    def rest_of_line(self) -> str:
        end = self.text.find("\n", self.i)
        end = len(self.text) if end < 0 else end
        out = self.text[self.i : end]
        self.i = end
        return out

    def skip_blanks(self) -> None:
        while self.peek() in (" ", "\t"):
            self.i += 1

    def commands(self) -> Iterator[Hit]:
        while True:
            while self.peek() in (" ", "\t", "\n", ";"):
                self.i += 1
            ch = self.peek()
            if not ch:
                return
            if ch == "#":
                self.rest_of_line()
                continue
            self.address()
            self.skip_blanks()
            while self.peek() == "!":
                self.i += 1
                self.skip_blanks()
            cmd = self.peek()
            self.i += 1
            if cmd in ("{", "}"):
                continue
            if cmd in _SED_NO_ARGS:
                pass
            elif cmd in _SED_NUMBER_ARG:
                self.skip_blanks()
                while self.peek().isdigit():
                    self.i += 1
            elif cmd in _SED_LABEL:
                while self.peek() not in ("", "\n", ";"):
                    self.i += 1
            elif cmd in _SED_TEXT or cmd in ("r", "R", "v"):
                self.rest_of_line()
                continue
            elif cmd in ("w", "W"):
                target = self.rest_of_line().strip()
                if target not in _HARMLESS_OUTPUTS:
                    yield "w FILE", f"{cmd} {target}"
                continue
            elif cmd == "e":
                yield "e COMMAND", f"e {self.rest_of_line().strip()}".strip()
                continue
            elif cmd == "s":
                yield from self.substitute()
            elif cmd == "y":
                delim = self.delimiter()
                self.until(delim)
                self.until(delim)
            else:
                raise _Unreadable(f"unknown command {cmd!r}" if cmd else "missing command")
            self.skip_blanks()
            if self.peek() not in ("", "\n", ";", "}", "#"):
                raise _Unreadable(f"unexpected {self.peek()!r} after a command")

    def address(self) -> None:
        if not self.one_address():
            return
        self.skip_blanks()
        if self.peek() == ",":
            self.i += 1
            self.skip_blanks()
            if self.peek() in ("+", "~"):
                self.i += 1
                self.digits()
            elif not self.one_address():
                raise _Unreadable("missing second address")

    def digits(self) -> bool:
        start = self.i
        while self.peek().isdigit():
            self.i += 1
        return self.i > start

    def one_address(self) -> bool:
        ch = self.peek()
        if ch.isdigit():
            self.digits()
            if self.peek() == "~":
                self.i += 1
                self.digits()
            return True
        if ch == "$":
            self.i += 1
            return True
        if ch in ("/", "\\"):
            self.i += 1
            delim = "/" if ch == "/" else self.delimiter()
            self.until(delim)
            while self.peek() in ("I", "M"):
                self.i += 1
            return True
        return False

    def delimiter(self) -> str:
        ch = self.peek()
        if ch in ("", "\n", "\\"):
            raise _Unreadable("bad delimiter")
        self.i += 1
        return ch

    def until(self, delim: str) -> str:
        out: list[str] = []
        while True:
            ch = self.peek()
            if not ch:
                raise _Unreadable("unterminated regex or replacement")
            self.i += 1
            if ch == "\\":
                nxt = self.peek()
                if not nxt:
                    raise _Unreadable("trailing backslash")
                out.append(ch + nxt)
                self.i += 1
                continue
            if ch == delim:
                return "".join(out)
            if ch == "\n" and delim != "\n":
                raise _Unreadable("newline inside s or y")
            out.append(ch)

    def substitute(self) -> Iterator[Hit]:
        delim = self.delimiter()
        self.until(delim)
        self.until(delim)
        while True:
            ch = self.peek()
            if ch and (ch in "gpiImM" or ch.isdigit()):
                self.i += 1
            elif ch == "e":
                self.i += 1
                yield "s///e", "s command with the e flag"
            elif ch == "w":
                self.i += 1
                target = self.rest_of_line().strip()
                if target not in _HARMLESS_OUTPUTS:
                    yield "s///w FILE", f"s///w {target}"
                return
            else:
                return


# --------------------------------------------------------------------------- awk

_AWK_TOKEN = re.compile(
    r"""
    (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<badstring>")
  | (?P<comment>\#[^\n]*)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<number>[0-9]+(?:\.[0-9]*)?)
  | (?P<op>\|\||\|&|&&|>>|>=|<=|==|!=|\+\+|--|[-+*/%^!<>=~?:,;(){}\[\]$|\n&.@\\])
  | (?P<space>[ \t\r]+)
    """,
    re.VERBOSE | re.DOTALL,
)
# After these, a '/' starts a regex literal; after an operand it divides.
_AWK_KEYWORDS = frozenset({"print", "printf", "return", "in", "case", "do", "else"})
_OPERAND_END = frozenset({"word", "number", "string", "regex", ")", "]", "$", "++", "--"})


def _awk_tokens(program: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    i = 0
    n = len(program)
    last = ""
    while i < n:
        if program[i] == "/" and last not in _OPERAND_END:
            j = i + 1
            in_bracket = False
            while j < n:
                ch = program[j]
                if ch == "\\":
                    j += 2
                    continue
                if ch == "\n":
                    break
                if ch == "[":
                    in_bracket = True
                elif ch == "]":
                    in_bracket = False
                elif ch == "/" and not in_bracket:
                    break
                j += 1
            if j >= n or program[j] != "/":
                raise _Unreadable("unterminated regex")
            tokens.append(("regex", program[i : j + 1]))
            last = "regex"
            i = j + 1
            continue
        m = _AWK_TOKEN.match(program, i)
        if m is None:
            raise _Unreadable(f"unexpected {program[i]!r}")
        kind = m.lastgroup or ""
        text = m.group()
        i = m.end()
        if kind in ("space", "comment"):
            continue
        if kind == "badstring":
            raise _Unreadable("unterminated string")
        if kind == "op":
            kind = text
        tokens.append((kind, text))
        # After a keyword that takes an expression, '/' starts a regex, not a division.
        last = "keyword" if kind == "word" and text in _AWK_KEYWORDS else kind
    return tokens


def awk_program_hits(program: str) -> Iterator[Hit]:
    """``(row key, detail)`` for ``system()``, pipes, output redirections and ``@include``."""
    try:
        tokens = _awk_tokens(program)
    except _Unreadable as why:
        yield "<program not understood>", f"{why}: {program[:60]!r}"
        return
    in_print = False
    depth = 0
    for index, (kind, text) in enumerate(tokens):
        if kind == "word" and text == "system":
            yield "system()", "system(...)"
        elif kind in ("|", "|&"):
            yield "| command (pipes to or from a program)", text
        elif kind == "@":
            yield (
                "@include / @load",
                "@" + (tokens[index + 1][1] if index + 1 < len(tokens) else ""),
            )
        elif kind == "word" and text in ("print", "printf"):
            in_print, depth = True, 0
        elif in_print:
            if kind in ("(", "["):
                depth += 1
            elif kind in (")", "]"):
                depth -= 1
            elif kind in (";", "\n", "}", "{") and depth <= 0:
                in_print = False
            elif kind in (">", ">>") and depth <= 0:
                target = tokens[index + 1] if index + 1 < len(tokens) else ("", "")
                if not (target[0] == "string" and target[1][1:-1] in _HARMLESS_OUTPUTS):
                    yield "print > FILE", f"{text} {target[1]}".strip()
