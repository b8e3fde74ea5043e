"""
Test helpers for users of openclaw-exec: hypothesis strategies and fakes.

Importing this module requires ``hypothesis``. Nothing in the library imports it.
"""

from __future__ import annotations

from openclaw_exec.testing._policy_strategies import (
    agent_ids,
    allowlist_entries,
    approvals_documents,
    approvals_files,
    asks,
    deny_rules,
    exec_policies,
    grants,
    securities,
)
from openclaw_exec.testing._vfs import VirtualResolver

__all__ = [
    "VirtualResolver",
    "agent_ids",
    "allowlist_entries",
    "approvals_documents",
    "approvals_files",
    "asks",
    "deny_rules",
    "exec_policies",
    "grants",
    "securities",
]
