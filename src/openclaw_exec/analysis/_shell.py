"""
Shell text to segments: a tree-sitter-bash walk over an explicit whitelist of node kinds.

Theory of operation. tree-sitter gives a concrete syntax tree; we accept only the
shapes listed here and fail closed on everything else:

* ``program`` holding statements separated by ``;`` (no trailing ``;``, no ``&``);
* ``list`` (``&&`` / ``||``) and ``pipeline`` (``|``, not ``|&``);
* ``command`` = leading ``variable_assignment`` nodes, a ``command_name`` and arguments;
* arguments are ``word``, ``number``, ``string`` (double quotes with plain content only),
  ``raw_string`` (single quotes) and ``concatenation`` of those.

Every leaf is decoded again from its source bytes by our own strict decoder (tree-sitter
is a parser for editors: it tolerates things bash reads differently), and every byte
between two accepted nodes must be a space or a tab. Expansions, substitutions,
redirections, heredocs, globs, brace and tilde expansion, line continuations, comments,
control characters and anything unknown fail with a reason naming the construct and
its position (a 0-based character offset into the command text).
"""

from __future__ import annotations

import re
import threading

import attrs
import tree_sitter_bash
from tree_sitter import Language, Node, Parser

from openclaw_exec._values import positional_maker
from openclaw_exec.analysis._builtins import check_builtin
from openclaw_exec.analysis._shell_plain import plain_parts
from openclaw_exec.analysis._shell_prescan import substitution_refusal
from openclaw_exec.analysis._shell_words import (
    _UNQUOTED_SPECIAL,
    _decode_double,
    _decode_unquoted,
    _Fail,
)

__all__ = [
    "MAX_COMMAND_CHARS",
    "MAX_SHELL_OPERATORS",
    "MAX_SHELL_WORDS",
    "AnalysisFailure",
    "ParsedChainPart",
    "ParsedCommand",
    "ParsedSegment",
    "parse_shell_command",
]

MAX_COMMAND_CHARS = 65_536
"""Longer command texts fail analysis without being parsed (bounded time and memory)."""

MAX_SHELL_OPERATORS = 512
"""
Texts with more of the characters ``| & ; < > ( ) $ ` { }`` fail without being parsed.

tree-sitter's error recovery is super-linear on some shapes (a 4 KB ``a|a|a...`` takes
0.15 s, 64 KB ``x=(x=(...`` minutes); capping the operator count bounds the parse.
"""
_OPERATOR_CHARS = "|&;<>()$`{}"

MAX_SHELL_WORDS = 1024
"""
Texts with more blank-separated words plus quoted strings fail without being parsed.

tree-sitter and the walk cost a few microseconds per node: 32,000 one-letter words take
about 40 ms to parse and 150 ms to walk, so the node count is bounded, not only the
length. Agents' commands hold tens of words; a thousand leaves room for long file lists.
"""

_LANGUAGE = Language(tree_sitter_bash.language())
_LOCAL = threading.local()

# Control characters (except tab), DEL, C1 controls, line/paragraph separators,
# non-ASCII blanks and invisible format characters (zero-width, bidi overrides, BOM):
# tree-sitter and bash may disagree on them, or a human would not see them.
_FORBIDDEN_CHARS = re.compile(
    "[\x00-\x08\x0a-\x1f\x7f-\x9f\u00a0\u00ad\u061c\u1680\u180e\u2000-\u200f"
    "\u2028-\u202f\u205f-\u206f\u3000\ufeff\ufff9-\ufffb]"
)
_CHAR_NAMES = {"\n": "newline", "\r": "carriage return", "\x00": "NUL byte"}

_ASSIGNMENT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

# Node kinds that fail analysis, with the words used in the reason.
_CONSTRUCT_NAMES = {
    "command_substitution": "command substitution",
    "process_substitution": "process substitution",
    "expansion": "parameter expansion",
    "simple_expansion": "parameter expansion",
    "arithmetic_expansion": "arithmetic expansion",
    "brace_expression": "brace expansion",
    "ansi_c_string": "ANSI-C quoting $'...'",
    "translated_string": 'locale quoting $"..."',
    "redirected_statement": "redirection",
    "file_redirect": "redirection",
    "herestring_redirect": "here-string",
    "heredoc_redirect": "heredoc",
    "subshell": "subshell",
    "compound_statement": "command group { ... }",
    "function_definition": "function definition",
    "if_statement": "if statement",
    "while_statement": "while loop",
    "for_statement": "for loop",
    "c_style_for_statement": "for loop",
    "case_statement": "case statement",
    "test_command": "test command [[ ... ]]",
    "negated_command": "negation !",
    "declaration_command": "declaration builtin",
    "unset_command": "unset builtin",
    "variable_assignment": "assignment without a command",
    "variable_assignments": "assignment without a command",
    "comment": "comment",
    "array": "array assignment",
    "ERROR": "syntax error",
    "&": "background operator &",
    "|&": "pipe operator |&",
    ";;": "case terminator ;;",
    "$": "dollar sign",
}

