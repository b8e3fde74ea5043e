"""
The exec guard's values: its answers, their reason codes, the plan a command is checked for.

:class:`Authorization` and :class:`PendingApproval` are the two answers; :class:`GuardReason`
the codes the guard adds to the policy's; :func:`exec_environment` builds the environment a
command is checked for and runs with (its cwd: :mod:`openclaw_exec._guard_cwd`).

Split from :mod:`openclaw_exec.guard` (which re-exports every public name here) so the
guard module holds the decision flow only.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

import attrs

from openclaw_exec._guard_cwd import CwdIdentity
from openclaw_exec.analysis import (
    Evaluation,
    ExecEnvironment,
    plan_exec_env,
    sanitize_inherited_env,
)
from openclaw_exec.analysis._evaluate import pattern_home
from openclaw_exec.audit import AuditRecord
from openclaw_exec.exceptions import AnalysisError
from openclaw_exec.policy import (
    ExecPolicy,
    ResolvedPolicy,
    Sandbox,
    VerdictResult,
)
from openclaw_exec.protocol import (
    ApprovalRequest,
    Decision,
    ExecBinding,
)

__all__ = [
    "Authorization",
    "GuardReason",
    "PendingApproval",
    "exec_environment",
]

_PORTABLE_FIRST = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_"
_PORTABLE = frozenset(_PORTABLE_FIRST + "0123456789")
_HANDLE_VERSION = 1


class GuardReason:
    """Reason codes the guard adds to the policy's (``VerdictReason``) codes."""

    USER_DENIED = "user-denied"  # a human answered deny
    USER_APPROVED = "user-approved"  # a human answered allow-once / allow-always
    APPROVALS_FILE_ERROR = "approvals-file-error"  # the approvals file is malformed
    APPROVAL_REQUEST_FAILED = "approval-request-failed"  # the store failed or refused
    APPROVAL_NOT_CONSUMABLE = "approval-not-consumable"  # the decision could not be spent
    AUDIT_FAILED = "audit-log-unavailable"  # the decision could not be recorded
    APPROVE_COMMAND = "approve-command-refused"  # an agent tried to run /approve itself
    SANDBOX_UNAVAILABLE = "sandbox-unavailable"  # sandbox=required and no backend works
    REVIEWER_APPROVED = "reviewer-approved"  # mode auto: the embedder's reviewer allowed it once
    REVIEWER_DENIED = "reviewer-denied"  # the embedder's reviewer denied it
    GRANT_UNAVAILABLE = "grant-unavailable"  # a grant was used up or revoked meanwhile
    # Deferred approvals (ExecGuard.resume): refusals of one resume call. The approval
    # itself is left as it was (pending, decided), except that a replay finds it collected.
    APPROVAL_REPLAYED = "approval-replayed"  # this approval's outcome was already collected
    APPROVAL_UNKNOWN = "approval-unknown"  # the store does not know the id (or forgot it)
    APPROVAL_PLAN_MISMATCH = "approval-plan-mismatch"  # the approval binds another plan
    # Refused at the start (guarded_run, run_authorized): the allowed command did not run.
    CWD_CHANGED = "cwd-changed"  # the cwd path no longer reaches the folder that was checked


