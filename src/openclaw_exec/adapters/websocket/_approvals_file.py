"""
``exec.approvals.get`` / ``exec.approvals.set`` for the gateway kit: the host approvals file.

As OpenClaw: ``get`` answers ``{path, exists, hash, file, resolvedDefaults}`` with the socket
token removed; ``set`` replaces the whole document, and once the file exists it requires the
``baseHash`` the writer read (a stale or missing one is refused: "exec approvals changed
since last load"). Unlike OpenClaw, a document this library cannot load is refused with its
JSON path instead of being normalised quietly, and the write happens under the file's lock
(atomic replace, 0600). The hash is the SHA-256 of the file's bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import attrs

from openclaw_exec.adapters.filestore import ApprovalsStore, read_approvals_bytes, write_approvals
from openclaw_exec.exceptions import ApprovalsFileError, RemoteProtocolError
from openclaw_exec.policy import (
    ApprovalsFile,
    approvals_from_json,
    approvals_to_json,
    loads_approvals,
    resolve_policy,
)

__all__ = ["ADMIN_SCOPE", "get_approvals_file", "set_approvals_file"]

ADMIN_SCOPE = "operator.admin"

_CHANGED = "exec approvals changed since last load; re-run exec.approvals.get and retry"


def _redacted(file: ApprovalsFile) -> dict[str, Any]:
    document = approvals_to_json(file)
    socket = document.get("socket")
    if isinstance(socket, dict) and "token" in socket:
        document["socket"] = {k: v for k, v in socket.items() if k != "token"}
    return document


def _snapshot(store: ApprovalsStore) -> tuple[bytes | None, dict[str, Any]]:
    raw = read_approvals_bytes(store.path)
    file = loads_approvals(raw, source=str(store.path)) if raw is not None else ApprovalsFile()
    effective = resolve_policy(attrs.evolve(file, agents={})).host  # defaults + built-ins
    payload = {
        "path": str(store.path),
        "exists": raw is not None,
        "hash": hashlib.sha256(raw if raw is not None else b"").hexdigest(),
        "file": _redacted(file),
        "resolvedDefaults": {
            "security": effective.security.value,
            "ask": effective.ask.value,
            "askFallback": effective.ask_fallback.value,
            "autoAllowSkills": effective.auto_allow_skills,
        },
    }
    return raw, payload


def get_approvals_file(store: ApprovalsStore) -> dict[str, Any]:
    """The ``exec.approvals.get`` answer (blocking: run it in a worker thread)."""
    try:
        return _snapshot(store)[1]
    except ApprovalsFileError as exc:
        raise RemoteProtocolError(f"exec approvals file is malformed: {exc}") from None


def set_approvals_file(store: ApprovalsStore, params: Mapping[str, Any]) -> dict[str, Any]:
    """The ``exec.approvals.set`` answer (blocking: run it in a worker thread)."""
    document = params.get("file")
    if not isinstance(document, Mapping):
        raise RemoteProtocolError("exec approvals file is required")
    base = params.get("baseHash")
    base_hash = base.strip() if isinstance(base, str) and base.strip() else None
    try:
        incoming = approvals_from_json(dict(document), source="exec.approvals.set file")
    except ApprovalsFileError as exc:
        raise RemoteProtocolError(str(exc), details={"reason": "INVALID_PARAMS"}) from None
    with store.locked():
        try:
            raw, current = _snapshot(store)
        except ApprovalsFileError as exc:
            raise RemoteProtocolError(f"exec approvals file is malformed: {exc}") from None
        if raw is not None and base_hash is None:
            raise RemoteProtocolError(
                "exec approvals base hash required; re-run exec.approvals.get and retry"
            )
        if base_hash is not None and base_hash != current["hash"]:
            raise RemoteProtocolError(_CHANGED)
        # As OpenClaw (mergeExecApprovalsSocketDefaults): a document without a socket keeps
        # the current socket path and token; the token is never sent back, so it must stay.
        if raw is not None and incoming.socket is None:
            existing = loads_approvals(raw, source=str(store.path))
            incoming = attrs.evolve(incoming, socket=existing.socket)
        write_approvals(store.path, incoming)
        return _snapshot(store)[1]
