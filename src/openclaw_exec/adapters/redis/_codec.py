r"""
The Redis store's edge: JSON in and out of Redis (cattrs), script replies, published events.

Published messages are ``kind\nid\nevseq\nseq\n[req, st, dec, by, set, rsn, rq, gd]`` (see
:mod:`._lua`). The listener splits the header without parsing JSON; the record is decoded only
when a waiter or a subscriber needs it, and anything unreadable is skipped, never guessed.
"""

from __future__ import annotations

import functools
import json
import math
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import attrs
from cattrs.errors import BaseValidationError
from cattrs.preconf.json import make_converter

from openclaw_exec.exceptions import LocalProtocolError, TransportError
from openclaw_exec.protocol import (
    ApprovalCancelled,
    ApprovalEvent,
    ApprovalExpired,
    ApprovalOutcome,
    ApprovalRecord,
    ApprovalRequest,
    ApprovalRequested,
    ApprovalResolved,
    ApprovalResult,
    ApprovalState,
    Decision,
    Principal,
    TerminalReason,
)

__all__ = [
    "Message",
    "check_audience",
    "check_id",
    "check_prefix",
    "check_seconds",
    "dump_request",
    "dumps",
    "event_for_record",
    "fold",
    "parse_message",
    "record",
    "result",
]

EVENT_KINDS: dict[str, type[ApprovalEvent]] = {
    "requested": ApprovalRequested,
    "resolved": ApprovalResolved,
    "expired": ApprovalExpired,
    "cancelled": ApprovalCancelled,
}


def _thread_id(value: object, _: object) -> str | int | None:
    if value is None or (isinstance(value, str | int) and not isinstance(value, bool)):
        return value
    msg = f"expected a string, an integer or null, got {value!r}"
    raise TypeError(msg)


def _make_converter() -> Any:
    converter = make_converter()
    converter.register_structure_hook(str | int | None, _thread_id)
    converter.register_unstructure_hook(frozenset, sorted)
    return converter


_CONVERTER = _make_converter()