@attrs.frozen(kw_only=True)
class Authorization:
    """
    The guard's answer for one command.

    Attributes:
        allowed: Whether the command may run (exactly as given, in ``cwd``, with
            ``environment.env``).
        reason: Stable code: a :class:`~openclaw_exec.policy.VerdictReason` value or a
            :class:`GuardReason` one.
        message: Why, in words (file errors, approver, fallback ...).
        command: The command authorised (or not).
        cwd: Its working directory, resolved through the real filesystem (symlinks
            followed once): the folder that was checked, and the one to run in.
        agent_id: The agent.
        policy: The effective policy, or ``None`` if it could not be resolved.
        verdict: The policy verdict before any human was asked.
        approval_id: The approval id when a human was asked.
        decision: The human decision, or ``None`` (none asked, or no answer).
        approver: Who decided (``resolvedBy``).
        no_route: No approver could be asked (``askFallback`` applied at once).
        persisted: Patterns persisted by an ``allow-always``.
        sandbox: The sandbox backend the command must run in (``bubblewrap``,
            ``landlock``), or ``None`` for an unconfined run. The approval was bound to
            it: :func:`~openclaw_exec.guarded_run` confines exactly so.
        sandbox_spec: What the sandbox allows, when :attr:`sandbox` is set.
        sandbox_detail: How the backend was chosen (or why none was).
        evaluation: The command analysis, when it ran.
        audit: The audit record written, if any.
        env_stripped: Inherited variables removed before the check (``SHELL``,
            ``LD_*`` ...): the command runs without them. Not a refusal.
        env_blocked: Variables refused: requested overrides on the override lists, or
            keys of a full ``env=`` that would have been stripped. Any makes the command
            an analysis failure (ask, or deny by policy); they never reach the process.
        environment: The :class:`~openclaw_exec.analysis.ExecEnvironment` that was
            checked; ``environment.env`` is exactly what the command must run with (the
            approval binding's environment hash covers it).
        grants: The ids of the grants (``agents.<id>.grants``) that allowed the command;
            each use was recorded (``useCount``) before the answer.
        cwd_identity: ``(st_dev, st_ino)`` of the folder :attr:`cwd` reached when the
            command was checked (``None``: it reached none). The run refuses to start
            (``cwd-changed``) unless the path still reaches that very folder.
    """

    allowed: bool
    reason: str
    message: str
    command: str
    cwd: str | None = None
    agent_id: str | None = None
    policy: ExecPolicy | None = None
    verdict: VerdictResult | None = None
    approval_id: str | None = None
    decision: Decision | None = None
    approver: str | None = None
    no_route: bool = False
    persisted: tuple[str, ...] = ()
    sandbox: str | None = None
    sandbox_spec: Sandbox | None = None
    sandbox_detail: str = ""
    evaluation: Evaluation | None = attrs.field(default=None, repr=False, eq=False)
    audit: AuditRecord | None = attrs.field(default=None, repr=False, eq=False)
    env_stripped: tuple[str, ...] = ()
    env_blocked: tuple[str, ...] = ()
    environment: ExecEnvironment | None = attrs.field(default=None, repr=False, eq=False)
    grants: tuple[str, ...] = ()
    cwd_identity: CwdIdentity | None = attrs.field(default=None, repr=False)

    def __bool__(self) -> bool:
        """Truthy only when allowed."""
        return self.allowed


