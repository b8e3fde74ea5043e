"""
The command-substitution pre-scan gives exactly the full walk's answer, or none.

``parse_raw`` refuses ``echo "$(whoami)"`` without a parse when
``_shell_prescan.substitution_refusal`` recognises the shape; these tests run the same
texts through the full path (the pre-scan switched off) and compare the parse result and
the whole :class:`Evaluation` (failure, reason, position, grants, must-ask triggers ...).
The texts are generated around the shape (keywords, odd characters, quotes, operators,
mutations at random positions) so that both matches and near misses are exercised.
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
from openclaw_exec.analysis._shell_prescan import substitution_refusal
from openclaw_exec.policy import AllowlistEntry

_WORDS = (
    "echo",
    "ls",
    "git",
    "eval",
    "exec",
    ".",
    "1",
    "-n",
    "a+",
    "x.y",
    "a/b",
    "n5",
    "a=b",
    "c:d",
    "x,y",
    "@x",
    "%1",
    "if",
    "then",
    "done",
    "in",
    "export",
    "declare",
    "local",
    "unset",
    "function",
    "case",
    "end",
    "time",
    "!",
    "~",
    "~x",
    "a=~",
    "*",
    "#",
    "{a,b}",
    "x\\y",
    "'q'",
    '"d"',
    "$x",
    "`id`",
    "é",
)
_SUBST = ('"$(', "$(", "$((", '"$( ', "$(\t", '"a $(', "<(")
_CLOSE = (')"', ")", "))", ' )"', ")x", ')"x', '"', "")
_NOISE = (*" \t|&;<>()$`'\"\\=:~#*?[]{}!", "&&", "||", "2>", ">&", "$((", "\\ ")

_ENV = {"PATH": "/usr/bin:/bin"}
_ALLOW = [AllowlistEntry(pattern="/usr/bin/echo"), AllowlistEntry(pattern="/bin/*")]


_PLAIN = ("echo", "ls", "git", "eval", ".", "1", "-n", "a+", "x.y", "a/b", "n5", "whoami")


@st.composite
def near_shape(draw: st.DrawFn) -> str:
    """``CMD ARGS (SUBST INNER CLOSE) ARGS``, sometimes mutated by a random insertion."""
    # Plain words and the two accepted brackets half of the time, so that about a third
    # of the texts match the shape and the rest are near misses.
    words = st.one_of(st.sampled_from(_PLAIN), st.sampled_from(_WORDS))
    head = [draw(words), *draw(st.lists(words, max_size=3))]
    inner = draw(st.lists(words, min_size=1, max_size=3))
    tail = draw(st.lists(words, max_size=3))
    blank = draw(st.sampled_from((" ", "  ", "\t", " \t")))
    opening, closing = draw(
        st.one_of(
            st.sampled_from((('"$(', ')"'), ("$(", ")"))),
            st.tuples(st.sampled_from(_SUBST), st.sampled_from(_CLOSE)),
        )
    )
    text = (
        blank.join(head)
        + blank
        + opening
        + " ".join(inner)
        + closing
        + "".join(blank + w for w in tail)
    )
    if draw(st.integers(0, 3)) == 0:
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(_NOISE)) + text[at:]
    if draw(st.booleans()):
        text = draw(st.sampled_from(("", " ", "\t"))) + text + draw(st.sampled_from(("", " ")))
    return text


@contextmanager
def _prescan_off() -> Iterator[None]:
    with mock.patch.object(_shell, "substitution_refusal", return_value=-1):
        yield


def _same_evaluation(fast: Evaluation, slow: Evaluation) -> None:
    assert fast == slow
    assert fast.failure == slow.failure
    assert fast.allow_always == slow.allow_always
    assert fast.must_ask == slow.must_ask
    assert fast.enforced_argvs == slow.enforced_argvs


def _check(text: str) -> None:
    fast_parse = _shell.parse_raw(text)
    fast_eval = evaluate_command(text, cwd="/tmp", env=_ENV, allowlist=_ALLOW)
    with _prescan_off():
        slow_parse = _shell.parse_raw(text)
        slow_eval = evaluate_command(text, cwd="/tmp", env=_ENV, allowlist=_ALLOW)
    assert fast_parse == slow_parse, text
    _same_evaluation(fast_eval, slow_eval)


@settings(max_examples=400, deadline=None)
@given(near_shape())
def test_prescan_equals_the_full_walk_near_its_shape(text: str) -> None:
    event("pre-scan answered" if substitution_refusal(text) >= 0 else "full walk only")
    _check(text)


@pytest.mark.slow
@settings(max_examples=20_000, deadline=None)
@given(near_shape())
def test_prescan_equals_the_full_walk_near_its_shape_long(text: str) -> None:
    _check(text)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ab $()\"'=:;|&\t-.1", max_size=24))
def test_prescan_equals_the_full_walk_on_random_texts(text: str) -> None:
    _check(text)


def test_prescan_equals_the_full_walk_on_the_corpus() -> None:
    for text in (*HAND_WRITTEN, *generated_commands()):
        if "$(" in text:
            _check(text)
            _check(text + " n5")


def test_prescan_answers_for_the_harness_shapes_and_not_for_keywords() -> None:
    # The shapes it exists for (so the differential tests above exercise real matches) ...
    assert substitution_refusal('echo "$(whoami)"') == 6
    assert substitution_refusal('echo "$(whoami)" n17') == 6
    assert substitution_refusal("ls -la $(pwd) x=1") == 7
    assert substitution_refusal('\tgit log "$( git rev-parse HEAD )"') == 10
    # ... and texts where the walk reports something else, or accepts the text.
    for text in ('if "$(x)"', 'echo "$(if)"', 'echo "$(x)"x', 'a=1 echo "$(x)"', "echo $((1))"):
        assert substitution_refusal(text) == -1, text
    assert _shell.parse_raw('echo "$(whoami)" n5')[1] is not None
