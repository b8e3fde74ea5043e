"""
An exact pre-scan for the commonest refusal: one plain command with a ``$(...)`` argument.

``echo "$(whoami)"`` costs a tree-sitter parse and a walk only to end in the failure
"command substitution at position 6" (about 16 us of a 25 us evaluation; OpenClaw
refuses it in 2). :func:`substitution_refusal` recognises a narrow shape for which that
walk provably ends in exactly that failure, and returns its position without parsing:

* the text is ASCII words of plain characters separated by blanks, the first of them a
  command word (no ``=``, so never an assignment);
* exactly one argument is ``$(...)`` or ``"$(...)"``, holding plain words only;
* no word anywhere is one of tree-sitter-bash's keywords (``if``, ``done``, ``export``
  ...), which would make it parse another construct (or a syntax error) instead.

Plain characters never fail the strict word decoder (no quote, escape, glob, brace,
tilde, comment, operator or expansion character), so the walk accepts every word before
the substitution, and the substitution is the first node it refuses: the reason and
position are those of the full path. Anything else answers ``-1`` and goes the usual
way; ``tests/analysis/test_prescan.py`` compares both paths on generated texts.
"""

from __future__ import annotations

import re

__all__ = ["substitution_refusal"]

# tree-sitter-bash's keyword tokens (its unnamed node kinds made of letters): a word
# equal to one may parse as another construct than a plain command word.
_KEYWORDS = frozenset(
    {
        "case",
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
        "typeset",
        "unset",
        "unsetenv",
        "until",
        "while",
    }
)

_NAME = r"[A-Za-z0-9_./+-]+"  # a command word: plain characters, no '=' (no assignment)
_WORD = r"[A-Za-z0-9_./+,:=@%-]+"  # an argument: plain characters ('=' and ':' never before '~')
_SHAPE = re.compile(
    rf"[ \t]*{_NAME}(?:[ \t]+{_WORD})*[ \t]+"
    rf"(\"?)(\$)\([ \t]*{_NAME}(?:[ \t]+{_WORD})*[ \t]*\)\1"
    rf"(?:[ \t]+{_WORD})*[ \t]*\Z"
)
_SPLIT = re.compile(r'[ \t"$()]+')


def substitution_refusal(text: str) -> int:
    """
    The position of the ``$`` the full walk refuses *text* at, or ``-1``.

    Only for texts that passed ``parse_raw``'s own pre-checks (length, operator and word
    caps, forbidden characters, not blank). ``-1`` says nothing: parse as usual.
    """
    found = _SHAPE.match(text)
    if found is None or not _KEYWORDS.isdisjoint(_SPLIT.split(text)):
        return -1
    return found.start(2)
