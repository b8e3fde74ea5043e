r"""
Deny rules: programs that never run, whatever else the policy says.

A deny rule is written like an allowlist entry (``pattern``, optional ``argPattern``) and
lives in the approvals file under ``defaults.deny``, ``agents["*"].deny`` or
``agents.<id>.deny``. The rules of every layer that applies are *combined*, never
overridden: a rule anywhere wins over ``security=full``, over every allowlist entry,
over allow-always grants, grants with a lifetime and a human's answer (a denied command
is never shown to anyone).

Matching fails closed the other way round from the allowlist. An allowlist entry must
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

Pure: filesystem questions go through the injected resolver.
"""

from __future__ import annotations

import fnmatch
import json
import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

import attrs

from openclaw_exec.policy._argpattern import compile_arg_pattern, cwd_bound_arg_pattern

if TYPE_CHECKING:
    from openclaw_exec.analysis import Evaluation, ExecutableResolver, SegmentEvaluation
    from openclaw_exec.analysis._rules import CompiledPattern

__all__ = [
    "DenyCheck",
    "DenyHit",
    "DenyRule",
    "ScopedDenyRule",
    "check_deny",
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


def deny_rule_problem(rule: DenyRule) -> str | None:
    """
    Why *rule* cannot be enforced as written, or ``None``.

    A deny rule that could never match would silently allow what its author meant to
    forbid, so the file holding it is refused (an allowlist entry that never matches is
    only kept inert).
    """
    from openclaw_exec.analysis._rules import compile_pattern  # noqa: PLC0415 - layering

    compiled = compile_pattern(rule.pattern)
    if compiled.kind == "invalid" and not rule.pattern.strip().startswith("~"):
        return f"invalid pattern: {compiled.problem}"
    if rule.pattern.strip().startswith("~") and not re.match(r"~(/|$)", rule.pattern.strip()):
        return "invalid pattern: only '~' or '~/...' can be expanded"
    if rule.arg_pattern:
        found = compile_arg_pattern(rule.arg_pattern)
        if found.kind not in ("regex", "cwd-hash"):
            return f"invalid argPattern: {found.problem}"
    return None


# ------------------------------------------------------------------------- matching

#: Characters removed before splitting text into words: quoting never changes a name.
_QUOTING: Final = re.compile(r"['\"\\]")
#: Everything that ends a word in shell text or inline code (operators, expansions,
#: assignments, calls, lists, concatenation).
_SEPARATORS: Final = re.compile(r"[\s`$(){}\[\]<>|&;=:,!#^+%@]+")
_GLOB: Final = re.compile(r"[*?\[]")
_MAX_WORDS: Final = 4096  # words scanned per command (a longer command is uncertain)


def words_of(text: str) -> list[str]:
    """The words a piece of shell text or inline code names, quotes and escapes removed."""
    return [w for w in _SEPARATORS.split(_QUOTING.sub("", text)) if w]


@attrs.frozen
class _Compiled:
    scoped: ScopedDenyRule
    kind: str  # "any", "name", "path", "command"
    pattern: CompiledPattern | None
    name_glob: str | None  # lower-cased glob for names (a name rule, a path rule's last part)
    exact_command: str | None


def _compile(scoped: ScopedDenyRule, home: str | None) -> _Compiled:
    from openclaw_exec.analysis._rules import compile_pattern  # noqa: PLC0415 - layering

    text = scoped.rule.pattern.strip()
    compiled = compile_pattern(text.lower(), home.lower() if home else None)
    if compiled.kind == "any":
        return _Compiled(scoped, "any", compiled, "*", None)
    if compiled.kind == "command":
        return _Compiled(scoped, "command", None, None, text.lower())
    if compiled.kind == "name":
        return _Compiled(scoped, "name", compiled, compiled.pattern, None)
    if compiled.kind == "path":
        # A literal last part is also a name: "/usr/bin/rm" named as "rm" in an argument
        # may be that file. A wildcard last part is looked up through PATH instead.
        last = compiled.pattern.rsplit("/", 1)[-1]
        literal = last if last and not _GLOB.search(last) else None
        return _Compiled(scoped, "path", compiled, literal, None)
    # Refused on load; a rule built in code that cannot be read denies by its text.
    return _Compiled(scoped, "name", None, posixpath.basename(text).lower() or text, None)


class _Scan:
    """One check: the rules compiled, the filesystem questions asked at most once."""

    def __init__(
        self,
        rules: Sequence[ScopedDenyRule],
        *,
        cwd: str,
        home: str | None,
        path_env: str,
        resolver: ExecutableResolver | None,
    ) -> None:
        self.rules = [_compile(r, home) for r in rules]
        self.cwd = cwd
        self.path_env = path_env
        self.resolver = resolver
        self._real: dict[str, str | None] = {}
        self._lookup: dict[str, tuple[str | None, str | None]] = {}
        self.path_rules_need_lookup = any(
            r.kind == "path" and r.name_glob is None for r in self.rules
        )

    def real(self, path: str) -> str | None:
        if self.resolver is None:
            return None
        if path not in self._real:
            self._real[path] = self.resolver.realpath(path)
        return self._real[path]

    def lookup(self, word: str) -> tuple[str | None, str | None]:
        """Where a bare word leads through PATH: (path, real path)."""
        if self.resolver is None:
            return (None, None)
        if word not in self._lookup:
            from openclaw_exec.analysis._resolver import resolve_executable  # noqa: PLC0415

            found = resolve_executable(self.resolver, word, cwd=self.cwd, path_env=self.path_env)
            self._lookup[word] = (found.path, found.real_path if found.path else None)
        return self._lookup[word]

    # -- one word, named anywhere: any route denies, whatever the argPattern

    def named(self, word: str, route: str) -> DenyHit | None:
        token = word.strip()
        if not token:
            return None
        name = posixpath.basename(token.rstrip("/")) or token
        paths = self._paths_of(token)
        for rule in self.rules:
            matched = self._named_by(rule, token, name, paths)
            if matched is not None:
                return DenyHit(rule=rule.scoped, word=word, route=route, matched=matched)
        return None

    def _paths_of(self, token: str) -> list[str]:
        if "/" not in token:
            return []
        joined = token if token.startswith("/") else posixpath.join(self.cwd, token)
        out = [posixpath.normpath(joined)]
        if not _GLOB.search(token):
            real = self.real(out[0])
            if real is not None and real not in out:
                out.append(real)
        return out

    def _named_by(self, rule: _Compiled, token: str, name: str, paths: list[str]) -> str | None:
        if rule.kind in ("any", "command"):
            # "*" names no word in particular (it is checked on every command word), and
            # only the whole command text can equal an exact-command pattern.
            return None
        glob = rule.name_glob
        if glob is not None and _name_matches(glob, name):
            return name
        if rule.kind == "path" and rule.pattern is not None:
            for path in paths:
                if _path_matches(rule.pattern, path):
                    return path
            if "/" not in token and self.path_rules_need_lookup and not _GLOB.search(token):
                for found in self.lookup(token):
                    if found is not None and _path_matches(rule.pattern, found):
                        return found
        return None

    # -- the command word of a segment: precise, argPattern applies

    def program(self, seg: SegmentEvaluation) -> DenyHit | None:
        argv = seg.effective_argv
        if not argv:
            return None
        word = argv[0]
        candidates = _candidates(seg, self)
        names = [posixpath.basename(word.strip().rstrip("/")) or word]
        names += [posixpath.basename(c) for c in candidates]
        for rule in self.rules:
            matched = self._program_by(rule, word, names, candidates)
            if matched is None:
                continue
            if rule.scoped.rule.arg_pattern and not _args_match(
                rule.scoped.rule.arg_pattern, argv, self.cwd
            ):
                continue
            return DenyHit(rule=rule.scoped, word=word, route="command", matched=matched)
        return None

    def _program_by(
        self, rule: _Compiled, word: str, names: list[str], candidates: list[str]
    ) -> str | None:
        if rule.kind == "any":
            return word
        if rule.kind == "name" and rule.name_glob is not None:
            found = next((n for n in names if _name_matches(rule.name_glob, n)), None)
            if found is not None:
                return found
        if rule.kind == "path" and rule.pattern is not None:
            found = next((c for c in candidates if _path_matches(rule.pattern, c)), None)
            if found is not None:
                return found
        if _GLOB.search(word):
            return self._named_by(rule, word, names[0], self._paths_of(word))
        return None


def _candidates(seg: SegmentEvaluation, scan: _Scan) -> list[str]:
    """Every path the segment's program is known by: as found, real, lexical."""
    out: list[str] = []
    for resolved in (seg.executable, seg.policy_executable):
        if resolved is None:
            continue
        for found in (resolved.path, resolved.real_path):
            if found and found not in out:
                out.append(found)
    word = seg.effective_argv[0].strip() if seg.effective_argv else ""
    for found in scan._paths_of(word):  # noqa: SLF001 - same module
        if found not in out:
            out.append(found)
    return out


def _name_matches(glob: str, name: str) -> bool:
    # Case-insensitive (a case-insensitive filesystem runs RM as rm); a glob word such as
    # "r?" matches a rule name it could expand to.
    lowered = name.lower()
    if fnmatch.fnmatchcase(lowered, glob.replace("[", "[[]")):
        return True
    return bool(_GLOB.search(lowered)) and fnmatch.fnmatchcase(glob, lowered)


def _path_matches(pattern: CompiledPattern, path: str) -> bool:
    lowered = path.lower()
    if pattern.matches_path(lowered):
        return True
    if _GLOB.search(lowered):
        # A glob word: does it expand to something the rule names? Compare the rule's
        # literal text against the word used as a glob.
        return fnmatch.fnmatchcase(pattern.pattern, lowered)
    return False


def _args_match(arg_pattern: str, argv: Sequence[str], cwd: str) -> bool:
    compiled = compile_arg_pattern(arg_pattern)
    if compiled.kind == "cwd-hash":
        return arg_pattern == cwd_bound_arg_pattern(argv, cwd)
    if compiled.kind != "regex":
        return True  # unreadable: deny whatever the arguments (fail closed)
    if len(" ".join(argv[1:])) > compiled.max_subject:
        return True  # too long to test: deny rather than guess
    return compiled.matches(argv)


def _payload_index(seg: SegmentEvaluation) -> int | None:
    """The index of a shell ``-c`` payload word whose segments were analysed (``inner``)."""
    if not seg.inner:
        return None
    from openclaw_exec.analysis._wrappers import wrapper_plan  # noqa: PLC0415 - layering

    plan = wrapper_plan(seg.argv)
    payload = plan.shell_inline_command
    if payload is None:
        return None
    for index in range(len(seg.argv) - 1, -1, -1):
        if seg.argv[index] == payload:
            return index
    return None


def _segment_hit(seg: SegmentEvaluation, scan: _Scan) -> DenyHit | None:
    hit = scan.program(seg)
    if hit is not None:
        return hit
    effective_start = len(seg.argv) - len(seg.effective_argv)
    if effective_start < 0 or tuple(seg.argv[effective_start:]) != tuple(seg.effective_argv):
        effective_start = -1  # not a suffix: scan every word
    payload = _payload_index(seg)
    for index, word in enumerate(seg.argv):
        if index in (effective_start, payload):
            continue
        route = "wrapper" if 0 <= index < effective_start else "argument"
        for token in words_of(word) if index else [word]:
            found = scan.named(token, route)
            if found is not None:
                return attrs.evolve(found, word=token)
    for name, value in seg.assignments:
        for token in words_of(value):
            found = scan.named(token, "argument")
            if found is not None:
                return attrs.evolve(found, word=f"{name}={token}")
    return None


def check_deny(
    rules: Iterable[ScopedDenyRule],
    evaluation: Evaluation | None,
    *,
    command: str | None = None,
    cwd: str = "/",
    home: str | None = None,
    path_env: str = "",
    resolver: ExecutableResolver | None = None,
) -> DenyCheck:
    """
    Which deny rule, if any, *evaluation*'s command reaches.

    Args:
        rules: The rules that apply (``ResolvedPolicy.deny``).
        evaluation: The analysis of the command; ``None`` when it was not analysed
            (then *command* is scanned as text and the command is uncertain).
        command: The command text, when there is no evaluation.
        cwd: The working folder (relative words are joined to it).
        home: What ``~`` in a rule's pattern stands for (the host's home).
        path_env: ``PATH``, to see where a bare argument word would lead for rules
            whose last part is a glob (``/opt/tools/*``).
        resolver: Filesystem access for real paths (``None``: lexical paths only).

    Returns:
        The first hit, or why a hit cannot be ruled out. No rules: nothing to say.
    """
    ordered = tuple(rules)
    if not ordered:
        return DenyCheck()
    scan = _Scan(ordered, cwd=cwd, home=home, path_env=path_env, resolver=resolver)
    text = evaluation.command_text if evaluation is not None else (command or "")
    exact = _exact_command_hit(scan, text)
    if exact is not None:
        return DenyCheck(hit=exact, rules=len(ordered))
    if evaluation is None or not evaluation.analysis_ok:
        tokens = words_of(text)
        for token in tokens[:_MAX_WORDS]:
            found = scan.named(token, "text")
            if found is not None:
                return DenyCheck(hit=found, rules=len(ordered))
        why = "the command could not be analysed, so a denied program cannot be ruled out"
        return DenyCheck(uncertain=(why,), rules=len(ordered))
    uncertain: list[str] = []
    scanned = 0
    for seg in evaluation.all_segments:
        scanned += len(seg.argv)
        if scanned > _MAX_WORDS:
            why = f"more than {_MAX_WORDS} words to check against the deny rules"
            return DenyCheck(uncertain=(why,), rules=len(ordered))
        hit = _segment_hit(seg, scan)
        if hit is not None:
            return DenyCheck(hit=hit, rules=len(ordered))
        if seg.inline_eval is not None:
            uncertain.append(f"inline code ({seg.inline_eval.describe()}) can run a denied program")
        elif not seg.inner and _reads_unseen_commands(seg):
            name = posixpath.basename(seg.effective_argv[0]) if seg.effective_argv else "a shell"
            uncertain.append(f"{name} runs commands that are not shown")
    return DenyCheck(uncertain=tuple(dict.fromkeys(uncertain)), rules=len(ordered))


def _reads_unseen_commands(seg: SegmentEvaluation) -> bool:
    from openclaw_exec.analysis._wrappers import wrapper_plan  # noqa: PLC0415 - layering

    plan = wrapper_plan(seg.argv)
    return plan.shell_wrapper and (plan.shell_inline_command is None or plan.blocked)


def _exact_command_hit(scan: _Scan, text: str) -> DenyHit | None:
    if not any(r.kind == "command" for r in scan.rules):
        return None
    from openclaw_exec.analysis import durable_command_pattern  # noqa: PLC0415 - layering

    pattern = durable_command_pattern(text)
    for rule in scan.rules:
        if rule.kind == "command" and rule.exact_command == pattern:
            return DenyHit(rule=rule.scoped, word=text, route="command", matched=pattern)
    return None
