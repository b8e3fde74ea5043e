"""
The one place where approval frames become dicts and back: a cattrs converter.

Keys are camelCase on the wire and snake_case in Python. Input is checked strictly (a string
is a string, an integer is not a boolean), unknown keys are tolerated (newer peers add
fields), and anything malformed raises :class:`~openclaw_exec.exceptions.RemoteProtocolError`
with ``INVALID_REQUEST`` and a message naming the bad field. :func:`structure`,
:func:`encode` and :func:`dumps` are the converter's public face; the frame and event
parsers in :mod:`openclaw_exec.protocol._wire` build on them. Pure: no I/O, no clock.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override
from cattrs.v import format_exception

from openclaw_exec.exceptions import RemoteProtocolError
from openclaw_exec.protocol._frames import (
    _SOCKET_TYPE_OF,
    _TYPE_OF,
    AcceptedPayload,
    DecisionPayload,
    ErrorShape,
    EventFrame,
    ExecApprovalRequestParams,
    RequestFrame,
    ResolvedPayload,
    ResolveParams,
    ResponseFrame,
    SocketDecision,
    SocketPrompt,
    SocketRequest,
    StateVersion,
    WaitDecisionParams,
)
from openclaw_exec.protocol._models import Decision, ExecBinding, SystemRunPlan

__all__ = ["dumps", "dumps_frame", "encode", "structure"]

T = TypeVar("T")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _fail(expected: str, value: object) -> TypeError:
    return TypeError(f"expected {expected}, found {type(value).__name__}")


def _str(value: object, _: object) -> str:
    if not isinstance(value, str):
        raise _fail("a string", value)
    return value


def _int(value: object, _: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail("an integer", value)
    return value


def _bool(value: object, _: object) -> bool:
    if not isinstance(value, bool):
        raise _fail("a boolean", value)
    return value


def _str_tuple(value: object, _: object) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise _fail("an array of strings", value)
    return tuple(value)


def _str_or_int(value: object, _: object) -> str | int:
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise _fail("a string or an integer", value)


def _optional_str_or_int(value: object, hint: object) -> str | int | None:
    return None if value is None else _str_or_int(value, hint)


def _plain_dict(value: object, _: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail("an object", value)
    return value


def _str_dict(value: object, _: object) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise _fail("an object of strings", value)
    return value


def _any(value: object, _: object) -> Any:
    return value


def _decision_tuple(value: object, _: object) -> tuple[Decision, ...]:
    if not isinstance(value, list | tuple):
        raise _fail("an array of decisions", value)
    return tuple(_decision(v, None) for v in value)


def _decision(value: object, _: object) -> Decision:
    if not isinstance(value, str):
        raise _fail("a decision string", value)
    try:
        return Decision(value)
    except ValueError:
        raise ValueError(
            f"invalid decision {value!r}: expected allow-once, allow-always or deny"
        ) from None


# Leaves first: a generated hook captures the hooks of its fields when it is made.
_OMIT_NONE = (
    ErrorShape,
    SocketPrompt,
    RequestFrame,
    ResponseFrame,
    EventFrame,
    ExecApprovalRequestParams,
)
_KEEP_NONE = (
    StateVersion,
    SystemRunPlan,
    ExecBinding,
    WaitDecisionParams,
    ResolveParams,
    DecisionPayload,
    AcceptedPayload,
    ResolvedPayload,
    SocketRequest,
    SocketDecision,
)
_ORDER = (
    ErrorShape,
    StateVersion,
    SystemRunPlan,
    ExecBinding,
    SocketPrompt,
    RequestFrame,
    ResponseFrame,
    EventFrame,
    ExecApprovalRequestParams,
    *_KEEP_NONE[3:],
)


def _equals(hint: object) -> Callable[[Any], bool]:
    return lambda t: bool(t == hint)


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=False, detailed_validation=True)
    conv.register_structure_hook(str, _str)
    conv.register_structure_hook(int, _int)
    conv.register_structure_hook(bool, _bool)
    conv.register_structure_hook(Decision, _decision)
    exact: dict[object, Callable[[Any, Any], Any]] = {
        tuple[str, ...]: _str_tuple,
        str | int | None: _optional_str_or_int,
        dict[str, Any]: _plain_dict,
        dict[str, str]: _str_dict,
        tuple[Decision, ...]: _decision_tuple,
        Any: _any,
    }
    for hint, hook in exact.items():
        conv.register_structure_hook_func(_equals(hint), hook)
    conv.register_unstructure_hook_func(
        lambda t: t in (tuple[str, ...], tuple[Decision, ...]), lambda v: [str(x) for x in v]
    )
    for cls in _ORDER:
        omit = cls in _OMIT_NONE
        overrides = {
            a.name: override(rename=_camel(a.name), omit_if_default=omit) for a in attrs.fields(cls)
        }
        conv.register_structure_hook(cls, make_dict_structure_fn(cls, conv, **overrides))  # type: ignore[arg-type]
        conv.register_unstructure_hook(cls, make_dict_unstructure_fn(cls, conv, **overrides))  # type: ignore[arg-type]
    return conv


_CONVERTER: Final = _make_converter()


def _format(exc: BaseException, hint: type | None) -> str:
    if (
        isinstance(exc, ValueError | TypeError)
        and str(exc)
        and "positional argument" not in str(exc)
    ):
        return str(exc)
    return format_exception(exc, hint)


def _protocol_error(what: str, exc: Exception) -> RemoteProtocolError:
    if isinstance(exc, cattrs.BaseValidationError):
        problems = "; ".join(cattrs.transform_error(exc, path=what, format_exception=_format))
    else:
        problems = f"{what}: {exc}"
    return RemoteProtocolError(
        f"invalid {what}: {problems}",
        error_code="INVALID_REQUEST",
        details={"reason": "INVALID_FRAME"},
    )


def structure(data: object, cls: type[T], *, what: str | None = None) -> T:
    """
    Build *cls* from decoded JSON *data*, strictly, tolerating unknown keys.

    Raises:
        RemoteProtocolError: ``INVALID_REQUEST`` naming the bad field(s).
    """
    label = what or cls.__name__
    if not isinstance(data, Mapping):
        raise RemoteProtocolError(
            f"invalid {label}: expected an object, found {type(data).__name__}",
            details={"reason": "INVALID_FRAME"},
        )
    try:
        return _CONVERTER.structure(data, cls)
    except (cattrs.BaseValidationError, ValueError, TypeError, KeyError) as exc:
        raise _protocol_error(label, exc) from None


def encode(value: object) -> Any:
    """Turn a wire class (or a frame) into plain JSON-ready data, camelCase keys."""
    data = _CONVERTER.unstructure(value)
    kind = _TYPE_OF.get(type(value)) or _SOCKET_TYPE_OF.get(type(value))
    return {"type": kind, **data} if kind else data


def dumps(value: object) -> str:
    """:func:`encode` then compact JSON text (one line, no trailing newline)."""
    return json.dumps(encode(value), separators=(",", ":"), ensure_ascii=False)


def _plain(value: object) -> Any:
    """Json's fallback for a value inside a frame's payload: what the converter makes of it."""
    data = _CONVERTER.unstructure(value)
    if type(data) is type(value):  # nothing JSON can write came of it (a set stays a set)
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
    return data


def dumps_frame(frame: RequestFrame | ResponseFrame | EventFrame) -> str:
    """
    :func:`dumps` of a frame (the same text), without the converter walking its payload.

    A payload is JSON data already (the gateway builds it with :func:`encode`), which the
    converter would copy key by key for every frame (a third of the kit's CPU under load);
    json writes it as it is, and hands anything else inside it (an attrs value, a mapping
    that is not a dict) to the converter, as :func:`dumps` would. The frame's own fields are
    laid out as the converter lays them out: ``type`` first, fields in order, ``None``s left out.
    """
    data: dict[str, Any]
    if type(frame) is EventFrame:
        data = {"type": "event", "event": frame.event}
        if frame.payload is not None:
            data["payload"] = frame.payload
        if frame.seq is not None:
            data["seq"] = frame.seq
        if frame.state_version is not None:
            data["stateVersion"] = _CONVERTER.unstructure(frame.state_version)
    elif type(frame) is ResponseFrame:
        data = {"type": "res", "id": frame.id, "ok": frame.ok}
        if frame.payload is not None:
            data["payload"] = frame.payload
        if frame.error is not None:
            data["error"] = _CONVERTER.unstructure(frame.error)
    else:
        return dumps(frame)
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=_plain)