@attrs.frozen(kw_only=True)
class PendingApproval:
    """
    A human must decide before the command may run; nothing may run yet.

    :meth:`ExecGuard.check <openclaw_exec.guard.ExecGuard.check>` returns it instead of
    waiting: the approval is registered in the guard's store under :attr:`approval_id` and
    bound to the exact plan (:attr:`binding`: argv, sandbox, cwd, agent, session, environment
    hash). Show it to a human however the application likes (a LangGraph ``interrupt()``, a
    deferred tool call, a chat message) and hand it to
    :meth:`ExecGuard.resume <openclaw_exec.guard.ExecGuard.resume>`, with or without the
    decision, from this task, another task, or (through :meth:`to_dict` / :meth:`from_dict`)
    another process, replica or a restarted one, as long as the store still holds the
    approval. It is falsy, like a refusal: code that only tests ``if auth:`` never runs a
    pending command.

    Attributes:
        approval_id: The approval id in the store (what approvers answer).
        command: The command text as checked.
        cwd: The resolved working directory the command is checked for and runs in.
        agent_id: The agent, as given to :meth:`check` (``None``: ``main``).
        session_key: The conversation, bound to the approval.
        binding: Exactly what a decision will allow; a resume whose plan does not produce
            the same binding is refused (``approval-plan-mismatch``).
        created_at_ms: When the approval was registered (epoch milliseconds, store clock).
        expires_at_ms: When it expires with no decision (``askFallback`` applies then).
        request: The request as approvers see it (``None`` when rebuilt by :meth:`from_dict`).
        verdict: Why the policy asked (``None`` when rebuilt by :meth:`from_dict`).
        policy: The effective policy at :meth:`check` (``None`` when rebuilt).
        call_policy: The per-call policy given to :meth:`check`; :meth:`resume` re-applies it.
        call_sandbox: The per-call sandbox spec given to :meth:`check`; re-applied likewise.
        environment: The environment the command was checked for and must run with
            (values are never serialised: :meth:`to_dict` keeps the hash only).
        cwd_identity: ``(st_dev, st_ino)`` of the folder :attr:`cwd` reached at the
            check; the approved command starts only in that very folder.
    """

    approval_id: str
    command: str
    cwd: str
    agent_id: str | None
    session_key: str | None
    binding: ExecBinding
    created_at_ms: int
    expires_at_ms: int
    request: ApprovalRequest | None = attrs.field(default=None, repr=False, eq=False)
    verdict: VerdictResult | None = attrs.field(default=None, repr=False, eq=False)
    policy: ExecPolicy | None = attrs.field(default=None, repr=False, eq=False)
    call_policy: ExecPolicy | None = attrs.field(default=None, repr=False, eq=False)
    call_sandbox: Sandbox | None = attrs.field(default=None, repr=False, eq=False)
    environment: ExecEnvironment = attrs.field(repr=False, eq=False)
    cwd_identity: CwdIdentity | None = attrs.field(default=None, repr=False, eq=False)

    allowed = False
    """Never allowed: a pending approval runs nothing (mirrors :attr:`Authorization.allowed`)."""

    def __bool__(self) -> bool:
        """Always falsy: nothing may run yet."""
        return False

    def to_dict(self) -> dict[str, Any]:
        """
        A JSON-safe form, to checkpoint and resume elsewhere (no environment values).

        The environment is represented by the binding's hash only, and the per-call policy
        and sandbox not at all: give them again to :meth:`from_dict`, exactly as they were
        given to :meth:`~openclaw_exec.guard.ExecGuard.check`, or the resume is refused
        (the plan would differ). The form is not a credential: resuming needs the store to
        hold the approval, and a decision still has to come from an approver.
        """
        binding = self.binding
        return {
            "version": _HANDLE_VERSION,
            "approvalId": self.approval_id,
            "command": self.command,
            "cwd": self.cwd,
            "agentId": self.agent_id,
            "sessionKey": self.session_key,
            "createdAtMs": self.created_at_ms,
            "expiresAtMs": self.expires_at_ms,
            "binding": {
                "argv": list(binding.argv),
                "cwd": binding.cwd,
                "agentId": binding.agent_id,
                "sessionKey": binding.session_key,
                "envHash": binding.env_hash,
            },
            # A string: an inode may exceed what a JSON number keeps exactly elsewhere.
            "cwdIdentity": None
            if self.cwd_identity is None
            else f"{self.cwd_identity[0]}:{self.cwd_identity[1]}",
        }

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        *,
        env: Mapping[str, str] | ExecEnvironment | None = None,
        env_overrides: Mapping[str, str] | None = None,
        policy: ExecPolicy | None = None,
        sandbox: Sandbox | None = None,
    ) -> PendingApproval:
        """
        Rebuild a handle made by :meth:`to_dict`.

        Args:
            data: What :meth:`to_dict` returned (after a JSON round trip, say).
            env: The environment, as given to ``check`` (``None``: this process's own,
                stripped; another host's environment hashes differently and the resume is
                refused).
            env_overrides: The overrides, as given to ``check``.
            policy: The per-call policy, as given to ``check``.
            sandbox: The per-call sandbox spec, as given to ``check``.

        Raises:
            ValueError: *data* is not such a form (naming the field and what was expected).
        """
        form: object = data  # it came from a checkpoint or JSON: check, do not trust
        if not isinstance(form, Mapping):
            msg = f"a pending approval must be a mapping, got {type(form).__name__}"
            raise ValueError(msg)  # noqa: TRY004 (one error type for every malformed form)
        if data.get("version") != _HANDLE_VERSION:
            raise ValueError(
                f"pending approval: version must be {_HANDLE_VERSION}, got {data.get('version')!r}"
            )
        raw_binding = data.get("binding")
        if not isinstance(raw_binding, Mapping):
            msg = "pending approval: binding must be an object"
            raise ValueError(msg)  # noqa: TRY004 (one error type for every malformed form)
        try:
            binding = ExecBinding(
                argv=tuple(_field(raw_binding, "argv", list)),
                cwd=_field(raw_binding, "cwd", str, optional=True),
                agent_id=_field(raw_binding, "agentId", str, optional=True),
                session_key=_field(raw_binding, "sessionKey", str, optional=True),
                env_hash=_field(raw_binding, "envHash", str, optional=True),
            )
        except (TypeError, ValueError) as exc:
            raise ValueError(f"pending approval: binding: {exc}") from None
        return cls(
            approval_id=_field(data, "approvalId", str),
            command=_field(data, "command", str),
            cwd=_field(data, "cwd", str),
            agent_id=_field(data, "agentId", str, optional=True),
            session_key=_field(data, "sessionKey", str, optional=True),
            created_at_ms=_field(data, "createdAtMs", int),
            expires_at_ms=_field(data, "expiresAtMs", int),
            binding=binding,
            call_policy=policy,
            call_sandbox=sandbox,
            environment=exec_environment(env, env_overrides),
            cwd_identity=_identity_field(data),
        )