# Builtins are data in _builtins.py: a command word that names a builtin which evaluates
# text, changes lookup or assigns to names (or a shaped builtin in a shape not proven
# harmless, ``printf -v``) fails analysis even though it looks like a plain command.


@attrs.frozen
class AnalysisFailure:
    """
    Why a command could not be analysed.

    Attributes:
        construct: The construct that is not accepted, in words (``"redirection"``).
        position: 0-based character offset of the construct in the analysed text.
        message: A one-line human explanation including construct and position.
    """

    construct: str
    position: int
    message: str


@attrs.frozen
class ParsedSegment:
    """
    One simple command as parsed from shell text.

    Attributes:
        argv: The decoded words, ``argv[0]`` being the command as typed.
        assignments: Leading ``NAME=value`` pairs.
        raw: The source text of the segment.
        position: 0-based character offset of the segment in the analysed text.
    """

    argv: tuple[str, ...]
    assignments: tuple[tuple[str, str], ...]
    raw: str
    position: int


@attrs.frozen
class ParsedChainPart:
    """
    A pipeline and the chain operator that follows it (``None`` for the last part).

    Attributes:
        segments: The pipeline's simple commands, left to right.
        op_to_next: ``"&&"``, ``"||"``, ``";"`` or ``None``.
    """

    segments: tuple[ParsedSegment, ...]
    op_to_next: str | None


@attrs.frozen
class ParsedCommand:
    """
    The outcome of parsing a command line: chain parts, or a failure.

    Attributes:
        parts: The chain parts (empty on failure).
        failure: ``None`` when the text was fully understood.
        heredoc: Whether the text contains a heredoc (a "must ask" trigger).
    """

    parts: tuple[ParsedChainPart, ...]
    failure: AnalysisFailure | None
    heredoc: bool = False

    @property
    def ok(self) -> bool:
        """Whether the command was fully understood."""
        return self.failure is None

    @property
    def segments(self) -> tuple[ParsedSegment, ...]:
        """Every segment of every chain part, in order."""
        return tuple(seg for part in self.parts for seg in part.segments)


def _parser() -> Parser:
    parser: Parser | None = getattr(_LOCAL, "parser", None)
    if parser is None:
        parser = Parser(_LANGUAGE)
        _LOCAL.parser = parser
    return parser


def _failure(src: bytes | None, construct: str, pos: int, *, is_byte: bool) -> ParsedCommand:
    char_pos = len(src[:pos].decode("utf-8", "replace")) if (is_byte and src is not None) else pos
    message = f"{construct} at position {char_pos}"
    # Every refused command ends here: the makers skip the frozen __init__ (no validators).
    return _make_parsed((), _make_failure(construct, char_pos, message), construct == "heredoc")


_make_failure = positional_maker(AnalysisFailure)
_make_parsed = positional_maker(ParsedCommand)


def parse_shell_command(text: str) -> ParsedCommand:
    """
    Parse *text* as a POSIX shell command line into chain parts of pipelines.

    Never raises for any string: everything not understood becomes a failure value.

    Args:
        text: The command line.

    Returns:
        The parsed command; check :attr:`ParsedCommand.ok`.
    """
    return _to_parsed(*parse_raw(text))


RawSegment = tuple[tuple[str, ...], tuple[tuple[str, str], ...], str, int]
"""A :class:`ParsedSegment` as a plain tuple: argv, assignments, raw, position."""
RawParts = list[tuple[list[RawSegment], str | None]]
"""Chain parts as plain lists: the segments of each pipeline and the operator after it."""


