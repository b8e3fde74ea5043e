"""
openclaw-exec: OpenClaw-grade control over the shell commands AI agents run.

A policy says what may run, a human approves what the policy cannot decide, and
nothing runs that nobody allowed. Everything public is importable from here;
private modules (``_x``) and subpackages are implementation details.
"""

from __future__ import annotations

from openclaw_exec._version import __version__
from openclaw_exec.exceptions import (
    AnalysisError,
    ApprovalsFileError,
    LocalProtocolError,
    OpenClawExecError,
    PairingError,
    PolicyError,
    ProtocolError,
    RemoteProtocolError,
    TransportError,
)

__all__ = (
    "AnalysisError",
    "ApprovalsFileError",
    "LocalProtocolError",
    "OpenClawExecError",
    "PairingError",
    "PolicyError",
    "ProtocolError",
    "RemoteProtocolError",
    "TransportError",
    "__version__",
)
