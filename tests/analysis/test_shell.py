from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openclaw_exec.analysis import MAX_COMMAND_CHARS, parse_shell_command


def argvs(text: str) -> list[list[tuple[str, ...]]]:
    parsed = parse_shell_command(text)
    assert parsed.ok, parsed.failure
    return [[s.argv for s in part.segments] for part in parsed.parts]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ls", [[("ls",)]]),
        ("ls -la  'a b' \"c d\"", [[("ls", "-la", "a b", "c d")]]),
        ("a | b | c", [[("a",), ("b",), ("c",)]]),
        ("a && b || c ; d", [[("a",)], [("b",)], [("c",)], [("d",)]]),
        ("l's'\"x\"y", [[("lsxy",)]]),
        ("ls my\\file \\*", [[("ls", "myfile", "*")]]),
        ('echo "a\\$b \\" \\\\ \\x"', [[("echo", 'a$b " \\ \\x')]]),
        ("echo '$HOME `x` *'", [[("echo", "$HOME `x` *")]]),
        ("git log HEAD~1 a=b x:y", [[("git", "log", "HEAD~1", "a=b", "x:y")]]),
        ("  ls\t-l  ", [[("ls", "-l")]]),
        ("ls 1 -2", [[("ls", "1", "-2")]]),
    ],
)
def test_accepted_shapes(text: str, expected: list[list[tuple[str, ...]]]) -> None:
    assert argvs(text) == expected


def test_chain_operators_are_recorded() -> None:
    parsed = parse_shell_command("a && b | c || d ; e")
    assert [p.op_to_next for p in parsed.parts] == ["&&", "||", ";", None]
    assert [len(p.segments) for p in parsed.parts] == [1, 2, 1, 1]


def test_assignments_are_parsed_separately() -> None:
    parsed = parse_shell_command("A=1 B='x y' C= ls -l")
    (seg,) = parsed.segments
    assert seg.assignments == (("A", "1"), ("B", "x y"), ("C", ""))
    assert seg.argv == ("ls", "-l")


@pytest.mark.parametrize(
    ("text", "construct", "position"),
    [
        ("ls $(id)", "command substitution", 3),
        ('ls "$(id)"', "command substitution", 4),
        ("ls `id`", "command substitution", 3),
        ('ls "`id`"', "command substitution", 4),
        ("ls <(id)", "process substitution", 3),
        ("echo $HOME", "parameter expansion", 5),
        ("echo ${HOME}", "parameter expansion", 5),
        ('echo "$HOME"', "parameter expansion", 6),
        ("echo $((1+1))", "arithmetic expansion", 5),
        ("ls > x", "redirection", 0),
        ("ls 2>/dev/null", "redirection", 0),
        ("cat <<< x", "here-string", 4),
        ("(ls)", "subshell", 0),
        ("{ ls; }", "command group { ... }", 0),
        ("f() { ls; }", "function definition", 0),
        ("if ls; then ls; fi", "if statement", 0),
        ("for i in a; do ls; done", "for loop", 0),
        ("while ls; do ls; done", "while loop", 0),
        ("[[ -f x ]]", "test command [[ ... ]]", 0),
        ("! ls", "negation !", 0),
        ("ls &", "background operator &", 3),
        ("a |& b", "pipe operator |&", 2),
        ("ls *.py", "glob character '*'", 3),
        ("ls a?", "glob character '?'", 4),
        ("ls ~", "tilde expansion", 3),
        ("x=~ ls", "tilde expansion", 2),
        ("ls # c", "comment", 3),
        ("ls \\ x", "escaped blank or line continuation", 3),
        ("ls a\\ b", "escaped blank", 4),
        ("echo $'x'", "ANSI-C quoting $'...'", 5),
        ("eval ls", "shell builtin 'eval'", 0),
        ("a && source x", "shell builtin 'source'", 5),
        ("ls;", "empty chain part after ';'", 3),
        ("ls\nls", "newline", 2),
        ("ls\\\n-l", "line continuation", 3),
        ("ls\r", "carriage return", 2),
        ("ls\x00", "NUL byte", 2),
        ("ls\u200b", "control or invisible character U+200B", 2),
        ("x=1", "assignment without a command", 0),
        ("", "empty command", 0),
        ("  ", "empty command", 0),
        ("é $(x)", "command substitution", 2),
    ],
)
def test_failures_name_the_construct_and_position(text: str, construct: str, position: int) -> None:
    parsed = parse_shell_command(text)
    assert not parsed.ok
    assert parsed.failure is not None
    assert parsed.failure.construct == construct
    assert parsed.failure.position == position
    assert f"at position {position}" in parsed.failure.message
    assert parsed.parts == ()


def test_heredoc_is_flagged() -> None:
    parsed = parse_shell_command("cat <<EOF\nx\nEOF")
    assert parsed.heredoc
    assert parsed.failure is not None
    assert parsed.failure.construct == "heredoc"


def test_length_and_operator_caps() -> None:
    too_long = parse_shell_command("a" * (MAX_COMMAND_CHARS + 1))
    assert too_long.failure is not None
    assert "longer than" in too_long.failure.construct
    pipes = parse_shell_command("a|" * 600 + "a")
    assert pipes.failure is not None
    assert "operator characters" in pipes.failure.construct
    assert parse_shell_command("a|" * 100 + "a").ok


def test_lone_surrogates_do_not_raise() -> None:
    parsed = parse_shell_command("ls \ud800")
    assert not parsed.ok


# The parser runs tree-sitter on the text terminated by a newline (much faster on
# pipelines); the reference is the text parsed exactly as written.
_PIECES = (
    "a",
    "ls",
    " ",
    "\t",
    "|",
    " | ",
    "||",
    "&&",
    ";",
    "; ",
    "&",
    "'q r'",
    '"d e"',
    '"$x"',
    "\\",
    "\\ ",
    "$",
    "$(b)",
    "`c`",
    "#",
    " #c",
    "<<EOF",
    ">",
    "<",
    "(",
    ")",
    "{",
    "}",
    "=",
    "X=1 ",
    "~",
    "*",
    "-n",
    "é",
    "'",
    '"',
    "!",
    "[[",
    "]]",
    "if",
    "then",
    "fi",
)


def _same(text: str) -> None:
    from openclaw_exec.analysis._shell import (  # noqa: PLC0415
        _FORBIDDEN_CHARS,
        _parse_as_written,
    )

    parsed = parse_shell_command(text)
    if _FORBIDDEN_CHARS.search(text) or not text.strip(" \t") or len(text) > 512:
        return  # refused before tree-sitter runs, the same way on both paths
    src = text.encode("utf-8")
    assert parsed == _parse_as_written(src, ascii_only=len(src) == len(text))


@settings(max_examples=500)
@given(st.lists(st.sampled_from(_PIECES), min_size=1, max_size=12))
def test_terminated_parse_agrees_with_parse_as_written(pieces: list[str]) -> None:
    _same("".join(pieces))


@pytest.mark.parametrize("stages", [2, 3, 4, 8])
def test_long_pipelines_parse_as_written(stages: int) -> None:
    text = " | ".join(f"cmd{i} -x 'a b'" for i in range(stages))
    _same(text)
    parsed = parse_shell_command(text)
    assert parsed.ok
    assert [s.argv for s in parsed.segments] == [(f"cmd{i}", "-x", "a b") for i in range(stages)]


def test_corpus_parses_as_written() -> None:
    from _corpus import all_commands  # noqa: PLC0415

    for text in all_commands():
        if "\n" not in text and "\r" not in text:
            _same(text)