def dumps(value: object) -> str:
    """Canonical JSON (sorted keys, no spaces) of a request, principal or binding."""
    return json.dumps(
        _CONVERTER.unstructure(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


_REQUESTS: OrderedDict[str, ApprovalRequest] = OrderedDict()
_REQUESTS_HELD = 8192


def dump_request(request: ApprovalRequest) -> str:
    """
    The request's canonical JSON, remembered with the object it came from.

    Every record Redis hands back carries this text (register's reply, get, the published
    messages, consume); remembering it spares structuring the same request again, which is
    the costliest step of reading a record.
    """
    text = dumps(request)
    _remember(text, request)
    return text


def _remember(text: str, request: ApprovalRequest) -> None:
    _REQUESTS[text] = request
    if len(_REQUESTS) > _REQUESTS_HELD:
        _REQUESTS.popitem(last=False)


def _request_from_json(text: str) -> ApprovalRequest:
    request = _REQUESTS.get(text)
    if request is None:
        request = _CONVERTER.structure(json.loads(text), ApprovalRequest)
        _remember(text, request)
    return request


@functools.lru_cache(maxsize=256)
def _principal_from_json(text: str) -> Principal:
    principal: Principal = _CONVERTER.structure(json.loads(text), Principal)
    return principal


def record(row: Sequence[Any]) -> ApprovalRecord | None:
    """
    Build a record from ``[req, st, dec, by, set, rsn, rq, gd]`` (``req`` None: no record).

    A seven-value row (a replica from before ``gd``) reads as no grant lifetime.
    """
    req, state, decision, by, settled, reason, requester, *rest = row
    days = rest[0] if rest else None
    if req is None:
        return None
    try:
        return ApprovalRecord(
            request=_request_from_json(req),
            state=ApprovalState(state),
            decision=None if decision is None else Decision(decision),
            resolved_by=by,
            settled_at_ms=None if settled is None else int(settled),
            reason=None if reason is None else TerminalReason(reason),
            requester=None if requester is None else _principal_from_json(requester),
            grant_expires_in_days=None if days is None else _days(days),
        )
    except (ValueError, TypeError, KeyError, BaseValidationError, LocalProtocolError) as exc:
        # Fail closed: a record we cannot read is never reported as a decision.
        msg = f"unreadable approval record in Redis: {exc}"
        raise TransportError(msg) from exc


def _days(value: object) -> int:
    # Redis hands back the decimal text the store wrote; anything else is unreadable.
    if (
        not isinstance(value, str | int)
        or isinstance(value, bool)
        or not str(value).isascii()
        or not str(value).isdigit()
    ):
        msg = f"bad grant lifetime {value!r}"
        raise ValueError(msg)
    return int(value)


def result(reply: Sequence[Any]) -> ApprovalResult:
    """An :class:`ApprovalResult` from the script's ``[outcome, message, reason, *row]``."""
    outcome, message, reason, *row = reply
    return ApprovalResult(
        outcome=ApprovalOutcome(outcome),
        record=record(row),
        message=message or "",
        reason=reason,
    )


def check_id(approval_id: object) -> str:
    """The stripped id, or :class:`LocalProtocolError` for an empty one."""
    if not isinstance(approval_id, str) or not approval_id.strip():
        raise LocalProtocolError("id is required", details={"reason": "INVALID_ID"})
    return approval_id.strip()


def fold(key: str) -> str:
    """The case-folded key for prefix lookup; ``""`` (no prefix search) if it cannot match."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in key):
        return ""
    return key.casefold()


@attrs.define(eq=False)
class Message:
    """One published change, header split, record decoded once, when first needed."""

    kind: str
    id: str
    evseq: int
    seq: str
    row: str
    _decoded: tuple[ApprovalEvent | None] | None = None

    def event(self) -> ApprovalEvent | None:
        """The event, or ``None`` for a message we cannot read (skipped, never guessed)."""
        if self._decoded is None:
            self._decoded = (self._decode(),)
        return self._decoded[0]

    def _decode(self) -> ApprovalEvent | None:
        cls = EVENT_KINDS.get(self.kind)
        if cls is None:
            return None
        try:
            values = json.loads(self.row)
            if not isinstance(values, list) or len(values) not in (7, 8):
                return None
            rec = record([None if v is False else v for v in values])
        except (ValueError, TransportError):
            return None
        if rec is None or rec.id != self.id:
            return None
        return cls(rec)


def parse_message(payload: object) -> Message | None:
    """Split a published payload's header; ``None`` if it is not one of ours."""
    if not isinstance(payload, str):
        return None
    parts = payload.split("\n", 4)
    if len(parts) != 5 or parts[0] not in EVENT_KINDS:
        return None
    kind, approval_id, evseq, seq, row = parts
    try:
        number = int(evseq)
    except ValueError:
        return None
    return Message(kind=kind, id=approval_id, evseq=number, seq=seq, row=row)


def event_for_record(rec: ApprovalRecord) -> ApprovalEvent:
    """The event that announces *rec*'s current state (for a subscriber catching up)."""
    state = rec.state
    if state is ApprovalState.PENDING:
        return ApprovalRequested(rec)
    if state is ApprovalState.EXPIRED:
        return ApprovalExpired(rec)
    if state is ApprovalState.CANCELLED:
        return ApprovalCancelled(rec)
    return ApprovalResolved(rec)


def check_prefix(prefix: object) -> None:
    if not isinstance(prefix, str) or not prefix or any(c in prefix for c in "{}\0\n"):
        msg = f"prefix must be a non-empty string without braces, got {prefix!r}"
        raise ValueError(msg)


def check_audience(audience: object) -> None:
    if (
        not isinstance(audience, str)
        or not audience
        or any(ord(c) < 0x20 or ord(c) == 0x7F for c in audience)
    ):
        msg = f"an audience must be a non-empty string without control characters: {audience!r}"
        raise LocalProtocolError(msg)


def check_seconds(name: str, value: object) -> None:
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not math.isfinite(value)
        or value <= 0
    ):
        msg = f"{name} must be a positive number of seconds, got {value!r}"
        raise ValueError(msg)
