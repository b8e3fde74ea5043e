"""
The exec guard: policy + command analysis + human approval, on anyio (asyncio and trio).

:class:`ExecGuard` answers one question per command: may this run? Two ways to ask it:

* **Blocking** (:meth:`ExecGuard.authorize`): one call that waits for the human when one
  must decide, and returns an :class:`Authorization`::

      auth = await guard.authorize("git push", cwd="/src", agent_id="main")
      if auth.allowed:
          ...  # run exactly that command, in that cwd, with that env

* **Deferred** (:meth:`ExecGuard.check` then :meth:`ExecGuard.resume`): a call that never
  waits. It returns a final :class:`Authorization`, or a :class:`PendingApproval` whose id is
  registered in the store and bound to the exact plan; a later :meth:`~ExecGuard.resume`,
  from any task, process or replica sharing the store, settles it (with the decision, or
  reading the one an approver recorded) and returns the :class:`Authorization`::

      first = await guard.check("git push", cwd="/src", has_route=True)
      if isinstance(first, PendingApproval):
          decision = await ask_my_human(first)          # interrupt(), a deferred tool ...
          first = await guard.resume(first, decision)
      if first.allowed:
          ...

  ``authorize`` is exactly ``check``, then wait for the store to settle the approval, then
  settle it as ``resume`` does.

Either way the guard reads the host's approvals file (a malformed file denies, naming the
file error), resolves the effective policy ("the stricter wins"), analyses the command, and
decides. A human is asked through the :class:`~openclaw_exec.abc.ApprovalStore`; with no
approver route, no answer, or expiry, it applies ``askFallback``. Every request has exactly
one outcome: the store's :meth:`~openclaw_exec.abc.ApprovalStore.claim` lets one caller
collect it, so a replayed id is refused, and an ``allow-once`` is consumed once for exactly
the bound plan; an ``allow-always`` is persisted to the approvals file; allowlist uses are
stamped (``lastUsedAt`` ...). Every answer is written to the audit log when one is
configured (an audit failure denies: nothing runs unrecorded).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.lowlevel
import anyio.to_thread
import attrs

from openclaw_exec._guard_asking import _Asking
from openclaw_exec._guard_checking import _Checking
from openclaw_exec._guard_cwd import checked_cwd, cwd_identity
from openclaw_exec._guard_effects import record_uses
from openclaw_exec._guard_grants import ALLOW_ALWAYS_SCOPES, spend_grants
from openclaw_exec._guard_values import (
    Authorization,
    GuardReason,
    PendingApproval,
    _Ask,
    _Outcome,
    _Request,
    _wall_ms,
    exec_environment,
)
from openclaw_exec._open_guard import open_guard
from openclaw_exec._reviewing import ReviewAction, review_outcome
from openclaw_exec.abc import ApprovalStore
from openclaw_exec.analysis import (
    ExecEnvironment,
    ExecutableResolver,
    ResolutionCache,
)
from openclaw_exec.audit import AuditLog
from openclaw_exec.exceptions import (
    ApprovalsFileError,
)
from openclaw_exec.policy import (
    ApprovalsFile,
    ExecPolicy,
    ExecReviewer,
    Preset,
    ReviewerConfig,
    Sandbox,
    SandboxMode,
    Verdict,
    expiry_from_days,
)
from openclaw_exec.protocol import (
    DEFAULT_APPROVAL_TIMEOUT_MS,
    Decision,
    Principal,
    mentions_approve_command,
)
from openclaw_exec.sandbox import Backend, choose_backend, default_backends

if TYPE_CHECKING:
    from openclaw_exec.adapters.filestore import ApprovalsStore

__all__ = [
    "Authorization",
    "ExecGuard",
    "GuardReason",
    "PendingApproval",
    "checked_cwd",
    "exec_environment",
    "open_guard",
]


class ExecGuard(_Checking, _Asking):
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
        preset: Whose built-in defaults fill knobs nobody set
            (:class:`~openclaw_exec.policy.Preset`; default OpenClaw 2026.4.1's).
        reviewer: The embedder's reviewer (:mod:`openclaw_exec.policy._review`); with
            *auto_review* (``mode: auto``) it may allow an eligible miss, else only raise.
        auto_review: ``tools.exec.mode`` is ``auto`` (:attr:`ExecConfig.auto_review`).
        reviewer_config: ``tools.exec.reviewer`` (``timeoutMs`` bounds each review).
        grant_expiry_days: ``tools.exec.grantExpiryDays``: an ``allow-always`` becomes a
            grant that expires after this many days (1-3650; an approver's
            ``grantExpiresInDays`` wins) instead of a permanent allowlist entry.
        allow_always_scope: ``"agent"`` (default): an ``allow-always`` serves the agent in
            every session; ``"session"``: only the session key it was approved in.
        clock: Milliseconds since the epoch, for grant lifetimes (default: wall clock).
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
        preset: Preset | str = Preset.OPENCLAW_2026_4_1,
        reviewer: ExecReviewer | None = None,
        auto_review: bool = False,
        reviewer_config: ReviewerConfig | None = None,
        grant_expiry_days: int | None = None,
        allow_always_scope: str = "agent",
        clock: Callable[[], int] | None = None,
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
        self.preset = Preset.parse(preset)
        if auto_review and reviewer is None:
            raise ValueError("auto_review (mode auto) needs a reviewer")
        self.reviewer = reviewer
        self.auto_review = auto_review
        self.reviewer_config = reviewer_config
        if allow_always_scope not in ALLOW_ALWAYS_SCOPES:
            raise ValueError(
                f"allow_always_scope must be 'agent' or 'session', got {allow_always_scope!r}"
            )
        expiry_from_days(0, grant_expiry_days)  # a bad value is refused now, not at a grant
        self.grant_expiry_days = grant_expiry_days
        self.allow_always_scope = allow_always_scope
        self._clock: Callable[[], int] = clock if clock is not None else _wall_ms

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

    # ------------------------------------------------------------------ public calls

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
        Decide whether *command* may run; ask a human and wait when the policy says so.

        Exactly :meth:`check` (with ``has_route=None``: the store decides whether anyone
        can be asked), then, for a pending approval, a wait until the store settles it (at
        most its lifetime plus 10 s, as OpenClaw), then the settlement :meth:`resume` does.
        If the caller is cancelled while waiting, the approval is withdrawn (nobody may
        approve a request nobody waits for).

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
        request = _Request(command, where, environ, agent_id, session_key, policy, sandbox)
        return await self._authorize(request)

    async def _authorize(self, request: _Request, *, yield_now: bool = True) -> Authorization:
        """
        :meth:`authorize` for a cwd already resolved and an environment already built.

        *yield_now* false: no scheduler round trip before the decision (a cancelled
        caller is still refused), for a caller that waits for something right after it
        (``guarded_run``, for its command), so other tasks get their turn there.
        """
        first, ask = await self._check_and_open(request, has_route=None, yield_now=yield_now)
        if isinstance(first, Authorization):
            return first
        assert ask is not None
        return await self._await_settled(first, ask)

    async def check(
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
        has_route: bool | None = None,
    ) -> Authorization | PendingApproval:
        """
        Decide whether *command* may run, without ever waiting for a human.

        The policy and the analysis run exactly as in :meth:`authorize`. When they decide
        alone, the final :class:`Authorization` is returned (and audited). When a human
        must decide, the approval is registered in the store, bound to the exact plan, and
        a :class:`PendingApproval` is returned at once; settle it with :meth:`resume`.

        Args:
            command: The shell command text.
            cwd: See :meth:`authorize`.
            env: See :meth:`authorize`.
            env_overrides: See :meth:`authorize`.
            agent_id: See :meth:`authorize`.
            session_key: See :meth:`authorize`.
            policy: See :meth:`authorize`; :meth:`resume` applies it again.
            sandbox: See :meth:`authorize`; :meth:`resume` applies it again.
            has_route: Whether someone will answer. ``True`` when the caller brings the
                decision itself (a LangGraph ``interrupt()``, a deferred tool call): the
                approval stays pending until :meth:`resume` or its expiry. ``None`` (the
                default, as :meth:`authorize`): the store decides (the memory store: an
                approver is subscribed). With no route the approval expires at once and
                the ``askFallback`` answer is returned here, final.

        Returns:
            An :class:`Authorization` (final) or a :class:`PendingApproval` (falsy: nothing
            may run yet). With no store configured, or a store that cannot be reached, an
            ask is settled at once by ``askFallback``.

        Raises:
            AnalysisError: Misuse, such as a relative *cwd*.
        """
        where = checked_cwd(cwd)
        environ = exec_environment(env, env_overrides)
        request = _Request(command, where, environ, agent_id, session_key, policy, sandbox)
        first, _ = await self._check_and_open(request, has_route=has_route)
        return first

    async def resume(
        self,
        pending: PendingApproval,
        decision: Decision | str | None = None,
        *,
        approver: Principal | None = None,
        wait: float | None = 0.0,
    ) -> Authorization | PendingApproval:
        """
        Settle a :class:`PendingApproval`: record *decision* if given, and collect the outcome.

        The plan is checked again from the handle (approvals file, policy, analysis, the
        per-call policy and sandbox given to :meth:`check`), so a resume never allows more
        than the policy does now; the binding it produces must equal the one the approval
        was registered with, or the call is refused (``approval-plan-mismatch``). Then:

        * *decision* given and the approval still pending: it is resolved as *approver*
          (the first decision wins: if an approver answered first, that answer stands);
        * still pending and *wait* allows: wait for an approver's answer, at most *wait*
          seconds (``None``: until the approval expires);
        * still pending: *pending* itself is returned (call again later);
        * settled: the outcome is claimed in the store, once for all callers everywhere,
          and applied as :meth:`authorize` does: a deny denies, an allow consumes the
          approval for exactly this plan (an ``allow-always`` persists its grants), an
          expiry (or a withdrawn approval) applies ``askFallback``.

        Every request has exactly one outcome: a second resume of a settled request
        (another task, process, replica, or the same handle again) is refused
        (``approval-replayed``), and so is an id the store does not know
        (``approval-unknown``: never registered there, settled and forgotten after the
        store's grace window, or lost with a store that keeps nothing across restarts).
        Those refusals, and a plan mismatch, leave the approval as it was.

        If the policy now decides alone (the allowlist grew, the security was tightened),
        its answer is returned and the approval is left to expire.

        Args:
            pending: What :meth:`check` returned, or :meth:`PendingApproval.from_dict`.
            decision: The human's decision (a :class:`~openclaw_exec.protocol.Decision` or
                its wire value), or ``None`` to read what an approver recorded.
            approver: Who decided, recorded as ``resolvedBy`` (default: a principal named
                ``resume``). The store's approver policy may refuse it; the call is then
                refused (``approval-request-failed``) and the approval stays pending.
            wait: Seconds to wait for an approver when nothing is decided yet (default 0:
                never wait; ``None``: until expiry).

        Returns:
            The final :class:`Authorization`, or *pending* while no decision exists.

        Raises:
            LocalProtocolError: *decision* is not a decision value.
        """
        parsed = decision if decision is None or isinstance(decision, Decision) else None
        if decision is not None and parsed is None:
            parsed = Decision.parse(decision)
        request = _Request(
            pending.command,
            pending.cwd,
            pending.environment,
            pending.agent_id,
            pending.session_key,
            pending.call_policy,
            pending.call_sandbox,
            pending.cwd_identity,  # the folder of the first check, not the one there now
        )
        plan = await self._plan(request)
        if isinstance(plan, _Outcome):
            return await self._finish(plan, pending.session_key, pending.environment.env)
        return await self._resume_asked(plan, pending, parsed, approver, wait)

    # ------------------------------------------------------------------ the plan

    async def _check_and_open(
        self, request: _Request, *, has_route: bool | None, yield_now: bool = True
    ) -> tuple[Authorization | PendingApproval, _Ask | None]:
        plan = await self._plan(request, yield_now=yield_now)
        if isinstance(plan, _Outcome):
            return await self._finish(plan, request.session_key, request.environ.env), None
        return await self._open(plan, request, has_route=has_route)

    async def _plan(self, request: _Request, *, yield_now: bool = True) -> _Outcome | _Ask:
        """The final answer when the policy decides alone, else what to ask a human."""
        command, environ, session_key = request.command, request.environ, request.session_key
        identity = request.cwd_identity
        base = _Outcome(
            command=command,
            cwd=request.where,
            agent_id=request.agent_id,
            env_stripped=environ.stripped,
            env_blocked=environ.blocked,
            environment=environ,
            # The folder checked now is the one the command may start in (see _guard_cwd).
            cwd_identity=cwd_identity(request.where) if identity is None else identity,
        )
        if mentions_approve_command(command):
            return base.deny(GuardReason.APPROVE_COMMAND, "exec cannot run /approve commands")
        # The file read and analysis may now run on this thread without awaiting: one
        # checkpoint keeps the call cancellable and lets other tasks run (as the worker
        # threads' hops did); see _authorize for yield_now.
        if yield_now:
            await anyio.lowlevel.checkpoint()
        else:
            await anyio.lowlevel.checkpoint_if_cancelled()
        try:
            file = await self._load_file()
        except ApprovalsFileError as exc:
            return base.deny(GuardReason.APPROVALS_FILE_ERROR, f"approvals file error: {exc}")
        check = await self._check(file, request)
        resolved, evaluation, verdict = check.resolved, check.evaluation, check.verdict
        if evaluation is not None and verdict.verdict is not Verdict.DENY:
            # Chosen before anyone is asked: the approval binds the confinement.
            spec = request.sandbox if request.sandbox is not None else self.sandbox
            mode = resolved.effective.sandbox
            if mode is SandboxMode.OFF:  # nothing is probed: no worker thread
                choice = choose_backend(mode, ())
            else:
                choice = await anyio.to_thread.run_sync(choose_backend, mode, self.sandbox_backends)
            base = base.replace(
                policy=resolved.effective,
                evaluation=evaluation,
                sandbox=choice.backend.name if choice.backend is not None else None,
                sandbox_spec=spec if choice.backend is not None else None,
                sandbox_detail=choice.detail,
            )
            if choice.refused:
                message = f"sandbox=required: {choice.detail}"
                return base.deny(GuardReason.SANDBOX_UNAVAILABLE, message)
        else:
            base = base.replace(policy=resolved.effective, evaluation=evaluation)
        if evaluation is None or verdict.verdict is Verdict.DENY:
            return base.with_verdict(verdict, allowed=False)
        if self.reviewer is not None:
            step = await review_outcome(self, base, verdict, session_key, environ)
            if step.action is ReviewAction.DENY:
                denied = base.with_verdict(verdict, allowed=False)
                return denied.deny(GuardReason.REVIEWER_DENIED, step.message)
            if step.action is ReviewAction.ALLOW:
                allowed = base.with_verdict(verdict, allowed=True)
                return attrs.evolve(
                    allowed, reason=GuardReason.REVIEWER_APPROVED, message=step.message
                )
            if step.action is ReviewAction.ASK:
                verdict = step.escalated(verdict)
        if verdict.verdict is Verdict.ALLOW:
            used, problem = await spend_grants(
                self.approvals, resolved, evaluation, session_key=session_key, now_ms=check.now_ms
            )
            if problem is not None:
                denied = base.with_verdict(verdict, allowed=False, grants=used)
                return denied.deny(GuardReason.GRANT_UNAVAILABLE, problem)
            await record_uses(self.approvals, resolved.agent_id, evaluation, file)
            return base.with_verdict(verdict, allowed=True, grants=used)
        outcome = base.with_verdict(verdict, allowed=False)
        return _Ask(
            outcome=outcome,
            agent_key=resolved.agent_id,
            session_key=session_key,
            env=environ.env,
            binding=self._binding(outcome, session_key, environ.env),
        )
