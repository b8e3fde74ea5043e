"""
The audit record's fast build against the generic one it replaced (a differential test).

``chain_record_line`` splices the canonical JSON and the line from three encoded pieces
(made straight from the fields, without a draft record, for the usual fields), and
``_bounded`` takes exact-type shortcuts for small dicts, lists and short texts. The
reference below is the previous code, kept verbatim: a bounded walk through the ABCs, the
record built, its body encoded, then ``to_json`` encoding it again. Both must give the same
record and the same bytes for any fields, inside and past every bound, keyed or not.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from openclaw_exec.audit import AuditRecord, chain_record
from openclaw_exec.audit._record import (
    _MAX_DEPTH,
    _OPT_STR_FIELDS,
    _RECORD_BUDGET,
    _TRUNCATED,
    MAX_COMMAND_CHARS,
    MAX_ITEMS,
    MAX_TEXT_CHARS,
    _bounded,
    _compact,
    chain_record_line,
)
from openclaw_exec.audit._verify import verify_lines

KEY = b"k" * 32


def _ref_cap(value: str, limit: int = MAX_TEXT_CHARS) -> str:
    return value if len(value) <= limit else value[:limit] + _TRUNCATED


def _ref_bounded(value: Any, depth: int = 0) -> Any:
    kind = type(value)
    if kind is bool or kind is int or kind is float or value is None:
        return value
    if isinstance(value, str):
        return _ref_cap(value)
    if depth >= _MAX_DEPTH:
        return _TRUNCATED
    if isinstance(value, Mapping):
        items = list(value.items())
        out = {str(k)[:MAX_TEXT_CHARS]: _ref_bounded(v, depth + 1) for k, v in items[:MAX_ITEMS]}
        if len(items) > MAX_ITEMS:
            out["…truncated"] = len(items) - MAX_ITEMS
        return out
    if isinstance(value, (list, tuple)):
        kept = [_ref_bounded(v, depth + 1) for v in value[:MAX_ITEMS]]
        if len(value) > MAX_ITEMS:
            kept.append(f"…{len(value) - MAX_ITEMS} more")
        return kept
    return value


def _ref_bound_fields(fields: dict[str, Any]) -> dict[str, Any]:
    out = dict(fields)
    command = out.get("command")
    if isinstance(command, str):
        out["command_sha256"] = hashlib.sha256(command.encode("utf-8", "surrogatepass")).hexdigest()
        out["command_length"] = len(command)
        out["command"] = command[:MAX_COMMAND_CHARS]
    for name in (*_OPT_STR_FIELDS, "kind", "reason"):
        if isinstance(out.get(name), str):
            out[name] = _ref_cap(out[name])
    if "env_keys" in out:
        keys = tuple(out["env_keys"])
        out["env_keys"] = tuple(_ref_cap(k, 256) for k in keys[:MAX_ITEMS])
    for name in ("policy", "details"):
        if name in out:
            out[name] = _ref_bounded(dict(out[name]))
    return out


def _ref_canonical(body: Mapping[str, Any]) -> bytes:
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8", "surrogatepass")


def _ref_chain(previous: AuditRecord | None, key: bytes | None, **fields: Any) -> AuditRecord:
    seq = 1 if previous is None else previous.seq + 1
    prev = "0" * 64 if previous is None else previous.hash
    bounded = _ref_bound_fields(fields)
    draft = AuditRecord(seq=seq, prev=prev, **bounded)
    canonical = _ref_canonical(draft.body())
    if len(canonical) > _RECORD_BUDGET:
        draft = AuditRecord(seq=seq, prev=prev, **_compact(bounded))
        canonical = _ref_canonical(draft.body())
    return attrs.evolve(
        draft,
        hash=hashlib.sha256(canonical).hexdigest(),
        mac=None if key is None else hmac.new(key, canonical, hashlib.sha256).hexdigest(),
    )


# Texts around the caps, with quotes, backslashes, non-ASCII and lone surrogates (which the
# canonical form keeps with surrogatepass), so the splice meets every escape.
_text = st.one_of(
    st.text(max_size=12),
    st.text(alphabet='"\\\n{}:,é€\U0001f600\ud800', max_size=8),
    st.integers(MAX_TEXT_CHARS - 2, MAX_TEXT_CHARS + 2).map(lambda n: "x" * n),
)
_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), _text)
_json = st.recursive(
    _leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(st.one_of(_text, st.integers()), inner, max_size=4),
    ),
    max_leaves=30,
)
_wide = st.one_of(
    st.integers(MAX_ITEMS - 1, MAX_ITEMS + 2).map(lambda n: [1] * n),
    st.integers(MAX_ITEMS - 1, MAX_ITEMS + 2).map(lambda n: {f"k{i}": i for i in range(n)}),
)


def _nest(n: int) -> Any:
    value: Any = "leaf"
    for i in range(n):
        value = {"d": value} if i % 2 else [value]
    return value


_deep = st.integers(_MAX_DEPTH - 1, _MAX_DEPTH + 2).map(_nest)


_maybe_text = st.one_of(st.none(), _text)


@st.composite
def _fields(draw: st.DrawFn) -> dict[str, Any]:
    command = draw(
        st.one_of(_text, st.integers(MAX_COMMAND_CHARS - 1, MAX_COMMAND_CHARS + 1).map("c".__mul__))
    )
    details = draw(st.dictionaries(_text, st.one_of(_json, _wide, _deep), max_size=5))
    return {
        "ts_ms": draw(st.integers(0, 2**53)),
        "command": command,
        "cwd": draw(_maybe_text),
        "agent_id": draw(_maybe_text),
        "session_key": draw(_maybe_text),
        "host": draw(_maybe_text),
        "env_keys": tuple(draw(st.lists(st.one_of(_text, st.just("K" * 300)), max_size=5))),
        "path_env": draw(_maybe_text),
        "policy": draw(st.dictionaries(_text, _json, max_size=4)),
        "allowed": draw(st.booleans()),
        "reason": draw(_text),
        "decision": draw(_maybe_text),
        "approval_id": draw(_maybe_text),
        "approver": draw(_maybe_text),
        "details": details,
    }


def test_the_usual_fields_take_the_direct_way(monkeypatch: pytest.MonkeyPatch) -> None:
    # The differential tests below compare the direct way with the generic one only if
    # the direct way is the one taken: no draft record's body() for the guard's fields.
    fields: dict[str, Any] = {"ts_ms": 1, "command": "true", "allowed": True, "reason": "r"}
    expected_line = chain_record_line(None, **fields)[1]

    def no_body(self: AuditRecord) -> dict[str, Any]:
        raise AssertionError("the generic way was taken")

    monkeypatch.setattr(AuditRecord, "body", no_body)
    assert chain_record_line(None, **fields)[1] == expected_line
    assert chain_record_line(None, **fields, cwd="/x", details={"a": [1]})[0].cwd == "/x"
    with pytest.raises(TypeError):  # not a field a caller passes: the generic way refuses it
        chain_record_line(None, **fields, seq=3)


@given(_fields(), st.sampled_from([None, KEY]), st.booleans())
def test_the_fast_record_is_the_generic_one(
    fields: dict[str, Any], key: bytes | None, chained: bool
) -> None:
    previous = _ref_chain(None, key, **fields) if chained else None
    expected = _ref_chain(previous, key, **fields)
    record, line = chain_record_line(previous, key=key, **fields)
    assert record == expected
    assert line == expected.to_json()
    assert chain_record(previous, key=key, **fields) == expected
    lines = ([previous.to_json() + "\n"] if previous is not None else []) + [line + "\n"]
    assert verify_lines(lines, key=key).ok


_OPTIONAL = (
    "cwd",
    "agent_id",
    "session_key",
    "host",
    "env_keys",
    "path_env",
    "policy",
    "decision",
    "approval_id",
    "approver",
    "details",
)


@given(_fields(), st.sets(st.sampled_from(_OPTIONAL)), st.sampled_from([None, KEY]))
def test_fields_left_to_their_defaults_give_the_generic_record(
    fields: dict[str, Any], left_out: set[str], key: bytes | None
) -> None:
    # The record's own defaults (kind, empty policy, no cwd...) fill what is not passed,
    # and a kind passed explicitly is kept: both as the draft record's body() had them.
    given_fields = {k: v for k, v in fields.items() if k not in left_out}
    if "host" in left_out:
        given_fields["kind"] = "exec.other"
    expected = _ref_chain(None, key, **given_fields)
    record, line = chain_record_line(None, key=key, **given_fields)
    assert record == expected
    assert line == expected.to_json()


def test_fields_the_record_does_not_take_raise_as_before() -> None:
    base: dict[str, Any] = {"ts_ms": 1, "command": "x", "allowed": True, "reason": "r"}
    for extra in ({"bogus": 1}, {"hash": "h"}, {"seq": 3}):
        with pytest.raises(TypeError):
            chain_record_line(None, **base, **extra)
    for missing in ("ts_ms", "command", "allowed", "reason"):
        with pytest.raises(TypeError):
            chain_record_line(None, **{k: v for k, v in base.items() if k != missing})


@given(st.one_of(_json, _wide, _deep))
def test_bounded_is_the_generic_walk(value: Any) -> None:
    assert _bounded(value) == _ref_bounded(value)
    assert _bounded(value, 6) == _ref_bounded(value, 6)


def test_an_oversized_record_is_compacted_the_same_way() -> None:
    fields: dict[str, Any] = {
        "ts_ms": 1,
        "command": "x",
        "allowed": False,
        "reason": "r",
        "details": {f"k{i}": "y" * MAX_TEXT_CHARS for i in range(MAX_ITEMS)},
    }
    record, line = chain_record_line(None, **fields)
    assert record == _ref_chain(None, None, **fields)
    assert "truncated" in record.details
    assert line == record.to_json()
