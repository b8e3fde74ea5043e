"""
The evaluation entry point: command (or argv) + cwd + env + allowlist -> :class:`Evaluation`.

Semantics follow OpenClaw 2026.4.1's ``evaluateShellAllowlist``,
``resolveAllowAlwaysPatterns`` and ``hasDurableExecApproval``; every place where this
library deliberately answers "no" where OpenClaw answers "yes" is listed in
``docs/differences.md``. The reverse never happens.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import posixpath
import re
import shlex
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, TypedDict, TypeGuard

import attrs

from openclaw_exec._values import positional_maker
from openclaw_exec.analysis._allowlist import (
    CompiledAllowlist,
    arg_pattern_matches,
    compile_allowlist,
)
from openclaw_exec.analysis._builtins import check_builtin
from openclaw_exec.analysis._danger import DangerHit
from openclaw_exec.analysis._danger_rows import find_danger
from openclaw_exec.analysis._host_env import ENV_CONSTRUCT, environment_failure
from openclaw_exec.analysis._inline_eval import detect_carried_inline_eval
from openclaw_exec.analysis._obfuscation import (
    ObfuscationResult,
    detect_command_obfuscation,
    detect_encoded_inline_eval,
)
from openclaw_exec.analysis._resolver import (
    ExecutableResolver,
    OsResolver,
    ResolutionCache,
    ResolvedExecutable,
    resolve_executable,
)
from openclaw_exec.analysis._rules import (
    InlineEvalHit,
    detect_inline_eval,
    is_interpreter_like,
)
from openclaw_exec.analysis._safe_bins import (
    ALWAYS_DENIED_SAFE_BINS,
    DEFAULT_SAFE_BIN_PROFILES,
    DEFAULT_SAFE_BIN_TRUSTED_DIRS,
    DEFAULT_SAFE_BINS,
    SafeBinProfile,
    safe_bin_trusted,
    validate_safe_bin_argv,
)
from openclaw_exec.analysis._shell import (
    AnalysisFailure,
    RawSegment,
    parse_raw,
    parse_shell_command,
)
from openclaw_exec.analysis._wrappers import (
    WrapperPlan,
    payload_segment_refusal,
    shell_script_candidate,
    wrapper_plan,
)
from openclaw_exec.exceptions import AnalysisError
from openclaw_exec.policy._argpattern import cwd_bound_arg_pattern

if TYPE_CHECKING:
    from openclaw_exec.policy import AllowlistEntry, ExecPolicy, VerdictResult

__all__ = [
    "MAX_SHELL_DEPTH",
    "AllowAlwaysGrant",
    "CompiledAllowlist",
    "Evaluation",
    "SatisfiedBy",
    "SegmentEvaluation",
    "SkillBin",
    "compile_allowlist",
    "durable_command_pattern",
    "evaluate_command",
]

MAX_SHELL_DEPTH = 3
"""Shell wrappers nested deeper than this (``bash -c "sh -c '...'"``) fail analysis."""

_DEFAULT_RESOLVER = OsResolver()
# JavaScript's String.prototype.trim() set, so exact-command hashes equal OpenClaw's.
_JS_WHITESPACE = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_SURROGATES = re.compile("[\ud800-\udfff]")


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
    normalized = _SURROGATES.sub("\ufffd", command_text.strip(_JS_WHITESPACE))
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
_make_segment = positional_maker(SegmentEvaluation)
_make_evaluation = positional_maker(Evaluation)


def _single_quote(word: str) -> str:
    return "'" + word.replace("'", "'\"'\"'") + "'"


_DEFAULT_TRUSTED_DIRS = frozenset(DEFAULT_SAFE_BIN_TRUSTED_DIRS)
_UNSET = object()
_COMMAND_RUNNERS = frozenset({"find", "xargs"})


class _Context:
    """What one evaluation needs besides the segment (a plain class: built per call)."""

    __slots__ = (
        "allowlist",
        "cache",
        "cwd",
        "danger_env",
        "path_env",
        "profiles",
        "resolved",
        "resolver",
        "safe_bins",
        "skills",
        "symlinked",
        "trusted_dirs",
        "trusted_real",
    )

    def __init__(  # noqa: PLR0917 - one field each
        self,
        cwd: str,
        path_env: str,
        allowlist: CompiledAllowlist,
        safe_bins: frozenset[str],
        profiles: Mapping[str, SafeBinProfile],
        trusted_dirs: frozenset[str],
        skills: Mapping[str, frozenset[str]] | None,
        resolver: ExecutableResolver,
        cache: ResolutionCache | None,
    ) -> None:
        self.cwd = cwd
        self.path_env = path_env
        self.allowlist = allowlist
        self.safe_bins = safe_bins
        self.profiles = profiles
        self.trusted_dirs = trusted_dirs
        self.skills = skills
        self.resolver = resolver
        self.cache = cache
        # Per evaluation only (never shared between calls): the same word, or two
        # executables in the same folder, are looked up once per command line, so every
        # segment of one command sees the same filesystem answer.
        self.resolved: dict[str, ResolvedExecutable | None] = {}
        self.symlinked: dict[str, bool] = {}
        # The environment for danger profiles, None when they are off.
        self.danger_env: Mapping[str, str] | None = None
        self.trusted_real: frozenset[str] | None = None

    def resolve(self, raw: str) -> ResolvedExecutable | None:
        found = self.resolved.get(raw, _UNSET)
        if found is not _UNSET:
            return found  # type: ignore[return-value]
        if not raw.strip():
            value = None
        elif self.cache is not None:
            value = self.cache.resolve(self.resolver, raw, cwd=self.cwd, path_env=self.path_env)
        else:
            value = resolve_executable(self.resolver, raw, cwd=self.cwd, path_env=self.path_env)
        self.resolved[raw] = value
        return value

    def real_trusted_dirs(self) -> frozenset[str]:
        """The trusted safe-bin folders and their real paths (``/bin`` is ``/usr/bin``)."""
        if self.trusted_real is None:
            real = (self.resolver.realpath(d) for d in self.trusted_dirs)
            self.trusted_real = self.trusted_dirs | {r for r in real if r is not None}
        return self.trusted_real

    def through_symlinked_folder(self, resolved: ResolvedExecutable) -> bool:
        if self.cache is not None or resolved.path is None:
            # A cached value keeps its own answer (revalidated with the value's stamps).
            return resolved.through_symlinked_folder
        folder = posixpath.dirname(resolved.path)
        found = self.symlinked.get(folder)
        if found is None:
            found = self.resolver.has_symlink(folder)
            self.symlinked[folder] = found
        return found


class _Abort(Exception):  # noqa: N818 - internal control flow
    def __init__(self, failure: AnalysisFailure) -> None:
        super().__init__(failure.message)
        self.failure = failure


def evaluate_command(
    command_or_argv: str | Sequence[str],
    *,
    cwd: str,
    env: Mapping[str, str],
    allowlist: Iterable[AllowlistEntry] | CompiledAllowlist = (),
    safe_bins: Iterable[str] | None = None,
    safe_bin_profiles: Mapping[str, SafeBinProfile] | None = None,
    safe_bin_trusted_dirs: Iterable[str] = (),
    auto_allow_skills: bool = False,
    skill_bins: Iterable[SkillBin | tuple[str, str]] = (),
    strict_inline_eval: bool = False,
    bare_name_patterns: bool = False,
    resolver: ExecutableResolver | None = None,
    cache: ResolutionCache | None = None,
    danger_profiles: bool = True,
    env_overrides: Mapping[str, str] | None = None,
    allowlist_home: str | None = None,
) -> Evaluation:
    """
    Analyse a command line (or an argv) and check every segment against the allowlist.

    Args:
        command_or_argv: Shell text (parsed with tree-sitter-bash against a whitelist
            of constructs), or an argv run without a shell.
        cwd: The absolute working directory the command would run in.
        env: The full environment it would run with (``PATH`` and ``HOME`` are read). A
            variable the host environment policy strips from an inherited environment
            (``SHELL``, ``LD_*``, ``GIT_CONFIG_*``, ...; see ``docs/environment.md``) fails
            analysis: strip inherited ones first (``sanitize_inherited_env``).
        allowlist: Entries (``openclaw_exec.policy.AllowlistEntry``) or a
            :class:`CompiledAllowlist` (compile once when evaluating often).
        safe_bins: Safe-bin names; ``None`` means OpenClaw's defaults.
        safe_bin_profiles: Extra or replacement profiles by bin name.
        safe_bin_trusted_dirs: Folders trusted for safe bins besides ``/bin`` and ``/usr/bin``.
        auto_allow_skills: Let trusted skill bins satisfy segments.
        skill_bins: The trusted skill bins (name, resolved path).
        strict_inline_eval: Inline eval always needs a human; allow-always persists nothing.
        bare_name_patterns: Let bare-name patterns (``rg``) match PATH lookups (later
            OpenClaw builds); OpenClaw 2026.4.1 ignores them, which is the default.
        resolver: Filesystem access; defaults to :class:`OsResolver`.
        cache: A :class:`ResolutionCache` shared across calls (``None``: no caching).
        danger_profiles: Refuse options that make an allowlisted program run code or
            write protected paths (``git -c core.pager=…``, ``find -exec``, ``sort -o``,
            ``tee ~/.bashrc``; the table is :data:`DANGER_ROWS`) unless an entry's
            ``argPattern`` allowed the arguments. ``False`` gives OpenClaw-identical
            verdicts (no argument-level profiles).
        env_overrides: What the agent asked to add to *env*: a key on the override block
            lists (``PATH``, ``HOME``, ``GIT_*`` ...) fails analysis; the rest are merged.
        allowlist_home: The folder ``~`` in allowlist patterns stands for (default:
            :func:`pattern_home` of *env*). The guard passes its host's, so no command
            environment (``HOME``, ``OPENCLAW_HOME``) re-roots them.

    Returns:
        The evaluation. Commands the analyser does not fully understand come back with
        ``analysis_ok=False`` and a reason; this function does not raise for any text.

    Raises:
        AnalysisError: For misuse: a relative *cwd*, a non-string command, and so on.
    """
    cwd_in: object = cwd
    env_in: object = env
    if not isinstance(cwd_in, str) or not cwd_in.startswith("/"):
        raise AnalysisError(f"cwd must be an absolute path, got {cwd!r}")
    if type(env_in) is not dict and not isinstance(env_in, Mapping):
        raise AnalysisError(f"env must be a mapping, got {type(env).__name__}")
    # "~" in allowlist patterns: the caller's folder (the guard passes its host's), else
    # the one the environment names (OPENCLAW_HOME, then HOME, as OpenClaw).
    home = pattern_home(env) if allowlist_home is None else allowlist_home
    home = home if isinstance(home, str) and home.startswith("/") else None
    if isinstance(allowlist, CompiledAllowlist):
        compiled = allowlist
    else:
        compiled = _compiled_for(tuple(allowlist), home, bare_name_patterns=bare_name_patterns)
    try:
        env_failure = environment_failure(env, env_overrides)
    except TypeError as exc:
        raise AnalysisError(str(exc)) from None
    path_env = (env_overrides or {}).get("PATH", env.get("PATH", ""))
    if not isinstance(path_env, str):
        raise AnalysisError("env['PATH'] must be a string")
    extra_dirs = tuple(safe_bin_trusted_dirs)
    ctx = _Context(
        cwd if ("/." not in cwd and "//" not in cwd) else posixpath.normpath(cwd),
        path_env,
        compiled,
        DEFAULT_SAFE_BINS
        if safe_bins is None
        else frozenset(b.strip().lower() for b in safe_bins if b.strip()),
        DEFAULT_SAFE_BIN_PROFILES
        if not safe_bin_profiles
        else {
            **DEFAULT_SAFE_BIN_PROFILES,
            **{k.strip().lower(): v for k, v in safe_bin_profiles.items()},
        },
        _DEFAULT_TRUSTED_DIRS
        if not extra_dirs
        else frozenset(
            posixpath.normpath(d.strip())
            for d in (*DEFAULT_SAFE_BIN_TRUSTED_DIRS, *extra_dirs)
            if d.strip().startswith("/")
        ),
        _skill_index(skill_bins) if auto_allow_skills else None,
        resolver if resolver is not None else _DEFAULT_RESOLVER,
        cache,
    )
    if danger_profiles:
        ctx.danger_env = env
    raw_segments: list[RawSegment]
    ops: list[str | None]
    part_sizes: list[int]
    if isinstance(command_or_argv, str):
        command: str | None = command_or_argv
        argv_in: tuple[str, ...] | None = None
        command_text = command_or_argv
        parts, failed = parse_raw(command_or_argv)
        failure = failed.failure if failed is not None else None
        heredoc = failed is not None and failed.heredoc
        raw_segments = []
        ops = []
        part_sizes = []
        for part_segments, op in parts:
            raw_segments.extend(part_segments)
            part_sizes.append(len(part_segments))
            ops.extend(["|"] * (len(part_segments) - 1))
            ops.append(op)
    elif _is_argv(command_or_argv):
        command = None
        argv_in = tuple(command_or_argv)
        command_text = shlex.join(argv_in)
        heredoc = False
        failure = None
        ops = [None]
        part_sizes = [1]
        if not argv_in or not argv_in[0].strip():
            failure = AnalysisFailure("empty argv", 0, "empty argv at position 0")
        elif any("\x00" in w for w in argv_in):
            failure = AnalysisFailure("NUL byte", 0, "NUL byte in argv at position 0")
        raw_segments = [(argv_in, (), command_text, 0)] if failure is None else []
    else:
        kind = type(command_or_argv).__name__
        raise AnalysisError(f"command must be a string or a sequence of strings, got {kind}")

    if failure is None and env_failure is not None:
        failure = env_failure
        raw_segments = []
    segments: tuple[SegmentEvaluation, ...] = ()
    if failure is None:
        try:
            segments = tuple(
                [_evaluate_segment(seg, ctx, 0, strict_inline_eval) for seg in raw_segments]
            )
        except _Abort as abort:
            failure = abort.failure
            segments = ()
    analysis_ok = failure is None
    if not analysis_ok:
        ops = []
    satisfied = analysis_ok and bool(segments)
    may_hit = False
    for top in segments:
        if top.satisfied_by is None:
            satisfied = False
        if top.inline_eval is not None or top.inner:
            may_hit = True
    hits = _inline_hits(segments) if may_hit else ()
    durable = _durable(
        command_text,
        compiled._durable_entries,  # noqa: SLF001 - same module
        segments,
        analysis_ok=analysis_ok,
    )

    # OpenClaw derives allow-always patterns from the chain parts up to and including
    # the first part that misses; persisting more would allow more than it does.
    def grants() -> tuple[AllowAlwaysGrant, ...]:
        aa_segments: list[SegmentEvaluation] = []
        if analysis_ok:
            start = 0
            for size in part_sizes:
                chunk = segments[start : start + size]
                start += size
                aa_segments.extend(chunk)
                if len(part_sizes) > 1 and not all(s.satisfied for s in chunk):
                    break
        return _allow_always(
            command_text,
            aa_segments,
            ctx,
            analysis_ok=analysis_ok,
            strict=strict_inline_eval,
            hits=hits,
        )

    return _make_evaluation(
        command,
        argv_in,
        command_text,
        analysis_ok,
        failure,
        satisfied,
        segments,
        tuple(ops),
        durable,
        heredoc,
        hits,
        strict_inline_eval,
        grants,
    )


def pattern_home(env: Mapping[str, str]) -> str | None:
    """
    The folder ``~`` in allowlist patterns stands for.

    ``OPENCLAW_HOME`` when set, else ``HOME`` (OpenClaw 2026.9.6's
    ``resolveEffectiveHomeDir``). A ``~`` at the start of
    ``OPENCLAW_HOME`` is expanded with ``HOME``. ``None`` (``~`` patterns never match)
    when the folder is not an absolute path, rather than guessing one.
    """

    def value(name: str) -> str | None:
        raw = env.get(name)
        if not isinstance(raw, str):
            return None
        trimmed = raw.strip()
        return trimmed if trimmed and trimmed not in ("undefined", "null") else None

    os_home = value("HOME")
    home = value("OPENCLAW_HOME")
    if home is None:
        home = os_home
    elif home == "~" or home.startswith("~/"):
        home = None if os_home is None else os_home + home[1:]
    if home is None or not home.startswith("/"):
        return None
    normalized = posixpath.normpath(home)
    return "/" + normalized.lstrip("/") if normalized.startswith("//") else normalized


_COMPILED: dict[tuple[object, ...], CompiledAllowlist] = {}
_COMPILED_MAX = 64


def _compiled_for(
    entries: tuple[AllowlistEntry, ...], home: str | None, *, bare_name_patterns: bool
) -> CompiledAllowlist:
    # Entries are immutable and the cached value keeps them alive, so their ids cannot be
    # reused while the key exists: an identity key is exact and cheap to build.
    key = (home, bare_name_patterns, *map(id, entries))
    found = _COMPILED.get(key)
    if found is None:
        found = compile_allowlist(entries, home=home, bare_name_patterns=bare_name_patterns)
        if len(_COMPILED) >= _COMPILED_MAX:
            _COMPILED.clear()
        _COMPILED[key] = found
    return found


def _inline_hits(segments: Sequence[SegmentEvaluation]) -> tuple[InlineEvalHit, ...]:
    found: list[InlineEvalHit] = []
    for top in segments:
        if top.inner:
            found.extend(s.inline_eval for s in top.walk() if s.inline_eval is not None)
        elif top.inline_eval is not None:
            found.append(top.inline_eval)
    return tuple(found)


def _is_argv(value: object) -> TypeGuard[Sequence[str]]:
    return isinstance(value, Sequence) and all(isinstance(w, str) for w in value)


def _skill_index(skill_bins: Iterable[SkillBin | tuple[str, str]]) -> Mapping[str, frozenset[str]]:
    index: dict[str, set[str]] = {}
    for item in skill_bins:
        name, path = (item.name, item.resolved_path) if isinstance(item, SkillBin) else item
        name = name.strip().lower()
        path = path.strip()
        if not name or not path.startswith("/"):
            continue
        index.setdefault(name, set()).add(posixpath.normpath(path))
    return {k: frozenset(v) for k, v in index.items()}


def _candidate_path(resolved: ResolvedExecutable | None) -> str | None:
    if resolved is None or resolved.path is None or resolved.traversal:
        return None
    return resolved.path


def _evaluate_segment(
    seg: RawSegment, ctx: _Context, depth: int, strict: bool
) -> SegmentEvaluation:
    argv, assignments, raw, position = seg
    plan = wrapper_plan(argv)
    execution = ctx.resolve(plan.argv[0]) if plan.argv else None
    policy = (
        execution
        if plan.policy_argv == plan.argv
        else (ctx.resolve(plan.policy_argv[0]) if plan.policy_argv else None)
    )
    # The effective argv, or behind a blocked wrapper (2026.9.6 looks through carriers).
    inline = detect_inline_eval(plan.argv)
    if inline is None and plan.blocked:
        inline = detect_carried_inline_eval(plan.argv)
    inner: tuple[SegmentEvaluation, ...] = ()
    if plan.shell_wrapper and plan.shell_inline_command is not None and not plan.blocked:
        inner = _evaluate_payload(plan.shell_inline_command, position, ctx, depth, strict)

    # A builtin shape that is not proven harmless is never the allowlisted file of its
    # name (text shapes that run code already failed parsing; an argv lands here).
    builtin = check_builtin(argv)
    floor = payload_segment_refusal(argv, plan) if depth else None
    decision: _Decision = (
        (None, None, builtin.reason)
        if builtin is not None
        else (None, None, floor)
        if floor is not None
        else _decide(assignments, plan, execution, policy, inline, inner, ctx)
    )
    by, entry, reason = decision
    danger = None
    if by is not None and ctx.danger_env is not None:
        danger = _danger(plan, execution, entry, ctx)
        if danger is not None:
            by, reason = None, f"{danger.describe()} (an argPattern can allow it explicitly)"
    elif (
        ctx.danger_env is not None
        and inline is not None
        and inline.normalized_executable in _COMMAND_RUNNERS
    ):
        # find -exec / xargs CMD miss whatever the entry (no argPattern can allow them);
        # the row is still named, for explain.
        danger = _danger(plan, execution, None, ctx)
    return _make_segment(
        argv,
        assignments,
        raw,
        position,
        depth,
        plan.argv,
        plan.wrappers,
        plan.blocked_wrapper,
        execution,
        policy,
        by,
        entry,
        reason,
        inline,
        inner,
        danger,
    )


def _danger(
    plan: WrapperPlan,
    execution: ResolvedExecutable | None,
    entry: AllowlistEntry | None,
    ctx: _Context,
) -> DangerHit | None:
    """The danger row that fires for a satisfied segment, unless its entry allows it."""
    if not plan.argv or ctx.danger_env is None:
        return None
    names = (execution.real_path,) if execution is not None and execution.real_path else ()
    hit = find_danger(
        plan.argv, cwd=ctx.cwd, env=ctx.danger_env, resolver=ctx.resolver, names=names
    )
    # The administrator's explicit allowance: an entry whose argPattern matched these
    # arguments (a plain path entry, or an allow-always path grant, never does).
    if hit is None or (entry is not None and arg_pattern_matches(entry, plan.argv, cwd=ctx.cwd)):
        return None
    return hit


_Decision = tuple["SatisfiedBy | None", "AllowlistEntry | None", "str | None"]


def _decide(  # noqa: PLR0917 - the facts gathered by _evaluate_segment
    assignments: tuple[tuple[str, str], ...],
    plan: WrapperPlan,
    execution: ResolvedExecutable | None,
    policy: ResolvedExecutable | None,
    inline: InlineEvalHit | None,
    inner: tuple[SegmentEvaluation, ...],
    ctx: _Context,
) -> _Decision:
    """What satisfies the segment, the entry that matched, and why not (a miss)."""
    if plan.blocked:
        return (None, None, plan.blocked_reason)
    if inline is not None and inline.normalized_executable in _COMMAND_RUNNERS:
        # find -exec / xargs CMD run a command the analyser never sees (stricter than 4.1,
        # as later OpenClaw builds): no entry for find or xargs can cover it.
        return (None, None, f"{inline.describe()} runs a command that is not analysed")
    if assignments:
        names = ", ".join(name for name, _ in assignments)
        return (None, None, f"leading assignment ({names}) changes the executable's environment")
    for resolved in (execution, policy):
        if resolved is not None and resolved.traversal:
            return (None, None, f"{resolved.raw!r} goes through '..' across a symlink")
    entry = _match(plan, policy, ctx)
    if (
        entry is not None
        and policy is not None
        and entry is not ctx.allowlist._any  # noqa: SLF001 - same module
        and ctx.through_symlinked_folder(policy)
    ):
        real = policy.real_path
        if real is None or ctx.allowlist.match(None, **_match_args(plan, real, ctx)) is None:
            return (
                None,
                None,
                (
                    f"{policy.path} is reached through a symlinked folder and its real path "
                    f"{real} is not allowlisted"
                ),
            )
    by: SatisfiedBy | None = None
    if entry is not None:
        by = SatisfiedBy.ALLOWLIST
    elif _safe_bin(plan, execution, ctx):
        by = SatisfiedBy.SAFE_BINS
    elif _skill(execution, ctx):
        by = SatisfiedBy.SKILLS
    if by is None:
        if policy is None or policy.path is None:
            word = plan.policy_argv[0] if plan.policy_argv else ""
            reason = f"{word!r} does not resolve to an executable"
        else:
            reason = f"no allowlist entry matches {policy.path}"
            name = posixpath.basename(execution.path) if execution and execution.path else ""
            if name in ctx.safe_bins and name in ALWAYS_DENIED_SAFE_BINS:
                reason += f" ({name} is never a safe bin: it reads the environment or runs code)"
        return (None, None, reason)
    if inner and not all(s.satisfied for s in inner):
        return (None, entry, "the shell payload has a segment that is not allowlisted")
    return (by, entry, None)


def _match(
    plan: WrapperPlan, policy: ResolvedExecutable | None, ctx: _Context
) -> AllowlistEntry | None:
    if plan.shell_wrapper and plan.shell_inline_command is None:
        # A shell without -c runs a script (or stdin): only the script itself can be
        # allowlisted; matching the shell binary would allow any script (stricter than 4.1).
        script = shell_script_candidate(plan.argv, "", ctx.cwd)
        if script is None or not ctx.resolver.is_executable_file(script):
            return None
        return ctx.allowlist.match(None, **_match_args(plan, script, ctx))
    return ctx.allowlist.match(policy, argv=plan.argv, cwd=ctx.cwd)


class _MatchArgs(TypedDict):
    path: str
    argv: tuple[str, ...]
    cwd: str
    real_path: str | None


def _match_args(plan: WrapperPlan, path: str, ctx: _Context) -> _MatchArgs:
    """What an entry's argPattern sees when *path* is matched for *plan*'s segment."""
    real = ctx.resolver.realpath(path)
    if plan.shell_wrapper and plan.shell_inline_command is None:
        argv = script_argv(plan.argv, path, ctx.cwd)
        return {"path": path, "argv": argv, "cwd": ctx.cwd, "real_path": real}
    return {"path": path, "argv": plan.argv, "cwd": ctx.cwd, "real_path": real}


def script_argv(argv: Sequence[str], script: str, cwd: str) -> tuple[str, ...]:
    """
    ``[script, *its arguments]`` for a shell running *script*.

    The words after the one naming the script (OpenClaw's ``resolveShellWrapperScriptArgv``).
    """
    base = posixpath.basename(script).lower()
    words = list(argv)
    index = next(
        (
            i
            for i, w in enumerate(words)
            if posixpath.normpath(w if w.startswith("/") else posixpath.join(cwd, w)) == script
        ),
        -1,
    )
    if index < 0:
        index = next((i for i, w in enumerate(words) if posixpath.basename(w).lower() == base), -1)
    return (script, *(words[index + 1 :] if index >= 0 else ()))


def _safe_bin(plan: WrapperPlan, execution: ResolvedExecutable | None, ctx: _Context) -> bool:
    if not ctx.safe_bins or execution is None or execution.path is None:
        return False
    name = posixpath.basename(execution.path)
    if name not in ctx.safe_bins:
        return False
    profile = ctx.profiles.get(name)
    if profile is None:
        return False
    if not safe_bin_trusted(
        name, execution.path, execution.real_path, ctx.safe_bins, ctx.real_trusted_dirs()
    ):
        return False
    return validate_safe_bin_argv(plan.argv[1:], profile, bin_name=name)


def _skill(execution: ResolvedExecutable | None, ctx: _Context) -> bool:
    if ctx.skills is None or execution is None or execution.path is None:
        return False
    raw = execution.raw.strip()
    if not raw or "/" in raw or "\\" in raw:
        return False
    paths = ctx.skills.get(execution.name.strip().lower())
    return paths is not None and execution.path in paths


def _evaluate_payload(
    payload: str, position: int, ctx: _Context, depth: int, strict: bool
) -> tuple[SegmentEvaluation, ...]:
    where = f"in the shell payload of the segment at position {position}"
    if depth + 1 > MAX_SHELL_DEPTH:
        construct = f"shell wrappers nested deeper than {MAX_SHELL_DEPTH}"
        raise _Abort(AnalysisFailure(construct, position, f"{construct} {where}"))
    parts, failed = parse_raw(payload)
    if failed is not None and failed.failure is not None:
        f = failed.failure
        raise _Abort(
            AnalysisFailure(
                f.construct, position, f"{f.construct} at payload position {f.position} {where}"
            )
        )
    return tuple(
        [_evaluate_segment(inner, ctx, depth + 1, strict) for segs, _op in parts for inner in segs]
    )


def _durable(
    command_text: str,
    entries: Sequence[AllowlistEntry],
    segments: Sequence[SegmentEvaluation],
    *,
    analysis_ok: bool,
) -> bool:
    if not analysis_ok:
        # Stricter than OpenClaw: an exact-command grant never re-admits a command the
        # analyser does not understand (so a failed analysis is never ALLOW).
        return False
    if not entries:  # only allow-always entries are passed in
        return False
    normalized = command_text.strip(_JS_WHITESPACE)
    if normalized:
        pattern = durable_command_pattern(normalized)
        for entry in entries:
            if entry.source == "allow-always" and (
                entry.pattern == pattern
                or (
                    isinstance(entry.command_text, str)
                    and entry.command_text.strip(_JS_WHITESPACE) == normalized
                )
            ):
                return True
    if not segments:
        return False
    for top in segments:
        for seg in top.walk():
            if seg.matched_entry is None or seg.matched_entry.source != "allow-always":
                return False
            if seg.assignments or seg.blocked_wrapper is not None:
                return False
            if seg.danger is not None:
                # A path grant covers the program's ordinary use, not a danger row; only
                # the exact-command grant above (a human saw this very text) does.
                return False
    return True


def _allow_always(
    command_text: str,
    segments: Sequence[SegmentEvaluation],
    ctx: _Context,
    *,
    analysis_ok: bool,
    strict: bool,
    hits: Sequence[InlineEvalHit],
) -> tuple[AllowAlwaysGrant, ...]:
    if (strict and hits) or not analysis_ok:
        return ()
    found: dict[tuple[str, str], None] = {}
    missing: list[str] = []
    for seg in segments:
        _collect(
            seg.argv,
            has_assignments=bool(seg.assignments),
            ctx=ctx,
            strict=strict,
            depth=0,
            out=found,
            missing=missing,
        )
    if missing:
        # A program that does not exist yet (`./nonexistent-tool`) is approved once, never
        # always: neither its path nor the exact text may admit a file created later.
        return ()
    grants = [
        AllowAlwaysGrant(
            pattern=path,
            kind="path",
            preview=f"{path} with exactly these arguments, run from {ctx.cwd}",
            arg_pattern=arg_pattern,
        )
        for path, arg_pattern in found
    ]
    if grants:
        return tuple(grants)
    if not command_text.strip(_JS_WHITESPACE):
        return ()
    return (
        AllowAlwaysGrant(
            pattern=durable_command_pattern(command_text),
            kind="command",
            preview="exactly this command text, nothing else",
        ),
    )


def _collect(
    argv: tuple[str, ...],
    *,
    has_assignments: bool,
    ctx: _Context,
    strict: bool,
    depth: int,
    out: dict[tuple[str, str], None],
    missing: list[str],
) -> None:
    if depth >= MAX_SHELL_DEPTH or has_assignments or not argv or check_builtin(argv):
        return
    plan = wrapper_plan(argv)
    if plan.blocked:
        return
    execution = ctx.resolve(plan.argv[0]) if plan.argv else None
    # Only an executable regular file that exists now is persisted (OpenClaw 2026.4.1
    # also saved a path-like word naming nothing, which a file created later would match).
    candidate = _candidate_path(execution)
    if candidate is None:
        if execution is not None and execution.path is None:
            missing.append(plan.argv[0])
        return
    if is_interpreter_like(candidate) and (not strict or detect_inline_eval(plan.argv) is not None):
        return
    if not plan.shell_wrapper:
        _grant(candidate, plan.argv, ctx, out)
        return
    payload = plan.shell_inline_command
    if payload is None:
        script = shell_script_candidate(plan.argv, posixpath.basename(candidate), ctx.cwd)
        if script is not None and ctx.resolver.is_executable_file(script):
            _grant(script, script_argv(plan.argv, script, ctx.cwd), ctx, out)
        return
    parsed = parse_shell_command(payload)
    if not parsed.ok:
        return
    for inner in parsed.segments:
        _collect(
            inner.argv,
            has_assignments=bool(inner.assignments),
            ctx=ctx,
            strict=strict,
            depth=depth + 1,
            out=out,
            missing=missing,
        )


def _grant(path: str, argv: Sequence[str], ctx: _Context, out: dict[tuple[str, str], None]) -> None:
    # Stored as its real path, as OpenClaw 2026.9.6 does (and matched by it): a symlink
    # repointed later voids the grant. A path with glob characters would act as a wildcard.
    real = ctx.resolver.realpath(path)
    if real is None or "*" in real or "?" in real:
        return
    out[(real, cwd_bound_arg_pattern(argv, ctx.cwd))] = None
