"""
The exec guard's checking half: read the approvals file, resolve the policy, analyse.

:class:`_Checking` is a mixin of :class:`openclaw_exec.guard.ExecGuard` (split along the
idea: this module answers "what does the policy say about this command", with no side
effects; ``guard`` turns that answer into a plan, ``_guard_asking`` into one outcome).
Nothing here is public.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anyio
import anyio.lowlevel
import anyio.to_thread

from openclaw_exec._guard_grants import deny_check
from openclaw_exec._guard_values import (
    _host_home,
    _PolicyCheck,
    _Request,
)
from openclaw_exec.analysis import (
    Evaluation,
    ExecutableResolver,
    ResolutionCache,
    evaluate_command,
)
from openclaw_exec.policy import (
    ApprovalsFile,
    ExecPolicy,
    Preset,
    ResolvedPolicy,
    Security,
    decide_verdict,
    resolve_policy,
    stricter,
)

if TYPE_CHECKING:
    from openclaw_exec.adapters.filestore import ApprovalsStore

__all__: list[str] = []

# What the guard does on the calling (event-loop) thread instead of a worker thread, where a
# hop costs more than the work (0.1-0.2 ms, more on a loaded machine): reading an approvals
# file up to this size, and analysing a command up to this length with the real resolver
# (its validated cache makes a hit a few ``stat`` calls). A custom resolver, a longer
# command or a larger file still go to a worker thread.
_INLINE_FILE_BYTES = 256 * 1024
_INLINE_COMMAND_CHARS = 4096


class _Checking:
    """The policy's answer for a command, before anyone is asked (see the module docstring)."""

    approvals: ApprovalsStore | None
    approvals_file: ApprovalsFile | None
    resolver: ExecutableResolver | None
    policy: ExecPolicy | None
    preset: Preset
    resolution_cache: ResolutionCache | None
    analysis_options: dict[str, Any]
    _clock: Callable[[], int]
    # The last resolution, for the file object it was made from (see _resolve).
    _resolved_memo: (
        tuple[
            ApprovalsFile,
            tuple[str | None, ExecPolicy | None, str | None, Preset],
            ResolvedPolicy,
        ]
        | None
    ) = None

    async def _load_file(self) -> ApprovalsFile | None:
        if self.approvals is None:
            return self.approvals_file
        # Read and checked on every decision (the bytes are compared with the last read's:
        # the parsed value, and so the compiled allowlist, is reused only for equal bytes).
        # A small regular file is read on the calling thread: a few system calls cost less
        # than a worker-thread hop; a larger one in a worker thread. Opened without
        # blocking and checked with fstat first, so a FIFO or a missing file answers here.
        small, file = self.approvals.load_small(_INLINE_FILE_BYTES)
        if small:
            return file
        return await anyio.to_thread.run_sync(self.approvals.load)

    def _resolve(
        self,
        file: ApprovalsFile | None,
        agent_id: str | None,
        requested: ExecPolicy | None,
        now: int,
        session_key: str | None,
    ) -> ResolvedPolicy:
        """
        :func:`resolve_policy` for this guard, reused for the same parsed file.

        The approvals store hands back the very same parsed value only while the file's
        bytes are equal (it reads them on every decision), so that value's identity stands
        for the content: the last resolution is reused for the same file object and the
        same agent, request, session and preset. Never for a file with grants (their activity
        depends on the clock) and never for ``approvals_file=`` (a value the embedder
        holds and could change in place).
        """
        key = (agent_id, requested, session_key, self.preset)
        memo = self._resolved_memo
        if memo is not None and memo[0] is file and memo[1] == key:
            return memo[2]
        resolved = resolve_policy(
            file,
            agent_id=agent_id,
            requested=requested,
            preset=self.preset,
            now_ms=now,
            session_key=session_key,
        )
        if (
            file is not None
            and self.approvals is not None
            and not any(agent.grants for agent in file.agents.values())
        ):
            self._resolved_memo = (file, key, resolved)  # one tuple: atomic for threads
        return resolved

    def _inline_analysis(self, command: str) -> bool:
        """Whether the analysis may run on the calling thread (see ``_INLINE_COMMAND_CHARS``)."""
        return self.resolver is None and len(command) <= _INLINE_COMMAND_CHARS

    async def _check(self, file: ApprovalsFile | None, request: _Request) -> _PolicyCheck:
        """
        The policy's answer for *command*, before any human is asked (no side effects).

        The one place that resolves the policy and evaluates the command: :meth:`authorize`
        and :func:`openclaw_exec.integrations.authorize_assessed` (its preview) both use it,
        so the two cannot drift apart. With ``security=deny`` nothing is analysed.
        """
        requested = self.policy
        policy = request.policy
        if policy is not None:
            requested = policy if requested is None else stricter(requested, policy)
        now = self._clock()
        resolved = self._resolve(file, request.agent_id, requested, now, request.session_key)
        effective = resolved.effective
        if effective.security is Security.DENY:
            verdict = decide_verdict(effective, analysis_ok=False, allowlist_satisfied=False)
            return _PolicyCheck(resolved=resolved, evaluation=None, verdict=verdict, now_ms=now)

        command, cwd, env = request.command, request.where, request.environ

        # "~/" in the host's allowlist is the host's home, as in OpenClaw (os.homedir()):
        # a HOME in the command's environment never re-roots the patterns.
        def evaluate() -> Evaluation:
            return evaluate_command(
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

        inline = self._inline_analysis(command)
        evaluation = evaluate() if inline else await anyio.to_thread.run_sync(evaluate)
        verdict = decide_verdict(
            effective,
            analysis_ok=evaluation.analysis_ok,
            allowlist_satisfied=evaluation.allowlist_satisfied,
            durable_approval_satisfied=evaluation.durable_approval_satisfied,
            force_ask=evaluation.must_ask,
            deny=await deny_check(
                resolved, evaluation, cwd=cwd, env=env, resolver=self.resolver, inline=inline
            ),
        )
        return _PolicyCheck(resolved=resolved, evaluation=evaluation, verdict=verdict, now_ms=now)
