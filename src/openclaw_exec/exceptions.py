"""
The one exception tree of :mod:`openclaw_exec`.

Decisions (allow, ask, deny, pairing required, ...) are *values*, never exceptions.
Exceptions are kept for misuse of the API and for malformed input, and every one of
them carries enough structure to be rendered to a user without a traceback.

``OpenClawExecError``
  ``PolicyError`` (also a ``ValueError``): a bad policy value or file.
    ``ApprovalsFileError``: a malformed approvals file, with file, JSON path, expectation.
  ``AnalysisError`` (also a ``ValueError``): misuse of the command analyser.
  ``ProtocolError``: an approval-protocol fault.
    ``LocalProtocolError``: we did something the protocol forbids.
    ``RemoteProtocolError``: the peer did; carries OpenClaw's ``error_code`` and ``details``.
  ``PairingError`` (also a ``ValueError``): malformed pairing input (not a decision).
  ``TransportError`` (also an ``OSError``): an adapter's I/O failed.
  ``ExecDeniedError`` (also a ``PermissionError``): raised only by the opt-in integration
  helpers (a guarded tool function) where a denial has no other way out; carries the
  ``Authorization`` value.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AnalysisError",
    "ApprovalsFileError",
    "ExecDeniedError",
    "LocalProtocolError",
    "OpenClawExecError",
    "PairingError",
    "PolicyError",
    "ProtocolError",
    "RemoteProtocolError",
    "TransportError",
]


class OpenClawExecError(Exception):
    """Root of every exception this library raises on purpose."""


class PolicyError(OpenClawExecError, ValueError):
    """A policy value or policy file is invalid."""


class ApprovalsFileError(PolicyError):
    """
    An approvals file could not be read, parsed or validated.

    Attributes:
        path: The file, or ``None`` for in-memory input.
        json_path: Where in the document the problem is, e.g.
            ``agents.main.allowlist[3].pattern`` (empty for the whole document).
        expected: What was expected there, in words.
        found: A short rendering of what was found instead (may be empty).
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        json_path: str = "",
        expected: str = "",
        found: str = "",
    ) -> None:
        self.path = path
        self.json_path = json_path
        self.expected = expected
        self.found = found
        self.message = message
        super().__init__(self._render())

    def _render(self) -> str:
        where = self.path if self.path is not None else "<approvals>"
        if self.json_path:
            where = f"{where}: {self.json_path}"
        text = f"{where}: {self.message}"
        if self.expected:
            text += f" (expected {self.expected}"
            text += f", found {self.found})" if self.found else ")"
        return text


class AnalysisError(OpenClawExecError, ValueError):
    """The command analyser was called with arguments it cannot accept."""


class ProtocolError(OpenClawExecError):
    """
    The approval protocol was violated.

    Attributes:
        error_code: OpenClaw's error code (``INVALID_REQUEST``, ``APPROVAL_NOT_FOUND``, ...).
        details: Extra structured details as OpenClaw sends them (``{"reason": ...}``).
    """

    def __init__(
        self,
        message: str,
        *,
        error_code: str = "INVALID_REQUEST",
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.error_code = error_code
        self.details = dict(details or {})


class LocalProtocolError(ProtocolError):
    """We (the caller of this library) tried to do something the protocol forbids."""


class RemoteProtocolError(ProtocolError):
    """The peer sent something the protocol forbids; send back ``error_code``."""


class PairingError(OpenClawExecError, ValueError):
    """Pairing input is malformed (a *decision* is never an exception)."""


class TransportError(OpenClawExecError, OSError):
    """An adapter's I/O failed (connection lost, timeout, refused)."""


class ExecDeniedError(OpenClawExecError, PermissionError):
    """
    A guarded tool function was not allowed to run its command.

    Only the integration helpers raise it (:func:`openclaw_exec.guarded_tool` without an
    ``on_denied`` handler, :meth:`openclaw_exec.GuardedRun.raise_for_denial`); the guard
    itself answers with values.

    Attributes:
        authorization: The :class:`~openclaw_exec.Authorization` that said no.
    """

    def __init__(self, authorization: Any) -> None:
        self.authorization = authorization
        super().__init__(
            f"exec denied ({authorization.reason}): {authorization.message}"
            f" [command: {authorization.command}]"
        )
