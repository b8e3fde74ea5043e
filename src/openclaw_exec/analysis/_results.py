"""
The values an evaluation returns: :class:`Evaluation`, :class:`SegmentEvaluation`, grants.

Built on the hot path by :mod:`._evaluate` and :mod:`._segment` from parts they have
checked (``make_segment``/``make_evaluation`` skip the frozen ``__init__``); the lazy
parts (``allow_always``, ``obfuscation``) are computed on first access.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import attrs

from openclaw_exec._values import positional_maker
from openclaw_exec.analysis._danger import DangerHit
from openclaw_exec.analysis._host_env import ENV_CONSTRUCT
from openclaw_exec.analysis._obfuscation import (
    ObfuscationResult,
    detect_command_obfuscation,
    detect_encoded_inline_eval,
)
from openclaw_exec.analysis._resolver import ResolvedExecutable
from openclaw_exec.analysis._rules import InlineEvalHit
from openclaw_exec.analysis._shell import AnalysisFailure

if TYPE_CHECKING:
    from openclaw_exec.policy import AllowlistEntry, ExecPolicy, VerdictResult

__all__ = [
    "JS_WHITESPACE",
    "AllowAlwaysGrant",
    "Evaluation",
    "SatisfiedBy",
    "SegmentEvaluation",
    "SkillBin",
    "durable_command_pattern",
    "make_evaluation",
    "make_segment",
]

# JavaScript's String.prototype.trim() set, so exact-command hashes equal OpenClaw's.
JS_WHITESPACE = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
# Built with chr(): mypyc (prototypes/mypyc) rejects surrogates in string literals.
_SURROGATES = re.compile("[" + chr(0xD800) + "-" + chr(0xDFFF) + "]")


class SatisfiedBy(enum.StrEnum):
    """What satisfied a segment (OpenClaw's ``segmentSatisfiedBy`` spellings)."""

    ALLOWLIST = "allowlist"  # an allowlist entry matched
    SAFE_BINS = "safeBins"  # a stdin-only safe bin from a trusted folder
    SKILLS = "skills"  # a trusted skill bin (auto_allow_skills)


@attrs.frozen
class SkillBin:
    """
    A trusted skill executable: its bare name and the path it must resolve to.

    Attributes:
        name: The command name as typed (compared lower-cased).
        resolved_path: The absolute path the name must resolve to.
    """

    name: str
    resolved_path: str


def durable_command_pattern(command_text: str) -> str:
    """
    The exact-command grant for *command_text*: ``=command:`` + 16 hex of SHA-256.

    The text is trimmed like JavaScript's ``trim()`` first, so the pattern equals the
    one OpenClaw writes for the same command.
    """
    normalized = _SURROGATES.sub("\ufffd", command_text.strip(JS_WHITESPACE))
    return "=command:" + hashlib.sha256(normalized.encode("utf-8")).hexdigest()[:16]


@attrs.frozen
class SegmentEvaluation:
    """
    One simple command of the evaluated command line.

    Attributes:
        argv: The words as typed (leading assignments excluded).
        assignments: Leading ``NAME=value`` pairs (a segment with any is a miss).
        raw: Source text of the segment.
        position: Character offset of the segment in the text it was parsed from.
        depth: 0 for top-level segments, 1+ inside shell-wrapper payloads.
        effective_argv: ``argv`` with dispatch wrappers / busybox removed.
        wrappers: The wrappers removed, outermost first.
        blocked_wrapper: A wrapper that could not be unwrapped safely (a miss).
        executable: Where the effective ``argv[0]`` resolves (what runs).
        policy_executable: Where the policy target resolves (what is matched).
        satisfied_by: What satisfied the segment, ``None`` for a miss.
        matched_entry: The allowlist entry that matched, if any.
        miss_reason: Why the segment is not satisfied (``None`` when satisfied).
        inline_eval: An inline-eval hit (``python -c ...``), if any.
        inner: Segments of a shell wrapper's ``-c`` payload (analysed recursively).
        danger: The danger-profile row that fired (``git -c core.pager``…): the segment
            is then not satisfied, unless an entry's ``argPattern`` allowed the arguments.
    """

    argv: tuple[str, ...]
    assignments: tuple[tuple[str, str], ...]
    raw: str
    position: int
    depth: int
    effective_argv: tuple[str, ...]
    wrappers: tuple[str, ...]
    blocked_wrapper: str | None
    executable: ResolvedExecutable | None
    policy_executable: ResolvedExecutable | None
    satisfied_by: SatisfiedBy | None
    matched_entry: AllowlistEntry | None
    miss_reason: str | None
    inline_eval: InlineEvalHit | None
    inner: tuple[SegmentEvaluation, ...] = ()
    danger: DangerHit | None = None

    @property
    def satisfied(self) -> bool:
        """Whether this segment (and its shell payload, if any) is covered."""
        return self.satisfied_by is not None

    def walk(self) -> Iterable[SegmentEvaluation]:
        """This segment and every nested payload segment, depth first."""
        yield self
        for child in self.inner:
            yield from child.walk()


@attrs.frozen
class AllowAlwaysGrant:
    """
    One allowlist pattern an "allow always" decision would persist, with its breadth.

    Attributes:
        pattern: The pattern to store with ``source="allow-always"``.
        kind: ``"path"`` (an executable) or ``"command"`` (``=command:<sha16>``).
        preview: What else this grant allows, in words, for the approver.
        arg_pattern: For a path grant, the cwd-bound hash of its exact arguments and
            working folder (``sha256:cwd-argv:v1:<hex>``), stored as the entry's
            ``argPattern``: since OpenClaw 2026.9.6 a path grant without one is inactive.
    """

    pattern: str
    kind: str
    preview: str
    arg_pattern: str | None = None


@attrs.frozen
class Evaluation:
    """
    Everything the analyser found out about one command.

    Attributes:
        command: The command text, or ``None`` when an argv was evaluated.
        argv: The argv evaluated without a shell, else ``None``.
        command_text: The text used for exact-command grants (the command, or the
            shell-quoted argv).
        analysis_ok: The command was fully understood.
        failure: Why not, when ``analysis_ok`` is false.
        allowlist_satisfied: Every segment (and nested payload segment) is satisfied.
        segments: Every top-level segment, in order (none when analysis failed).
        chain_ops: For each top-level segment, the operator that follows it
            (``"|"``, ``"&&"``, ``"||"``, ``";"`` or ``None`` for the last).
        durable_approval_satisfied: An allow-always grant covers this exact command,
            or every segment matched an allow-always entry (``hasDurableExecApproval``).
        heredoc: The command contains a heredoc ("must ask" trigger; it also fails analysis).
        inline_eval_hits: Inline-eval forms found in any segment.
        strict_inline_eval: Whether strict inline eval was requested.
        obfuscation: What the obfuscation gate found (computed on first access).
    """

    command: str | None
    argv: tuple[str, ...] | None
    command_text: str
    analysis_ok: bool
    failure: AnalysisFailure | None
    allowlist_satisfied: bool
    segments: tuple[SegmentEvaluation, ...]
    chain_ops: tuple[str | None, ...]
    durable_approval_satisfied: bool
    heredoc: bool
    inline_eval_hits: tuple[InlineEvalHit, ...]
    strict_inline_eval: bool
    _allow_always_fn: Callable[[], tuple[AllowAlwaysGrant, ...]] = attrs.field(
        repr=False, eq=False, alias="allow_always_fn"
    )

    @functools.cached_property
    def allow_always(self) -> tuple[AllowAlwaysGrant, ...]:
        """
        The grants an "allow always" decision would persist (computed on first access).

        Inner executables (never a shell, interpreter or wrapper binary), or one exact-
        command grant ``=command:<sha16>`` when no safe pattern exists; nothing at all
        after a strict inline-eval hit.
        """
        return self._allow_always_fn()

    @functools.cached_property
    def obfuscation(self) -> ObfuscationResult:
        """
        What the obfuscation gate found: OpenClaw's ``detectCommandObfuscation``, and more.

        The text is checked with OpenClaw's patterns, and every inline program for decoding
        or evaluation (``encoded-inline-eval``). A hit is a :attr:`must_ask` trigger
        (``obfuscation: <id>``) in every mode, even when the allowlist or an allow-always
        grant covers the command.
        """
        found = detect_command_obfuscation(self.command_text)
        encoded = detect_encoded_inline_eval(s.effective_argv for s in self.all_segments)
        if not encoded.detected:
            return found
        return ObfuscationResult(
            detected=True,
            reasons=found.reasons + encoded.reasons,
            matched_patterns=found.matched_patterns + encoded.matched_patterns,
        )

    @property
    def must_ask(self) -> tuple[str, ...]:
        """Triggers that demand a human even when the allowlist is satisfied."""
        triggers: list[str] = []
        if self.failure is not None and self.failure.construct.startswith(ENV_CONSTRUCT):
            # A blocked variable needs a human whatever the security mode (OpenClaw refuses
            # it even at security=full), and a timeout never runs it.
            triggers.append(f"blocked-env: {self.failure.construct[len(ENV_CONSTRUCT) :]}")
        if self.heredoc:
            triggers.append("heredoc")
        if self.strict_inline_eval:
            triggers.extend(
                f"strict-inline-eval: {hit.describe()}" for hit in self.inline_eval_hits
            )
        triggers.extend(f"obfuscation: {pid}" for pid in self.obfuscation.matched_patterns)
        return tuple(triggers)

    @property
    def allow_always_patterns(self) -> tuple[str, ...]:
        """Just the patterns of :attr:`allow_always`."""
        return tuple(g.pattern for g in self.allow_always)

    @property
    def all_segments(self) -> tuple[SegmentEvaluation, ...]:
        """Top-level and nested payload segments, depth first."""
        return tuple(s for top in self.segments for s in top.walk())

    @property
    def enforced_argvs(self) -> tuple[tuple[str, ...], ...] | None:
        """
        The argv to run for each segment, ``argv[0]`` replaced by the resolved real path.

        ``None`` unless the analysis succeeded and every segment resolved with no
        leading assignments. Running these (instead of the raw text) makes the
        decision independent of later PATH changes, as OpenClaw's rebuild does.
        """
        if not self.analysis_ok or not self.segments:
            return None
        out: list[tuple[str, ...]] = []
        for seg in self.segments:
            exe = seg.executable
            if (
                seg.assignments
                or exe is None
                or exe.path is None
                or seg.blocked_wrapper is not None
            ):
                return None
            out.append((exe.real_path or exe.path, *seg.effective_argv[1:]))
        return tuple(out)

    @property
    def enforced_command(self) -> str | None:
        """:attr:`enforced_argvs` as shell text, every word single-quoted, operators kept."""
        argvs = self.enforced_argvs
        if argvs is None:
            return None
        parts: list[str] = []
        for argv, op in zip(argvs, self.chain_ops, strict=True):
            parts.append(" ".join(_single_quote(w) for w in argv))
            if op is not None:
                parts.append(op)
        return " ".join(parts)

    def verdict(self, policy: ExecPolicy) -> VerdictResult:
        """ALLOW / ASK / DENY for this command under *policy* (``decide_verdict``)."""
        from openclaw_exec.policy import decide_verdict  # noqa: PLC0415 - avoid an import cycle

        return decide_verdict(
            policy,
            analysis_ok=self.analysis_ok,
            allowlist_satisfied=self.allowlist_satisfied,
            durable_approval_satisfied=self.durable_approval_satisfied,
            force_ask=self.must_ask,
        )


# Result values are built on the hot path from parts checked here: skip the frozen __init__.
# Result values are built on the hot path from parts checked here: skip the frozen __init__.
make_segment = positional_maker(SegmentEvaluation)
make_evaluation = positional_maker(Evaluation)


def _single_quote(word: str) -> str:
    return "'" + word.replace("'", "'\"'\"'") + "'"
