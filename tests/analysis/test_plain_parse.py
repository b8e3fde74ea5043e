"""
Plain command lines split without tree-sitter give exactly the full walk's parts.

``parse_raw`` answers plain texts (words, plain quotes, ``&& || | ;``) with
``_shell_plain.plain_parts`` instead of parsing them; these tests run every text through
both paths (the fast paths switched off for the reference) and compare the parts and the
whole :class:`Evaluation`. The texts are token sequences around the accepted shape
(keywords, assignments of every form, builtins that fail analysis, quotes with and
without expansions, concatenations, every operator and redirection, blanks or none),
random texts, the corpus and the shared harness mix.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

import pytest
from _corpus import HAND_WRITTEN, generated_commands
from hypothesis import event, given, settings
from hypothesis import strategies as st

from openclaw_exec.analysis import Evaluation, _shell, evaluate_command
from openclaw_exec.analysis._shell_plain import _bare_parts, _quoted_parts, plain_parts
from openclaw_exec.policy import AllowlistEntry

_PLAIN_WORDS = (
    "ls",
    "-la",
    "git",
    "status",
    "rg",
    "-n",
    "5",
    "20",
    "x.y",
    "a/b",
    "/tmp/x",
    "a,b",
    "@x",
    "%1",
    "+x",
    "a:b",
    "a=b",
    "--x=1",
    "-",
    "--",
    ".",
    "..",
    "n5",
    "0x1f",
    "1e5",
    "'a b'",
    "''",
    '"c d"',
    '""',
    "'a;b|c&&d'",
    '"x!y"',
    "'$x'",
    "FOO=bar",
    "A=1",
    "A=b=c",
    "A='x y'",
    'A="q"',
)
_OTHER_WORDS = (
    "if",
    "then",
    "fi",
    "done",
    "in",
    "do",
    "time",
    "coproc",
    "export",
    "declare",
    "local",
    "unset",
    "function",
    "select",
    "case",
    "esac",
    "end",
    "!",
    "{",
    "}",
    "[[",
    "]]",
    "((",
    "eval",
    "exec",
    "command",
    "builtin",
    "source",
    "printf",
    "-v",
    "cd",
    "alias",
    "set",
    "trap",
    "A+=1",
    "A=",
    "=x",
    "1A=b",
    "A=~x",
    "a~",
    "~",
    "~/x",
    "*",
    "a?",
    "[a]",
    "{a,b}",
    "#c",
    "a#b",
    "$x",
    "${x}",
    "`id`",
    "$(id)",
    "a'b'",
    '"a"b',
    "'a''b'",
    '"a$b"',
    '"a\\b"',
    '"a`b`"',
    "a\\ b",
    "\\x",
    "é",
    "a\u00a0b",
)
_OPERATORS = ("&&", "||", "|", ";", "&", "|&", ";;", ">", "<", "2>", ">>", "<<", "(", ")")
_ENV = {"PATH": "/usr/bin:/bin"}
_ALLOW = [AllowlistEntry(pattern="/usr/bin/*"), AllowlistEntry(pattern="/bin/ls")]


@st.composite
def token_texts(draw: st.DrawFn) -> str:
    """Words and operators joined by blanks or nothing: half plain, half near misses."""
    plain_word = st.sampled_from(_PLAIN_WORDS)
    plain_op = st.sampled_from(("&&", "||", "|", ";"))
    near = draw(st.booleans())
    word = st.one_of(plain_word, plain_word, st.sampled_from(_OTHER_WORDS)) if near else plain_word
    op = st.one_of(plain_op, plain_op, st.sampled_from(_OPERATORS)) if near else plain_op
    out: list[str] = []
    for _ in range(draw(st.integers(1, 4))):
        out.extend(draw(st.lists(word, min_size=1 if not near else 0, max_size=4)))
        out.append(draw(op))
    if not near or draw(st.integers(0, 2)):
        out.pop()  # usually no trailing operator
    blanks = (" ", " ", "  ", "\t", "") if near else (" ", "  ", "\t", "", "")
    pieces = [draw(st.sampled_from(blanks)) + t for t in out]
    return "".join(pieces) + draw(st.sampled_from(("", " ", "\t")))


@contextmanager
def _full_path() -> Iterator[None]:
    with (
        mock.patch.object(_shell, "plain_parts", return_value=None),
        mock.patch.object(_shell, "substitution_refusal", return_value=-1),
    ):
        yield


def _same_evaluation(fast: Evaluation, slow: Evaluation) -> None:
    assert fast == slow
    assert fast.allow_always == slow.allow_always
    assert fast.must_ask == slow.must_ask
    assert fast.enforced_argvs == slow.enforced_argvs
    assert fast.enforced_command == slow.enforced_command


def _check(text: str) -> None:
    # The quote-free splitter and the token loop agree wherever the former answers.
    bare = _bare_parts(text) if text.isascii() else None
    if bare is not None:
        assert bare == _quoted_parts(text), text
    fast_parse = _shell.parse_raw(text)
    fast_eval = evaluate_command(text, cwd="/tmp", env=_ENV, allowlist=_ALLOW)
    with _full_path():
        slow_parse = _shell.parse_raw(text)
        slow_eval = evaluate_command(text, cwd="/tmp", env=_ENV, allowlist=_ALLOW)
    assert fast_parse == slow_parse, text
    _same_evaluation(fast_eval, slow_eval)


@settings(max_examples=500, deadline=None)
@given(token_texts())
def test_plain_parts_equal_the_full_walk_on_token_texts(text: str) -> None:
    event("plain path" if plain_parts(text) is not None else "full walk only")
    _check(text)


@pytest.mark.slow
@settings(max_examples=30_000, deadline=None)
@given(token_texts())
def test_plain_parts_equal_the_full_walk_on_token_texts_long(text: str) -> None:
    _check(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab =:'\"|&;-.1\t$\\~#A_", max_size=20))
def test_plain_parts_equal_the_full_walk_on_random_texts(text: str) -> None:
    _check(text)


def test_plain_parts_equal_the_full_walk_on_the_corpus() -> None:
    answered = 0
    for text in (*HAND_WRITTEN, *generated_commands()):
        answered += plain_parts(text) is not None
        _check(text)
    assert answered > 300  # the corpus exercises the plain path, not only the fallback


def test_plain_parts_answer_the_harness_mix() -> None:
    mix = (
        "ls -la",
        "git status",
        "git log --oneline -n 5 && git diff --stat",
        "rg -n TODO src | head -n 20",
        "ls -la; rm -rf /tmp/x",
        "cat /etc/passwd",
        "FOO=bar git commit -m 'msg with spaces'",
        "timeout 5 rg foo",
        "bash -lc 'git status && ls'",
        "ls | wc -l",
        "python3 -c 'print(1)'",
    )
    for command in mix:
        for text in (command, f"{command} n17"):
            assert plain_parts(text) is not None, text
            _check(text)
    # Shapes the walk must decide (keywords, builtins that fail, assignments it names).
    for text in (
        "if x",
        "eval ls",
        "A+=1 ls",
        "A= ls",
        "ls &",
        "ls;",
        "a'b'",
        "time ls",
        "ls@x",  # tree-sitter-bash: a syntax error in command position
        "ls | ls | ls && ls",  # tree-sitter-bash nests the list in the pipeline
    ):
        assert plain_parts(text) is None, text
        _check(text)