def parse_raw(text: str) -> tuple[RawParts, ParsedCommand | None]:
    """
    :func:`parse_shell_command` for the evaluation hot path: plain tuples, no values.

    Returns:
        ``(parts, None)`` when *text* was fully understood, else ``([], failed)`` with
        the failed :class:`ParsedCommand`.
    """
    if len(text) > MAX_COMMAND_CHARS:
        return [], _failure(
            None,
            f"command longer than {MAX_COMMAND_CHARS} characters",
            MAX_COMMAND_CHARS,
            is_byte=False,
        )
    if len(text) > MAX_SHELL_OPERATORS and (
        sum(text.count(ch) for ch in _OPERATOR_CHARS) > MAX_SHELL_OPERATORS
    ):
        return [], _failure(
            None, f"more than {MAX_SHELL_OPERATORS} shell operator characters", 0, is_byte=False
        )
    if len(text) > MAX_SHELL_WORDS and (
        len(text.split(None, MAX_SHELL_WORDS)) + (text.count("'") + text.count('"')) // 2
        > MAX_SHELL_WORDS
    ):
        return [], _failure(
            None, f"more than {MAX_SHELL_WORDS} words and quoted strings", 0, is_byte=False
        )
    bad = _FORBIDDEN_CHARS.search(text)
    if bad is not None:
        ch = bad.group()
        name = _CHAR_NAMES.get(ch, f"control or invisible character U+{ord(ch):04X}")
        if ch == "\n" and text.rfind("\\", 0, bad.start()) == bad.start() - 1 and bad.start() > 0:
            name = "line continuation"
        elif ch == "\n" and "<<" in text[: bad.start()]:
            name = "heredoc"
        return [], _failure(None, name, bad.start(), is_byte=False)
    try:
        src = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return [], _failure(None, "text that is not valid Unicode", exc.start, is_byte=False)
    if not src.strip(b" \t"):
        return [], _failure(None, "empty command", 0, is_byte=False)
    ascii_only = len(src) == len(text)
    if "$(" in text:
        # The commonest refusal, reached exactly without a parse (see _shell_prescan).
        at = substitution_refusal(text)
        if at >= 0:
            return [], _failure(None, "command substitution", at, is_byte=False)
    elif ascii_only:
        # Plain words, quotes and operators: the walk's answer without tree-sitter.
        plain = plain_parts(text)
        if plain is not None:
            return plain, None
    # tree-sitter-bash is slow on an unterminated pipeline of three or more commands at
    # the end of the input (a | b | c: 80 us, 10x the same text with a newline; it grows
    # with every stage). The text cannot contain a newline (refused above), so a text
    # that may hold such a pipeline (two or more '|') is parsed terminated by one: the
    # walker still reads only the original bytes, every node must end inside them, and
    # every byte of them must be accounted for. Anything the walker does not accept is
    # parsed again exactly as written, so failures (construct and position) are reported
    # from the text itself. Any other text is parsed once, as written (as fast or faster,
    # and a refused command is not parsed twice).
    if src.count(b"|") < 2:
        return _raw_as_written(src, ascii_only=ascii_only)
    try:
        parts = _Walker(src, ascii_only=ascii_only).program(_parser().parse(src + b"\n").root_node)
    except (_Fail, RecursionError):
        return _raw_as_written(src, ascii_only=ascii_only)
    return parts, None


def _raw_as_written(src: bytes, *, ascii_only: bool) -> tuple[RawParts, ParsedCommand | None]:
    tree = _parser().parse(src)
    root = tree.root_node
    try:
        parts = _Walker(src, ascii_only=ascii_only).program(root)
    except _Fail as fail:
        return [], _failure(src, fail.construct, fail.byte_pos, is_byte=True)
    except RecursionError:
        return [], _failure(None, "nesting too deep", 0, is_byte=False)
    return parts, None


def _parse_as_written(src: bytes, *, ascii_only: bool) -> ParsedCommand:
    """Parse *src* without the terminating newline (also the reference for tests)."""
    return _to_parsed(*_raw_as_written(src, ascii_only=ascii_only))


def _to_parsed(parts: RawParts, failed: ParsedCommand | None) -> ParsedCommand:
    if failed is not None:
        return failed
    return ParsedCommand(
        parts=tuple(
            ParsedChainPart(segments=tuple(ParsedSegment(*seg) for seg in segs), op_to_next=op)
            for segs, op in parts
        ),
        failure=None,
    )


def _kind_name(node: Node) -> str:
    kind = node.type
    if node.is_missing:
        return f"syntax error (missing {kind!r})"
    return _CONSTRUCT_NAMES.get(kind, f"unsupported construct {kind!r}")


