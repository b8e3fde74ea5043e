r"""
Deny rules matched over an analysis: every route the analyser sees to a denied program.

The rules and the answers (:class:`~openclaw_exec.policy.DenyRule`,
:class:`~openclaw_exec.policy.DenyCheck`) live in :mod:`openclaw_exec.policy`; see
``docs/policy.md`` ("Deny rules") for the semantics:

* the command word of every segment, at every depth, after wrappers, by the path the
  shell finds, its real path and its name (case-insensitive); only here does an
  ``argPattern`` narrow a rule;
* any other word naming the program, alone or inside a word (quotes and backslashes
  removed, globs read as what they could expand to): denied whatever the ``argPattern``;
* a command that could not be analysed is scanned as text the same way, and is
  otherwise *uncertain* (at least a miss), as are inline code and shells reading
  commands they do not show.

Pure: filesystem questions go through the injected resolver.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Final

import attrs

from openclaw_exec.analysis._evaluate import durable_command_pattern
from openclaw_exec.analysis._resolver import resolve_executable
from openclaw_exec.analysis._rules import compile_pattern
from openclaw_exec.analysis._wrappers import wrapper_plan
from openclaw_exec.policy._argpattern import compile_arg_pattern, cwd_bound_arg_pattern
from openclaw_exec.policy._deny import DenyCheck, DenyHit, ScopedDenyRule

if TYPE_CHECKING:
    from openclaw_exec.analysis._evaluate import Evaluation, SegmentEvaluation
    from openclaw_exec.analysis._resolver import ExecutableResolver
    from openclaw_exec.analysis._rules import CompiledPattern

__all__ = ["check_deny", "words_of"]


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
        # Not "_real": mypyc (prototypes/mypyc) names it "__real" in C, a GCC keyword.
        self._realpaths: dict[str, str | None] = {}
        self._lookup: dict[str, tuple[str | None, str | None]] = {}
        self.path_rules_need_lookup = any(
            r.kind == "path" and r.name_glob is None for r in self.rules
        )

    def real(self, path: str) -> str | None:
        if self.resolver is None:
            return None
        if path not in self._realpaths:
            self._realpaths[path] = self.resolver.realpath(path)
        return self._realpaths[path]

    def lookup(self, word: str) -> tuple[str | None, str | None]:
        """Where a bare word leads through PATH: (path, real path)."""
        if self.resolver is None:
            return (None, None)
        if word not in self._lookup:
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
    plan = wrapper_plan(seg.argv)
    return plan.shell_wrapper and (plan.shell_inline_command is None or plan.blocked)


def _exact_command_hit(scan: _Scan, text: str) -> DenyHit | None:
    if not any(r.kind == "command" for r in scan.rules):
        return None
    pattern = durable_command_pattern(text)
    for rule in scan.rules:
        if rule.kind == "command" and rule.exact_command == pattern:
            return DenyHit(rule=rule.scoped, word=text, route="command", matched=pattern)
    return None
