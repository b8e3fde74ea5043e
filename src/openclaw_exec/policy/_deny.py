r"""
Deny rules: programs that never run, whatever else the policy says.

A deny rule is written like an allowlist entry (``pattern``, optional ``argPattern``) and
lives in the approvals file under ``defaults.deny``, ``agents["*"].deny`` or
``agents.<id>.deny``. The rules of every layer that applies are *combined*, never
overridden: a rule anywhere wins over ``security=full``, over every allowlist entry,
over allow-always grants, grants with a lifetime and a human's answer (a denied command
is never shown to anyone).

Matching (:func:`openclaw_exec.analysis.check_deny`) fails closed the other way round
from the allowlist. An allowlist entry must
*prove* a segment harmless; a deny rule only needs a *possible* route to the program:

* **the command word** of every segment, at every depth (shell ``-c`` payloads), after
  wrappers (``env``, ``nice``, ``timeout``, busybox), by the path the shell finds, by its
  real path (symlinks, symlinked folders, ``..``), and by its name (``rm`` denies
  ``/usr/bin/rm``, ``./rm`` and ``/tmp/link-to-rm``). Here, and only here, an
  ``argPattern`` narrows the rule to the arguments it matches;
* **any other word** that names the program, or a word that holds its name among other
  text (``xargs rm``, ``find -exec rm``, ``sudo rm``, ``python3 -c "os.system('rm')"``,
  ``ssh host rm``, ``man rm``): the analyser cannot tell whether the carrier runs it or
  with which arguments, so the rule denies whatever its ``argPattern`` (quotes and
  backslashes removed first: ``r''m`` and ``\rm`` name ``rm``; a glob word such as
  ``/bin/r?`` names every program it could expand to);
* **a command the analyser cannot parse** (``$(...)``, ``eval``, ``command``, ``exec``,
  globs, braces): its text is split into words the same way and scanned; when no word
  names a denied program the command is still *uncertain*: at least a miss, as under
  ``security=allowlist`` (a human decides; a timeout never runs it), even at
  ``security=full``. So is inline code (``python3 -c``), which can build a name at run
  time, and a shell that reads commands it does not show (``... | sh``, ``sh script``).

What no analyser sees stays out of reach: a compiled program or a script file that calls
the denied program itself, a copy or hard link under another name. Deny rules close the
routes in the command text; the sandbox (``docs/sandbox.md``) is for the rest.

This module holds the rules and the answers; the matching over an analysis is
:mod:`openclaw_exec.analysis._deny`. Pure.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

import attrs

from openclaw_exec.policy._argpattern import compile_arg_pattern

__all__ = [
    "DenyCheck",
    "DenyHit",
    "DenyRule",
    "ScopedDenyRule",
    "deny_rule_problem",
]

_EMPTY: Final[Mapping[str, Any]] = MappingProxyType({})
# The JSON Schema limit its validator enforces (policy._schema reads it).
_NON_BLANK: Final = {"schema": {"minLength": 1, "pattern": r"\S"}}


def _frozen_mapping(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(value)) if value else _EMPTY


def _non_empty(_inst: object, _attr: attrs.Attribute[str], value: str) -> None:
    if not value.strip():
        raise ValueError("pattern must be a non-empty string")


@attrs.frozen(kw_only=True)
class DenyRule:
    """
    One deny rule, as written in the approvals file.

    Attributes:
        pattern: What an allowlist entry's pattern is: a glob over the executable's path
            (``/usr/bin/*``, ``~/bin/deploy``), a bare name (``rm``: any program of that
            name, wherever it lives), ``*`` (everything) or an exact-command pattern
            ``=command:<16 hex>``.
        arg_pattern: Optional JavaScript regex over the arguments (as for allowlist
            entries): the rule then denies the program only with matching arguments,
            where the program is the command word. Named anywhere else, it is denied
            whatever the arguments.
        id: A stable id, shown in ``explain`` and the audit log.
        reason: Why, in words, shown to the agent with the denial.
        extra: Keys this library does not know, preserved on round trip.
    """

    pattern: str = attrs.field(validator=_non_empty, metadata=_NON_BLANK)
    arg_pattern: str | None = None
    id: str | None = None
    reason: str | None = None
    extra: Mapping[str, Any] = attrs.field(
        factory=dict, converter=_frozen_mapping, hash=False, repr=False
    )


@attrs.frozen(kw_only=True)
class ScopedDenyRule:
    """
    A deny rule that applies to a resolution, and where it was written.

    Attributes:
        rule: The rule.
        where: Its JSON path (``defaults.deny[0]``, ``agents["*"].deny[1]``) or, for a
            rule the embedder passed in, ``requested.deny[<n>]``.
    """

    rule: DenyRule
    where: str

    def describe(self) -> str:
        """``where`` and the rule in words, for messages."""
        rule = self.rule
        text = f"{self.where} (pattern {json.dumps(rule.pattern)}"
        if rule.arg_pattern:
            text += f", argPattern {json.dumps(rule.arg_pattern)}"
        if rule.id:
            text += f", id {json.dumps(rule.id)}"
        return text + ")"


@attrs.frozen(kw_only=True)
class DenyHit:
    """
    The first deny rule a command reaches, and how.

    Attributes:
        rule: The rule and where it was written.
        word: The word that reached it (a command word, an argument, a text token).
        route: ``"command"`` (the segment's program), ``"wrapper"`` (a wrapper it runs
            through), ``"argument"`` (named in an argument or inline code) or ``"text"``
            (named in a command the analyser could not parse).
        matched: What the pattern matched (a path, a real path or a name).
    """

    rule: ScopedDenyRule
    word: str
    route: str
    matched: str

    def message(self) -> str:
        """The denial in words, naming the rule."""
        text = f"denied by {self.rule.describe()}: {self.route} {json.dumps(self.word)}"
        if self.matched != self.word:
            text += f" is {self.matched}"
        if self.rule.rule.reason:
            text += f" ({self.rule.rule.reason})"
        return text


@attrs.frozen(kw_only=True)
class DenyCheck:
    """
    What the deny rules say about one command.

    Attributes:
        hit: The first rule the command reaches, or ``None``.
        uncertain: Why a denied program cannot be ruled out although no rule was hit
            (unparsable text, inline code, a shell reading unseen commands): each is a
            trigger that makes the command at least a miss.
        rules: How many rules were checked.
    """

    hit: DenyHit | None = None
    uncertain: tuple[str, ...] = ()
    rules: int = 0

    @property
    def denied(self) -> bool:
        """Whether a rule was hit."""
        return self.hit is not None

    @property
    def triggers(self) -> tuple[str, ...]:
        """The :attr:`uncertain` reasons as must-ask triggers (``deny-rules: ...``)."""
        return tuple(f"deny-rules: {why}" for why in self.uncertain)


def _pattern_problem(pattern: str) -> str | None:
    """Why an allowlist-style pattern never matches (the cases of ``compile_pattern``)."""
    text = pattern.strip()
    if not text:
        return "empty pattern"
    if text == "*" or text.startswith("=command:"):
        return None
    if "/" not in text and "\\" not in text and "~" not in text:
        return None  # a bare name
    if "\\" in text:
        return "backslash in a POSIX pattern"
    if text.startswith("~"):
        if not re.match(r"~(/|$)", text):
            return "only '~' or '~/...' can be expanded"
        text = "/home" + text[1:]  # any absolute home: only the shape is checked here
    if not text.startswith("/"):
        return "relative path pattern"
    if "//" in text or any(p in (".", "..") for p in text.split("/")[1:]):
        return "'.', '..' or '//' in a path pattern"
    return None


def deny_rule_problem(rule: DenyRule) -> str | None:
    """
    Why *rule* cannot be enforced as written, or ``None``.

    A deny rule that could never match would silently allow what its author meant to
    forbid, so the file holding it is refused (an allowlist entry that never matches is
    only kept inert).
    """
    problem = _pattern_problem(rule.pattern)
    if problem is not None:
        return f"invalid pattern: {problem}"
    if rule.arg_pattern:
        found = compile_arg_pattern(rule.arg_pattern)
        if found.kind not in ("regex", "cwd-hash"):
            return f"invalid argPattern: {found.problem}"
    return None