def _identity_field(data: Mapping[str, Any]) -> CwdIdentity | None:
    """``cwdIdentity``: ``"<dev>:<ino>"``; absent or null in a handle made before it existed."""
    raw = _field(data, "cwdIdentity", str, optional=True)
    if raw is None:
        return None
    dev, sep, ino = raw.partition(":")
    digits = sep and dev.isascii() and ino.isascii() and dev.isdigit() and ino.isdigit()
    if not digits or len(raw) > 41:  # two 64-bit numbers at most
        msg = f"pending approval: cwdIdentity must be '<device>:<inode>', got {raw!r}"
        raise ValueError(msg)
    return (int(dev), int(ino))


def _field(data: Mapping[str, Any], name: str, kind: type, *, optional: bool = False) -> Any:
    value: Any = data.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, kind) or isinstance(value, bool):
        want = f"{kind.__name__}{' or null' if optional else ''}"
        msg = f"pending approval: {name} must be {want}, got {value!r}"
        raise ValueError(msg)  # noqa: TRY004 (one error type for every malformed form)
    if isinstance(value, list) and not all(isinstance(item, str) for item in value):
        raise ValueError(f"pending approval: {name} must be a list of strings")
    return value


def exec_environment(
    env: Mapping[str, str] | ExecEnvironment | None = None,
    env_overrides: Mapping[str, str] | None = None,
) -> ExecEnvironment:
    """
    The environment a command will run with, split the way OpenClaw splits it.

    Args:
        env: ``None``: the host's own environment (``os.environ``), with every variable
            the host environment policy names *stripped* (``SHELL``, ``LD_*``,
            ``GIT_EDITOR``, ``NODE_OPTIONS`` ...; reported in ``stripped``). A mapping: a
            full environment the caller chose; a key that would have been stripped is
            *refused* instead (``blocked``) and left out. An
            :class:`~openclaw_exec.analysis.ExecEnvironment`: used as it is.
        env_overrides: What the agent asked to add; a key on the override block lists
            (``PATH``, ``HOME``, ``GIT_SSH_COMMAND``, ``XDG_CONFIG_HOME`` ...) is refused
            and left out, the rest are merged over *env*.

    Raises:
        AnalysisError: A name or value is not a string, or an
            :class:`~openclaw_exec.analysis.ExecEnvironment` came with *env_overrides*.
    """
    if isinstance(env, ExecEnvironment):
        if env_overrides:
            raise AnalysisError("pass env_overrides inside the ExecEnvironment, not beside it")
        return env
    if env is not None and not isinstance(env, Mapping):
        raise AnalysisError(f"env must be a mapping, got {type(env).__name__}")
    if env_overrides is not None and not isinstance(env_overrides, Mapping):
        raise AnalysisError(f"env_overrides must be a mapping, got {type(env_overrides).__name__}")
    try:
        if env is None:
            if env_overrides is None:
                return _host_environment()
            base, stripped = _inherited_env()
            return plan_exec_env(base, env_overrides, stripped=stripped)
        return plan_exec_env(env, env_overrides)
    except TypeError as exc:
        raise AnalysisError(str(exc)) from None


