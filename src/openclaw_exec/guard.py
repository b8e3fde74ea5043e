"""
The exec guard: policy + command analysis + human approval, on anyio (asyncio and trio).

:class:`ExecGuard` answers one question per command: may this run? ::

    guard = ExecGuard(store=store, approvals="~/.openclaw/exec-approvals.json")
    auth = await guard.authorize("git push", cwd="/src", agent_id="main")
    if auth.allowed:
        ...  # run exactly that command, in that cwd, with that env

It reads the host's approvals file (a malformed file denies, naming the file error),
resolves the effective policy ("the stricter wins"), analyses the command, and decides.
When a human must decide it registers an approval in the :class:`~openclaw_exec.abc.ApprovalStore`
and waits (default 30 minutes, as OpenClaw); with no approver route or no answer it applies
``askFallback``. An ``allow-once`` is consumed exactly once for exactly the bound plan; an
``allow-always`` is persisted to the approvals file; allowlist uses are stamped
(``lastUsedAt`` ...). Every answer is an :class:`Authorization` value, written to the audit
log when one is configured (an audit failure denies: nothing runs unrecorded).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
import attrs

from openclaw_exec.abc import ApprovalStore
from openclaw_exec.analysis import (
    Evaluation,
    ExecEnvironment,
    ExecutableResolver,
    ResolutionCache,
    evaluate_command,
    plan_exec_env,
    sanitize_inherited_env,
)
from openclaw_exec.analysis._evaluate import pattern_home
from openclaw_exec.audit import AuditLog, AuditRecord
from openclaw_exec.exceptions import (
    AnalysisError,
    ApprovalsFileError,
    LocalProtocolError,
    OpenClawExecError,
    TransportError,
)
from openclaw_exec.policy import (
    AllowlistEntry,
    ApprovalsFile,
    ExecPolicy,
    ResolvedPolicy,
    Sandbox,
    Security,
    Verdict,
    VerdictResult,
    decide_verdict,
    fallback_verdict,
    resolve_policy,
    stricter,
)
from openclaw_exec.protocol import (
    DEFAULT_APPROVAL_TIMEOUT_MS,
    ApprovalOutcome,
    ApprovalRecord,
    ApprovalRequest,
    ApprovalState,
    Decision,
    ExecBinding,
    Principal,
    TerminalReason,
    mentions_approve_command,
)
from openclaw_exec.sandbox import Backend, binding_argv, choose_backend, default_backends

if TYPE_CHECKING:
    from openclaw_exec.adapters.filestore import ApprovalsStore

__all__ = ["Authorization", "ExecGuard", "GuardReason", "checked_cwd", "exec_environment"]

_PORTABLE_FIRST = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_"
_PORTABLE = frozenset(_PORTABLE_FIRST + "0123456789")
_RPC_SLACK_S = 10.0  # OpenClaw waits approval timeout + 10 s before giving up on the gateway


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

    def __bool__(self) -> bool:
        """Truthy only when allowed."""
        return self.allowed


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
            base, stripped = sanitize_inherited_env(os.environ)
            return plan_exec_env(base, env_overrides, stripped=stripped)
        return plan_exec_env(env, env_overrides)
    except TypeError as exc:
        raise AnalysisError(str(exc)) from None


def checked_cwd(cwd: str | os.PathLike[str] | None = None) -> str:
    """
    The working directory a command is checked for and run in: resolved once.

    ``None`` means the process's. An absolute path is resolved through the real
    filesystem (every symlink followed, ``..`` applied after them as the kernel does), so
    the folder the analysis sees is the folder the command runs in even when a symlink
    in the path changes later. A relative path is returned as it is (the analysis
    refuses it as misuse).
    """
    where: object = os.getcwd() if cwd is None else os.fspath(cwd)  # noqa: PTH109 (a str)
    if not isinstance(where, str):
        raise AnalysisError(f"cwd must be a str path, got {where!r}")
    if not where.startswith("/"):
        return where
    return os.path.realpath(where)


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


class ExecGuard:
    """
    Decides whether commands may run, asking humans through an approval store.

    Args:
        store: Where approvals live and approvers listen (e.g.
            :class:`~openclaw_exec.adapters.memory.MemoryApprovalStore`). ``None``: nobody
            can be asked, so every ASK takes ``askFallback`` at once.
        approvals: The host approvals file (path or
            :class:`~openclaw_exec.adapters.filestore.ApprovalsStore`), or ``None`` for none.
            Read on every call; ``allow-always`` grants and uses are written back.
        approvals_file: A fixed in-memory approvals document instead of *approvals*
            (nothing is persisted).
        policy: The requested policy (layer A: config, per-agent settings). ``None``:
            the file decides alone, unset knobs take the safe defaults.
        timeout_ms: Approval lifetime (OpenClaw: 1 800 000 = 30 minutes).
        host: The exec host name shown to approvers (``gateway``).
        requester: Who the guard registers approvals as.
        resolver: Filesystem access for the analysis (default: the real one).
        analysis_options: Extra keyword arguments for
            :func:`~openclaw_exec.analysis.evaluate_command` (``safe_bins``,
            ``strict_inline_eval``, ``skill_bins`` ...). A ``cache`` given here replaces
            the guard's own validating :class:`~openclaw_exec.analysis.ResolutionCache`.
        audit: Where to record every decision (``None``: no audit log).
        new_id: Makes approval ids (default: UUID4).
        sandbox: What a confined command may touch when the effective policy's
            ``sandbox`` knob is ``preferred`` or ``required`` (default:
            :class:`~openclaw_exec.policy.Sandbox` ()).
        sandbox_backends: The backends tried in order (default: bubblewrap, then
            Landlock; see :mod:`openclaw_exec.sandbox`). Each is probed once.
        danger_profiles: Argument-level danger profiles (``git -c core.pager=…``,
            ``find -exec``, ``tee ~/.bashrc``… need a human unless an entry's
            ``argPattern`` allows them). ``False``: OpenClaw-identical verdicts.
    """

    def __init__(
        self,
        *,
        store: ApprovalStore | None = None,
        approvals: ApprovalsStore | str | os.PathLike[str] | None = None,
        approvals_file: ApprovalsFile | None = None,
        policy: ExecPolicy | None = None,
        timeout_ms: int = DEFAULT_APPROVAL_TIMEOUT_MS,
        host: str = "gateway",
        requester: Principal | None = None,
        resolver: ExecutableResolver | None = None,
        analysis_options: Mapping[str, Any] | None = None,
        audit: AuditLog | str | os.PathLike[str] | None = None,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
        sandbox: Sandbox | None = None,
        sandbox_backends: Sequence[Backend] | None = None,
        danger_profiles: bool = True,
    ) -> None:
        if approvals is not None and approvals_file is not None:
            raise ValueError("pass either approvals (a file on disk) or approvals_file, not both")
        if type(timeout_ms) is not int or timeout_ms < 1:
            raise ValueError(f"timeout_ms must be a positive integer, got {timeout_ms!r}")
        # Imported here so importing openclaw_exec never imports an adapter.
        from openclaw_exec.adapters.filestore import ApprovalsStore  # noqa: PLC0415

        self.store = store
        self.approvals: ApprovalsStore | None
        if approvals is None or isinstance(approvals, ApprovalsStore):
            self.approvals = approvals
        else:
            self.approvals = ApprovalsStore(Path(approvals).expanduser())
        self.approvals_file = approvals_file
        self.policy = policy
        self.timeout_ms = timeout_ms
        self.host = host
        self.requester = requester or Principal(id="exec-guard")
        self.resolver = resolver
        self.analysis_options = dict(analysis_options or {})
        if not danger_profiles:
            self.analysis_options["danger_profiles"] = False
        # One validating cache per guard: every hit is re-checked with change stamps, so a
        # replaced, dropped-in or chmod-ed executable is still noticed on the next call.
        self.resolution_cache: ResolutionCache | None = self.analysis_options.pop(
            "cache", ResolutionCache()
        )
        self.audit = audit if audit is None or isinstance(audit, AuditLog) else AuditLog(audit)
        self._new_id = new_id
        self.sandbox = sandbox if sandbox is not None else Sandbox()
        self._sandbox_backends = tuple(sandbox_backends) if sandbox_backends is not None else None

    @property
    def sandbox_backends(self) -> tuple[Backend, ...]:
        """The sandbox backends this guard tries, in order (made on first use)."""
        if self._sandbox_backends is None:
            self._sandbox_backends = default_backends()
        return self._sandbox_backends

    def sandbox_backend(self, name: str) -> Backend:
        """The backend called *name* (as named in an :class:`Authorization`)."""
        for backend in self.sandbox_backends:
            if backend.name == name:
                return backend
        raise LookupError(f"this guard has no sandbox backend named {name!r}")

    def protected_paths(self) -> tuple[str, ...]:
        """Files a confined command may never write: the approvals file and the audit log."""
        found: list[str] = []
        if self.approvals is not None:
            found.append(str(self.approvals.path))
        if self.audit is not None:
            found.append(str(self.audit.path))
        return tuple(os.path.abspath(p) for p in found)  # noqa: PTH100

    async def _load_file(self) -> ApprovalsFile | None:
        if self.approvals is None:
            return self.approvals_file
        return await anyio.to_thread.run_sync(self.approvals.load)

    async def authorize(
        self,
        command: str,
        *,
        cwd: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | ExecEnvironment | None = None,
        env_overrides: Mapping[str, str] | None = None,
        agent_id: str | None = None,
        session_key: str | None = None,
        policy: ExecPolicy | None = None,
        sandbox: Sandbox | None = None,
    ) -> Authorization:
        """
        Decide whether *command* may run; ask a human when the policy says so.

        Args:
            command: The shell command text.
            cwd: Absolute working directory (default: the process's), resolved through
                the real filesystem once (:func:`checked_cwd`); ``Authorization.cwd`` is
                the resolved folder, the one to run in.
            env: The base environment: ``None`` for the host's own, stripped of
                dangerous variables; a full mapping chosen by the caller, whose
                dangerous keys are refused (see :func:`exec_environment`).
            env_overrides: What the agent asked to add to the environment; keys on the
                override block lists are refused.
            agent_id: The agent (``None``: ``main``).
            session_key: The conversation, shown to approvers and bound to the approval.
            policy: A per-call requested policy; it can only tighten the guard's
                (``stricter`` of the two).
            sandbox: What a confined run may touch, instead of the guard's spec. Used
                when the effective ``sandbox`` knob is not ``off``; the approval binds
                the backend and this spec.

        Returns:
            An :class:`Authorization`. Denials are values, never exceptions.

        Raises:
            AnalysisError: Misuse, such as a relative *cwd*.
        """
        where = checked_cwd(cwd)
        environ = exec_environment(env, env_overrides)
        base = _Outcome(
            command=command,
            cwd=where,
            agent_id=agent_id,
            env_stripped=environ.stripped,
            env_blocked=environ.blocked,
            environment=environ,
        )
        if mentions_approve_command(command):
            message = "exec cannot run /approve commands"
            return await self._finish(
                base.deny(GuardReason.APPROVE_COMMAND, message), session_key, environ.env
            )
        try:
            file = await self._load_file()
        except ApprovalsFileError as exc:
            return await self._finish(
                base.deny(GuardReason.APPROVALS_FILE_ERROR, f"approvals file error: {exc}"),
                session_key,
                environ.env,
            )
        check = await self._check(
            file, command, cwd=where, env=environ, agent_id=agent_id, policy=policy
        )
        resolved, evaluation, verdict = check.resolved, check.evaluation, check.verdict
        base = attrs.evolve(base, policy=resolved.effective, evaluation=evaluation)
        if evaluation is not None and verdict.verdict is not Verdict.DENY:
            # Chosen before anyone is asked: the approval binds the confinement.
            spec = sandbox if sandbox is not None else self.sandbox
            choice = await anyio.to_thread.run_sync(
                choose_backend, resolved.effective.sandbox, self.sandbox_backends
            )
            base = attrs.evolve(
                base,
                sandbox=choice.backend.name if choice.backend is not None else None,
                sandbox_spec=spec if choice.backend is not None else None,
                sandbox_detail=choice.detail,
            )
            if choice.refused:
                message = f"sandbox=required: {choice.detail}"
                return await self._finish(
                    base.deny(GuardReason.SANDBOX_UNAVAILABLE, message), session_key, environ.env
                )
        if evaluation is None or verdict.verdict is Verdict.DENY:
            return await self._finish(
                base.with_verdict(verdict, allowed=False), session_key, environ.env
            )
        if verdict.verdict is Verdict.ALLOW:
            await self._record_uses(resolved.agent_id, evaluation)
            return await self._finish(
                base.with_verdict(verdict, allowed=True), session_key, environ.env
            )
        outcome = await self._ask(
            base.with_verdict(verdict, allowed=False), resolved.agent_id, session_key, environ.env
        )
        return await self._finish(outcome, session_key, environ.env)

    async def _check(
        self,
        file: ApprovalsFile | None,
        command: str,
        *,
        cwd: str,
        env: ExecEnvironment,
        agent_id: str | None,
        policy: ExecPolicy | None,
    ) -> _PolicyCheck:
        """
        The policy's answer for *command*, before any human is asked (no side effects).

        The one place that resolves the policy and evaluates the command: :meth:`authorize`
        and :func:`openclaw_exec.integrations.authorize_assessed` (its preview) both use it,
        so the two cannot drift apart. With ``security=deny`` nothing is analysed.
        """
        requested = self.policy
        if policy is not None:
            requested = policy if requested is None else stricter(requested, policy)
        resolved = resolve_policy(file, agent_id=agent_id, requested=requested)
        effective = resolved.effective
        if effective.security is Security.DENY:
            verdict = decide_verdict(effective, analysis_ok=False, allowlist_satisfied=False)
            return _PolicyCheck(resolved=resolved, evaluation=None, verdict=verdict)
        # "~/" in the host's allowlist is the host's home, as in OpenClaw (os.homedir()):
        # a HOME in the command's environment never re-roots the patterns.
        evaluation = await anyio.to_thread.run_sync(
            lambda: evaluate_command(
                command,
                cwd=cwd,
                env=env.base,
                env_overrides=env.overrides,
                allowlist=resolved.allowlist,
                auto_allow_skills=effective.auto_allow_skills,
                resolver=self.resolver,
                cache=self.resolution_cache,
                **{"allowlist_home": _host_home(), **self.analysis_options},
            )
        )
        verdict = decide_verdict(
            effective,
            analysis_ok=evaluation.analysis_ok,
            allowlist_satisfied=evaluation.allowlist_satisfied,
            durable_approval_satisfied=evaluation.durable_approval_satisfied,
            force_ask=evaluation.must_ask,
        )
        return _PolicyCheck(resolved=resolved, evaluation=evaluation, verdict=verdict)

    # ------------------------------------------------------------------ asking

    def _binding(
        self, outcome: _Outcome, session_key: str | None, env: Mapping[str, str]
    ) -> ExecBinding:
        return ExecBinding.of(
            binding_argv(("sh", "-c", outcome.command), outcome.sandbox, outcome.sandbox_spec),
            cwd=outcome.cwd,
            agent_id=outcome.agent_id,
            session_key=session_key,
            env=env,
        )

    async def _ask(
        self,
        outcome: _Outcome,
        agent_key: str,
        session_key: str | None,
        env: Mapping[str, str],
    ) -> _Outcome:
        store = self.store
        if store is None:
            return self._fallback(outcome, no_route=True, note="no approval store configured")
        evaluation = outcome.evaluation
        policy = outcome.policy
        assert evaluation is not None
        assert policy is not None
        resolved_path = None
        if evaluation.segments and evaluation.segments[0].executable is not None:
            resolved_path = evaluation.segments[0].executable.path
        binding = self._binding(outcome, session_key, env)
        approval_id = self._new_id()
        now = store.now_ms()
        try:
            request = ApprovalRequest(
                id=approval_id,
                command=outcome.command,
                created_at_ms=now,
                expires_at_ms=now + self.timeout_ms,
                cwd=outcome.cwd,
                host=self.host,
                security=policy.security.value,
                ask=policy.ask.value,
                agent_id=outcome.agent_id,
                resolved_path=resolved_path,
                session_key=session_key,
                env_keys=tuple(sorted(k for k in env if _portable(k))),
                binding=binding,
            )
        except (ValueError, TypeError) as exc:
            return outcome.deny(
                GuardReason.APPROVAL_REQUEST_FAILED, f"cannot build the approval request: {exc}"
            )
        outcome = attrs.evolve(outcome, approval_id=approval_id)
        try:
            record = await self._register_and_wait(store, request)
        except (TransportError, OSError) as exc:
            # The store (Redis, a socket) is unreachable: no approver can answer, which is
            # what askFallback is for. The fallback is clamped to the effective security,
            # so an outage never allows more than the policy itself.
            return self._fallback(
                outcome, no_route=True, note=f"approval store unavailable ({exc})"
            )
        except OpenClawExecError as exc:
            return outcome.deny(
                GuardReason.APPROVAL_REQUEST_FAILED, f"approval request failed: {exc}"
            )
        if record is None or record.decision is None:
            no_route = record is not None and record.reason is TerminalReason.NO_ROUTE
            return self._fallback(outcome, no_route=no_route)
        outcome = attrs.evolve(outcome, decision=record.decision, approver=record.resolved_by)
        if record.decision is Decision.DENY:
            by = f" by {record.resolved_by}" if record.resolved_by else ""
            return outcome.deny(GuardReason.USER_DENIED, f"exec denied{by}: user-denied")
        try:
            spent = await store.consume(approval_id, binding)
        except (OpenClawExecError, OSError) as exc:
            return outcome.deny(
                GuardReason.APPROVAL_REQUEST_FAILED, f"approval could not be used: {exc}"
            )
        if spent.outcome is not ApprovalOutcome.CONSUMED:
            return outcome.deny(
                GuardReason.APPROVAL_NOT_CONSUMABLE, spent.message or "approval not usable"
            )
        persisted: tuple[str, ...] = ()
        note = ""
        if record.decision is Decision.ALLOW_ALWAYS:
            persisted, note = await self._persist(agent_key, evaluation)
        message = (
            f"approved ({record.decision.value}) by {record.resolved_by or 'an approver'}{note}"
        )
        return attrs.evolve(
            outcome,
            allowed=True,
            reason=GuardReason.USER_APPROVED,
            message=message,
            persisted=persisted,
        )

    async def _register_and_wait(
        self, store: ApprovalStore, request: ApprovalRequest
    ) -> ApprovalRecord | None:
        registered = False
        try:
            result = await store.register(request, requester=self.requester)
            registered = True
            if result.outcome is ApprovalOutcome.EXPIRED:
                return result.record
            if not result.ok:
                raise LocalProtocolError(result.message or result.outcome.value)
            with anyio.move_on_after(self.timeout_ms / 1000 + _RPC_SLACK_S):
                record = await store.wait_decision(request.id)
                if record is None or record.state is not ApprovalState.PENDING:
                    return record
            with anyio.CancelScope(shield=True):  # the store never settled it: withdraw it
                await store.cancel(request.id)
                final = await store.get(request.id)
        except anyio.get_cancelled_exc_class():
            if registered:  # our caller gave up: nobody may approve a stale request
                with anyio.CancelScope(shield=True), anyio.move_on_after(5):
                    await store.cancel(request.id)
            raise
        return final

    def _fallback(self, outcome: _Outcome, *, no_route: bool, note: str = "") -> _Outcome:
        # The verdict's message starts with its generic cause; a more precise *note* (no
        # store, the store's error) replaces it, so the cause is said exactly once.
        evaluation = outcome.evaluation
        policy = outcome.policy
        verdict = outcome.verdict
        assert evaluation is not None
        assert policy is not None
        assert verdict is not None
        fallback = fallback_verdict(
            policy,
            analysis_ok=evaluation.analysis_ok,
            allowlist_satisfied=evaluation.allowlist_satisfied,
            fallback_may_allow=not verdict.triggers,
            no_route=no_route,
        )
        message = fallback.message
        if note:
            message = f"{note}; {message.partition('; ')[2]}"
        return attrs.evolve(
            outcome,
            allowed=fallback.allowed,
            reason=fallback.reason.value,
            message=message,
            no_route=no_route,
        )

    # ------------------------------------------------------------------ file writes

    async def _persist(self, agent_key: str, evaluation: Evaluation) -> tuple[tuple[str, ...], str]:
        approvals = self.approvals
        found = evaluation.allow_always
        grants = tuple(g.pattern for g in found)
        if approvals is None or not grants:
            return (), "; nothing persisted" if approvals is None else "; nothing to persist"

        def write() -> None:
            for grant in found:
                approvals.add_allowlist_entry(
                    agent_key,
                    AllowlistEntry(
                        pattern=grant.pattern, arg_pattern=grant.arg_pattern, source="allow-always"
                    ),
                )

        try:
            await anyio.to_thread.run_sync(write)
        except (OpenClawExecError, OSError) as exc:
            return (), f"; allow-always could not be persisted: {exc}"
        return grants, ""

    async def _record_uses(self, agent_key: str, evaluation: Evaluation) -> None:
        approvals = self.approvals
        if approvals is None:
            return
        uses = {
            (segment.matched_entry.pattern, segment.executable.path if segment.executable else None)
            for segment in _all_segments(evaluation)
            if segment.matched_entry is not None
        }
        if not uses:
            return
        command = evaluation.command_text

        def write() -> None:
            for pattern, path in sorted(uses, key=str):
                approvals.record_use(agent_key, pattern, command=command, resolved_path=path)

        try:
            await anyio.to_thread.run_sync(write)
        except (OpenClawExecError, OSError):
            return  # a failed stamp never changes the decision

    async def _finish(
        self, outcome: _Outcome, session_key: str | None, env: Mapping[str, str]
    ) -> Authorization:
        auth = outcome.build()
        if self.audit is None:
            return auth
        try:
            record = await self.audit.append(
                ts_ms=_wall_ms(),
                command=auth.command,
                cwd=auth.cwd,
                agent_id=auth.agent_id,
                session_key=session_key,
                host=self.host,
                env_keys=tuple(sorted(env)),
                path_env=env.get("PATH"),
                policy=_policy_dict(auth.policy),
                allowed=auth.allowed,
                reason=auth.reason,
                decision=auth.decision.value if auth.decision else None,
                approval_id=auth.approval_id,
                approver=auth.approver,
                details={
                    "message": auth.message,
                    "verdict": auth.verdict.verdict.value if auth.verdict else None,
                    "verdictReason": auth.verdict.reason.value if auth.verdict else None,
                    "persisted": list(auth.persisted),
                    "noRoute": auth.no_route,
                    "analysisOk": auth.evaluation.analysis_ok if auth.evaluation else None,
                    "segments": _segment_summary(auth.evaluation),
                    "envStripped": list(auth.env_stripped),
                    "envBlocked": list(auth.env_blocked),
                },
            )
        except (OSError, ValueError) as exc:
            return attrs.evolve(
                auth,
                allowed=False,
                reason=GuardReason.AUDIT_FAILED,
                message=f"{auth.message}; denied because the audit log failed: {exc}",
            )
        return attrs.evolve(auth, audit=record)


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


@attrs.frozen(kw_only=True)
class _PolicyCheck:
    """What the policy says before any human is asked: ``evaluation`` is ``None`` at deny."""

    resolved: ResolvedPolicy
    evaluation: Evaluation | None
    verdict: VerdictResult


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

    def deny(self, reason: str, message: str) -> _Outcome:
        return attrs.evolve(self, allowed=False, reason=reason, message=message)

    def with_verdict(self, verdict: VerdictResult, *, allowed: bool) -> _Outcome:
        return attrs.evolve(
            self,
            verdict=verdict,
            allowed=allowed,
            reason=verdict.reason.value,
            message=verdict.message,
        )

    def build(self) -> Authorization:
        return Authorization(**attrs.asdict(self, recurse=False))