class _Walker:
    __slots__ = ("ascii", "src")

    def __init__(self, src: bytes, *, ascii_only: bool) -> None:
        self.src = src
        self.ascii = ascii_only

    def _gap(self, start: int, end: int) -> None:
        if start < end:
            gap = self.src[start:end]
            if gap.strip(b" \t"):
                stripped = gap.lstrip(b" \t")
                offset = start + len(gap) - len(stripped)
                construct = (
                    "escaped blank or line continuation"
                    if stripped[:1] == b"\\"
                    else (f"unexpected text {stripped[:10].decode('utf-8', 'replace')!r}")
                )
                raise _Fail(construct, offset)

    def program(self, node: Node) -> RawParts:
        if node.type != "program":
            raise _Fail(_kind_name(node), node.start_byte)
        expect_statement = True
        cursor = 0
        pending: list[list[RawSegment]] = []
        ops: list[str | None] = []
        src = self.src
        limit = len(src)
        for child in node.children:
            start = child.start_byte
            end = child.end_byte
            if end > limit:  # only possible in a newline-terminated parse
                raise _Fail("text after the end of the command", start)
            if start != cursor and src[cursor:start].strip(b" \t"):
                self._gap(cursor, start)
            cursor = end
            kind = child.type
            if kind == "command" or (child.is_named and kind != "comment"):
                if not expect_statement:
                    raise _Fail("statement without separator", start)
                self._statement(child, pending, ops)
                expect_statement = False
            elif kind == ";" and not expect_statement:
                ops[-1] = ";"
                expect_statement = True
            else:
                raise _Fail(_kind_name(child), start)
        if cursor != limit and src[cursor:limit].strip(b" \t"):
            self._gap(cursor, limit)
        if not pending:
            raise _Fail("empty command", 0)
        if expect_statement:
            raise _Fail("empty chain part after ';'", cursor)
        return list(zip(pending, ops, strict=True))

    def _statement(
        self, node: Node, pending: list[list[RawSegment]], ops: list[str | None]
    ) -> None:
        if node.has_error:
            raise _Fail(_first_error(node), _first_error_pos(node))
        kind = node.type
        if kind == "command":
            pending.append([self._command(node)])
            ops.append(None)
            return
        if kind == "list":
            children = node.children
            if len(children) != 3:
                raise _Fail("malformed list", node.start_byte)
            left, op, right = children
            op_kind = op.type
            if op_kind not in ("&&", "||"):
                raise _Fail(_kind_name(op), op.start_byte)
            src = self.src
            for start, end in ((left.end_byte, op.start_byte), (op.end_byte, right.start_byte)):
                if start != end and src[start:end].strip(b" \t"):
                    self._gap(start, end)
            self._statement(left, pending, ops)
            ops[-1] = op_kind
            if right.type == "list":
                raise _Fail("malformed list", right.start_byte)
            self._statement(right, pending, ops)
            return
        if kind == "pipeline":
            segs: list[RawSegment] = []
            expect_command = True
            src = self.src
            cursor = node.start_byte
            for child in node.children:
                start = child.start_byte
                if start != cursor and src[cursor:start].strip(b" \t"):
                    self._gap(cursor, start)
                cursor = child.end_byte
                child_kind = child.type
                if expect_command and child_kind == "command":
                    segs.append(self._command(child))
                    expect_command = False
                elif not expect_command and child_kind == "|":
                    expect_command = True
                else:
                    raise _Fail(_kind_name(child), start)
            if expect_command or len(segs) < 2:
                raise _Fail("empty pipeline segment", node.end_byte)
            pending.append(segs)
            ops.append(None)
            return
        raise _Fail(_heredoc_or(node), node.start_byte)

    def _command(self, node: Node) -> RawSegment:
        argv: list[str] = []
        assignments: list[tuple[str, str]] = []
        first = cursor = node.start_byte
        seen_name = False
        src = self.src
        for child in node.children:
            start = child.start_byte
            if start != cursor and src[cursor:start].strip(b" \t"):
                self._gap(cursor, start)
            cursor = child.end_byte
            kind = child.type
            if kind == "word" and seen_name and not child.child_count:
                # Fast path for the common plain word.
                text = src[start:cursor].decode("utf-8")
                if _UNQUOTED_SPECIAL.search(text) is None:
                    argv.append(text)
                    continue
                argv.append(_decode_unquoted(src, start, cursor, at_word_start=True))
            elif kind == "command_name" and not seen_name:
                seen_name = True
                inner = child.children
                if len(inner) != 1:
                    raise _Fail("malformed command name", start)
                word = inner[0]
                if word.type == "word" and not word.child_count:
                    # The plain command name: the same fast path as plain arguments.
                    text = src[word.start_byte : word.end_byte].decode("utf-8")
                    if _UNQUOTED_SPECIAL.search(text) is None:
                        argv.append(text)
                        continue
                argv.append(self._argument(word))
            elif kind == "variable_assignment" and not seen_name:
                assignments.append(self._assignment(child))
            elif seen_name:
                argv.append(self._argument(child))
            else:
                raise _Fail(_kind_name(child), start)
        if not argv:
            raise _Fail("assignment without a command", first)
        builtin = check_builtin(argv)
        if builtin is not None and builtin.fails_analysis:
            raise _Fail(builtin.reason, first)
        raw = src[first : node.end_byte].decode("utf-8")
        position = first if self.ascii else len(src[:first].decode("utf-8"))
        return (tuple(argv), tuple(assignments), raw, position)

    def _assignment(self, node: Node) -> tuple[str, str]:
        children = node.children
        if len(children) not in (2, 3) or children[1].type != "=":
            raise _Fail(
                "append assignment +="
                if len(children) > 1 and children[1].type == "+="
                else "malformed assignment",
                node.start_byte,
            )
        name_node = children[0]
        name = self.src[name_node.start_byte : name_node.end_byte].decode("utf-8")
        if name_node.type != "variable_name" or not _ASSIGNMENT_NAME.match(name):
            raise _Fail("malformed assignment", node.start_byte)
        if name_node.end_byte != children[1].start_byte:
            raise _Fail("malformed assignment", node.start_byte)
        if len(children) == 2:
            if children[1].end_byte != node.end_byte:
                raise _Fail("malformed assignment", node.start_byte)
            return name, ""
        value_node = children[2]
        if value_node.start_byte != children[1].end_byte or value_node.end_byte != node.end_byte:
            raise _Fail("malformed assignment", node.start_byte)
        return name, self._argument(value_node)

    def _argument(self, node: Node) -> str:
        kind = node.type
        if kind == "concatenation":
            out: list[str] = []
            cursor = node.start_byte
            first = True
            for child in node.children:
                if child.start_byte != cursor:
                    raise _Fail("escaped blank or line continuation", cursor)
                cursor = child.end_byte
                out.append(self._piece(child, at_word_start=first))
                first = False
            if cursor != node.end_byte:
                raise _Fail("unexpected text", cursor)
            return "".join(out)
        return self._piece(node, at_word_start=True)

    def _piece(self, node: Node, *, at_word_start: bool) -> str:
        kind = node.type
        start, end = node.start_byte, node.end_byte
        if kind in ("word", "number"):
            if node.child_count:
                raise _Fail(_kind_name(node.children[0]), node.children[0].start_byte)
            return _decode_unquoted(self.src, start, end, at_word_start=at_word_start)
        if kind == "raw_string":
            text = self.src[start:end]
            if len(text) < 2 or text[:1] != b"'" or text[-1:] != b"'" or b"'" in text[1:-1]:
                raise _Fail("malformed single-quoted string", start)
            return text[1:-1].decode("utf-8")
        if kind == "string":
            for child in node.children:
                if child.type not in ('"', "string_content"):
                    raise _Fail(_kind_name(child), child.start_byte)
            return _decode_double(self.src, start, end)
        raise _Fail(_kind_name(node), start)


def _first_error(node: Node) -> str:
    found = _find_error(node)
    if found is None:
        return "syntax error"
    return _kind_name(found)


def _first_error_pos(node: Node) -> int:
    found = _find_error(node)
    return node.start_byte if found is None else found.start_byte


def _find_error(node: Node) -> Node | None:
    if node.type == "ERROR" or node.is_missing:
        return node
    for child in node.children:
        if child.has_error or child.is_missing or child.type == "ERROR":
            found = _find_error(child)
            if found is not None:
                return found
    return None


def _heredoc_or(node: Node) -> str:
    stack = [node]
    budget = 10_000
    while stack and budget:
        budget -= 1
        current = stack.pop()
        if current.type == "heredoc_redirect":
            return "heredoc"
        stack.extend(current.children)
    return _kind_name(node)