class _HostEnvMemo:
    """The last scrub of ``os.environ``, with the exact bytes it was made from."""

    entry: tuple[dict[bytes, bytes], dict[str, str], tuple[str, ...]] | None = None
    # exec_environment(None) for those same bytes (handed out as copies).
    planned: tuple[dict[bytes, bytes], ExecEnvironment] | None = None


def _environ_bytes() -> dict[bytes, bytes] | None:
    data = getattr(os.environ, "_data", None)
    return data if type(data) is dict else None  # not CPython's os.environ: no memo


def _inherited_env() -> tuple[dict[str, str], tuple[str, ...]]:
    """
    :func:`sanitize_inherited_env` of ``os.environ``, scrubbed again only when it changed.

    Scrubbing decodes and checks every variable (40-80 µs); ``os.environ`` keeps its
    variables as bytes in a dict, which compares whole in about a microsecond. The memo is
    used only for an equal dict (any set, unset or changed value is a new scrub), is kept
    only when the environment did not change during the scrub, and hands out a copy.
    """
    data = _environ_bytes()
    if data is None:
        return sanitize_inherited_env(os.environ)
    memo = _HostEnvMemo.entry
    if memo is not None and memo[0] == data:
        return dict(memo[1]), memo[2]
    before = dict(data)
    kept, stripped = sanitize_inherited_env(os.environ)
    if before == data:
        _HostEnvMemo.entry = (before, dict(kept), stripped)
    return kept, stripped


def _host_environment() -> ExecEnvironment:
    """``exec_environment(None)``: the host's, planned again only when it changed."""
    data = _environ_bytes()
    memo = _HostEnvMemo.planned
    if data is not None and memo is not None and memo[0] == data:
        done = memo[1]
    else:
        before = dict(data) if data is not None else None
        base, stripped = _inherited_env()
        done = plan_exec_env(base, None, stripped=stripped)
        if before is not None and before == data:
            _HostEnvMemo.planned = (before, _copied(done))
    return _copied(done)


def _copied(environment: ExecEnvironment) -> ExecEnvironment:
    """The same environment in new dicts: a caller may change what it was handed."""
    return ExecEnvironment(
        env=dict(environment.env),
        base=dict(environment.base),
        overrides=dict(environment.overrides),
        stripped=environment.stripped,
        blocked=environment.blocked,
    )


def _host_home() -> str:
    """
    The host's folder for ``~`` in allowlist patterns.

    ``OPENCLAW_HOME``, then ``HOME`` of this process (OpenClaw's
    ``resolveEffectiveHomeDir``), then the password database.
    """
    return pattern_home(os.environ) or os.path.expanduser("~")  # noqa: PTH111 (a str)


def _portable(key: str) -> bool:
    return bool(key) and key[0] in _PORTABLE_FIRST and set(key) <= _PORTABLE


def _policy_dict(policy: ExecPolicy | None) -> dict[str, Any]:
    if policy is None:
        return {}
    return {
        "security": policy.security.value,
        "ask": policy.ask.value,
        "askFallback": policy.ask_fallback.value,
        "autoAllowSkills": policy.auto_allow_skills,
        "sandbox": policy.sandbox.value,
    }


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


