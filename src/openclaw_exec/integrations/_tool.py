""":func:`guarded_tool`: authorise an async tool function's command before its body runs."""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, ParamSpec, TypeVar

import attrs

from openclaw_exec._guard_effects import checked_start
from openclaw_exec.exceptions import ExecDeniedError
from openclaw_exec.guard import Authorization, ExecGuard, GuardReason, checked_cwd
from openclaw_exec.integrations._assess import RiskAssessor, authorize_assessed
from openclaw_exec.integrations._run import command_text

__all__ = ["guarded_tool"]

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _absolute(path: str | os.PathLike[str] | None) -> str:
    """*path* made absolute against the process's cwd (a pure string operation)."""
    return os.path.abspath(os.getcwd() if path is None else os.fspath(path))  # noqa: PTH100, PTH109


def guarded_tool(
    guard: ExecGuard,
    *,
    command: str = "command",
    cwd: str | None = "cwd",
    agent_id: str | None = None,
    assessors: Iterable[RiskAssessor] = (),
    on_denied: Callable[[Authorization], Any] | None = None,
) -> Callable[[Callable[_P, Awaitable[_R]]], Callable[_P, Awaitable[_R]]]:
    """
    Decorate an async tool function so its command is authorised before the body runs.

    Args:
        guard: The exec guard.
        command: The name of the parameter holding the command (text or argv).
        cwd: The name of the parameter holding the working directory, or ``None``.
        agent_id: The agent the tool acts for.
        assessors: Risk plug-ins.
        on_denied: Called with the :class:`~openclaw_exec.Authorization` when denied; its
            return value is returned instead of running the body (for LLM tools: a
            message the model can read). ``None``: raise :class:`ExecDeniedError`.

    The body receives the arguments as called, except the *cwd* parameter: it gets the
    checked folder (``Authorization.cwd``, resolved through the real filesystem once),
    never the raw value, so a symlink swapped after the check cannot move the body
    elsewhere; when the path no longer reaches that folder as the body is about to be
    called (a folder on it swapped while a human decided), the call is denied
    (``cwd-changed``). The body must run that exact command there; when it starts a local
    process, call :func:`guarded_run` instead (it also runs with the checked environment).

    Raises:
        TypeError: At decoration time, when the function is not async or has no
            parameter named *command*.
    """
    checks = tuple(assessors)

    def decorate(func: Callable[_P, Awaitable[_R]]) -> Callable[_P, Awaitable[_R]]:
        if not inspect.iscoroutinefunction(func):
            raise TypeError(f"guarded_tool needs an async function, got {func!r}")
        signature = inspect.signature(func)
        if command not in signature.parameters:
            raise TypeError(f"{func.__name__}() has no parameter named {command!r}")

        @functools.wraps(func)
        async def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            text = command_text(bound.arguments[command])
            raw = bound.arguments.get(cwd) if cwd is not None else None
            where = checked_cwd(None if raw is None else _absolute(raw))
            auth = await authorize_assessed(
                guard, text, assessors=checks, cwd=where, agent_id=agent_id
            )
            if auth.allowed and auth.sandbox is not None:
                # The body starts the process itself: it cannot be confined as approved.
                auth = attrs.evolve(
                    auth,
                    allowed=False,
                    reason=GuardReason.SANDBOX_UNAVAILABLE,
                    message=(
                        f"the policy confines this command ({auth.sandbox}), but a "
                        "guarded_tool body runs it unconfined: use guarded_run"
                    ),
                )
            # As guarded_run's start: the body gets the folder that was checked or nothing
            # (a folder on the path may have been swapped while a human decided).
            auth = await checked_start(auth, audit=guard.audit, host=guard.host)
            if not auth.allowed:
                if on_denied is not None:
                    result: _R = on_denied(auth)
                    return result
                raise ExecDeniedError(auth)
            if cwd is not None and cwd in bound.arguments and auth.cwd is not None:
                bound.arguments[cwd] = auth.cwd  # the checked folder, not the raw one
            return await func(*bound.args, **bound.kwargs)

        return wrapper

    return decorate