def _segment_summary(evaluation: Evaluation | None) -> list[dict[str, Any]]:
    if evaluation is None:
        return []
    return [
        {
            "argv0": segment.argv[0] if segment.argv else None,
            "resolved": segment.executable.path if segment.executable else None,
            "satisfiedBy": segment.satisfied_by.value if segment.satisfied_by else None,
            "pattern": segment.matched_entry.pattern if segment.matched_entry else None,
            "miss": segment.miss_reason,
        }
        for segment in _all_segments(evaluation)
    ]


def _all_segments(evaluation: Evaluation) -> list[Any]:
    out: list[Any] = []
    stack = list(evaluation.segments)
    while stack:
        segment = stack.pop()
        out.append(segment)
        stack.extend(segment.inner)
    return out


@attrs.frozen
class _Request:
    """
    One call's question, built once from checked values and handed down every layer.

    The command; the resolved folder it would run in (``_guard_cwd.checked_cwd``); the
    environment built and checked for it (:func:`exec_environment`); who asks (agent,
    conversation); the per-call policy (it only tightens) and sandbox spec.
    """

    command: str
    where: str
    environ: ExecEnvironment
    agent_id: str | None = None
    session_key: str | None = None
    policy: ExecPolicy | None = None
    sandbox: Sandbox | None = None
    cwd_identity: CwdIdentity | None = None  # taken at the check (resume: the first check's)


@attrs.frozen(kw_only=True)
class _PolicyCheck:
    """What the policy says before any human is asked: ``evaluation`` is ``None`` at deny."""

    resolved: ResolvedPolicy
    evaluation: Evaluation | None
    verdict: VerdictResult
    now_ms: int = 0  # the guard's clock when grants were judged


@attrs.frozen(kw_only=True)
class _Outcome:
    command: str
    cwd: str | None
    agent_id: str | None
    allowed: bool = False
    reason: str = ""
    message: str = ""
    policy: ExecPolicy | None = None
    verdict: VerdictResult | None = None
    evaluation: Evaluation | None = None
    approval_id: str | None = None
    decision: Decision | None = None
    approver: str | None = None
    no_route: bool = False
    persisted: tuple[str, ...] = ()
    sandbox: str | None = None
    sandbox_spec: Sandbox | None = None
    sandbox_detail: str = ""
    env_stripped: tuple[str, ...] = ()
    env_blocked: tuple[str, ...] = ()
    environment: ExecEnvironment | None = None
    grants: tuple[str, ...] = ()
    cwd_identity: CwdIdentity | None = None

    def replace(self, **changes: Any) -> _Outcome:
        """``attrs.evolve`` without its per-call field introspection (the hot path's copy)."""
        for name in _OUTCOME_FIELDS:
            if name not in changes:
                changes[name] = getattr(self, name)
        return _Outcome(**changes)

    def deny(self, reason: str, message: str) -> _Outcome:
        return self.replace(allowed=False, reason=reason, message=message)

    def with_verdict(self, verdict: VerdictResult, *, allowed: bool, **more: Any) -> _Outcome:
        return self.replace(
            verdict=verdict,
            allowed=allowed,
            reason=verdict.reason.value,
            message=verdict.message,
            **more,
        )

    def build(self, audit: AuditRecord | None = None) -> Authorization:
        """The answer: every field as it is here, and the audit record written for it."""
        return Authorization(**{name: getattr(self, name) for name in _OUTCOME_FIELDS}, audit=audit)


# Every _Outcome field is an init argument of its own name (checked here, once), so
# _Outcome.replace and build can copy them by name; Authorization has each of them too.
_OUTCOME_FIELDS = tuple(a.name for a in attrs.fields(_Outcome))
if any(a.alias != a.name or not a.init for a in attrs.fields(_Outcome)) or not set(
    _OUTCOME_FIELDS
) <= {a.name for a in attrs.fields(Authorization)}:
    raise RuntimeError("_Outcome's fields no longer map one to one")  # pragma: no cover


@attrs.frozen(kw_only=True)
class _Ask:
    """A command the policy asks about, with everything needed to settle its approval."""

    outcome: _Outcome
    agent_key: str
    session_key: str | None
    env: Mapping[str, str]
    binding: ExecBinding
