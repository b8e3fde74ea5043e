"""Audit records: the fields, their bounds, the canonical JSON, the hash and the MAC (pure)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any, Final

import attrs

from openclaw_exec.policy import ExecPolicy

__all__ = [
    "GENESIS_HASH",
    "MAX_COMMAND_CHARS",
    "MAX_ITEMS",
    "MAX_RECORD_BYTES",
    "MAX_TEXT_CHARS",
    "MIN_KEY_BYTES",
    "AuditRecord",
    "chain_record",
    "chain_record_line",
]

GENESIS_HASH: Final = "0" * 64
"""The ``prev`` of the first record."""

MAX_COMMAND_CHARS: Final = 4096
"""Characters of the command kept in a record; the full text's SHA-256 and length are kept."""

MAX_TEXT_CHARS: Final = 4096
"""Characters kept of any other text in a record (cwd, PATH, messages in ``details``...)."""

MAX_ITEMS: Final = 256
"""Items kept of any list or object in ``env_keys``, ``policy`` or ``details``."""

MAX_RECORD_BYTES: Final = 1024 * 1024
"""The longest line a reader accepts (a bounded record is far below it)."""

MIN_KEY_BYTES: Final = 16
"""The shortest audit key accepted (use 32 random bytes)."""


_TRUNCATED: Final = "…[truncated]"
_MAX_DEPTH: Final = 8  # deeper than any record the guard writes
#: Past this a record is compacted (_compact); what is left is well under MAX_RECORD_BYTES.
_RECORD_BUDGET: Final = 256 * 1024
_POLICY_KEYS: Final = frozenset({"security", "ask", "askFallback", "autoAllowSkills", "sandbox"})

_MAX_KEY_CHARS: Final = 256  # of one environment variable name in env_keys
_FACTORY_MADE: Final = ("policy", "details")  # AuditRecord's fields with a factory default

_STR_FIELDS = ("kind", "command", "reason", "prev", "hash")
_OPT_STR_FIELDS = (
    "cwd",
    "agent_id",
    "session_key",
    "decision",
    "approval_id",
    "approver",
    "host",
    "path_env",
)


_CAPPED_FIELDS = (*_OPT_STR_FIELDS, "kind", "reason")


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


@attrs.frozen(kw_only=True)
class AuditRecord:
    """
    One audited decision.

    Attributes:
        seq: Position in the log, from 1.
        ts_ms: When it was decided (epoch milliseconds).
        kind: What was decided (``exec.authorize``).
        command: The command text as requested.
        cwd: Working directory.
        agent_id: The agent.
        session_key: The conversation.
        host: The exec host (``gateway``, ``node``, ...), if known.
        env_keys: Names (never values) of the environment passed.
        path_env: The ``PATH`` the command was analysed with (replay resolves with it).
        policy: The effective policy (``security``, ``ask``, ``askFallback``, ...).
        allowed: Whether the command may run.
        reason: Why (OpenClaw's reason strings, e.g. ``allowlist-miss``, ``user-denied``).
        decision: The human decision, if one was asked (``allow-once`` ...), else ``None``.
        approval_id: The approval id, if one was asked.
        approver: Who decided (``resolvedBy``).
        details: Extra data (analysis summary, persisted patterns, ...).
        command_sha256: SHA-256 (hex) of the full command text (UTF-8), ``None`` in
            records written before it existed.
        command_length: Length of the full command in characters; larger than
            ``len(command)`` when only a prefix was kept.
        prev: Hash of the previous record.
        hash: This record's hash.
        mac: HMAC-SHA256 (hex) of the canonical JSON under the writer's key, or ``None``
            for an unkeyed log.
    """

    seq: int
    ts_ms: int
    kind: str = "exec.authorize"
    command: str
    cwd: str | None = None
    agent_id: str | None = None
    session_key: str | None = None
    host: str | None = None
    env_keys: tuple[str, ...] = ()
    path_env: str | None = None
    policy: Mapping[str, Any] = attrs.field(factory=dict)
    allowed: bool
    reason: str
    decision: str | None = None
    approval_id: str | None = None
    approver: str | None = None
    details: Mapping[str, Any] = attrs.field(factory=dict)
    command_sha256: str | None = None
    command_length: int | None = None
    prev: str = GENESIS_HASH
    hash: str = ""
    mac: str | None = None

    @property
    def command_truncated(self) -> bool:
        """Only a prefix of the command is stored (replay cannot re-decide it)."""
        return self.command_length is not None and self.command_length > len(self.command)

    def body(self) -> dict[str, Any]:
        """The JSON object, ``hash`` and ``mac`` excluded (what both cover)."""
        data = attrs.asdict(self, recurse=False)
        del data["hash"]
        del data["mac"]
        for optional in ("command_sha256", "command_length"):
            if data[optional] is None:  # absent in older records: their hashes still hold
                del data[optional]
        data["env_keys"] = list(self.env_keys)
        data["policy"] = dict(self.policy)
        data["details"] = dict(self.details)
        return data

    def exec_policy(self) -> ExecPolicy:
        """
        The effective policy recorded (for ``audit replay``).

        Raises:
            PolicyError: The recorded knobs are not valid policy values.
        """
        knobs = self.policy
        return ExecPolicy(
            security=knobs.get("security", "deny"),
            ask=knobs.get("ask", "on-miss"),
            ask_fallback=knobs.get("askFallback", "deny"),
            auto_allow_skills=knobs.get("autoAllowSkills", False) is True,
            sandbox=knobs.get("sandbox", "off"),
        )

    def to_json(self) -> str:
        """The JSON line (no newline)."""
        signed = {} if self.mac is None else {"mac": self.mac}
        return json.dumps(
            {**self.body(), "hash": self.hash, **signed},
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AuditRecord:
        """
        Rebuild a record from a decoded line, checking every field's type.

        Raises:
            ValueError: A field is missing or has the wrong type.
        """
        problems = [
            f"{n} must be a string" for n in _STR_FIELDS if not isinstance(data.get(n), str)
        ]
        problems += [
            f"{n} must be a string or null"
            for n in _OPT_STR_FIELDS
            if data.get(n) is not None and not isinstance(data.get(n), str)
        ]
        problems += [
            f"{n} must be an integer" for n in ("seq", "ts_ms") if type(data.get(n)) is not int
        ]
        for name in ("command_sha256", "mac"):
            value = data.get(name)
            if value is not None and not _is_hex64(value):
                problems.append(f"{name} must be 64 lower-case hex digits or absent")
        length = data.get("command_length")
        if length is not None and (type(length) is not int or length < 0):
            problems.append("command_length must be a non-negative integer or absent")
        if type(data.get("allowed")) is not bool:
            problems.append("allowed must be a boolean")
        keys = data.get("env_keys")
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            problems.append("env_keys must be an array of strings")
        problems += [
            f"{n} must be an object"
            for n in ("policy", "details")
            if not isinstance(data.get(n), dict)
        ]
        if problems:
            raise ValueError("; ".join(problems))
        names = {a.name for a in attrs.fields(cls)}
        fields = {k: v for k, v in data.items() if k in names}
        fields["env_keys"] = tuple(fields["env_keys"])
        return cls(**fields)


def _is_hex64(value: object) -> bool:
    return (
        isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)
    )


def _canonical(body: Mapping[str, Any]) -> bytes:
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8", "surrogatepass")


def _digest(body: Mapping[str, Any]) -> str:
    return hashlib.sha256(_canonical(body)).hexdigest()


def _mac(key: bytes, body: Mapping[str, Any]) -> str:
    return hmac.new(key, _canonical(body), hashlib.sha256).hexdigest()


def _check_key(key: object) -> bytes | None:
    if key is None:
        return None
    if not isinstance(key, bytes):
        raise TypeError(f"the audit key must be bytes, got {type(key).__name__}")
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"the audit key must hold at least {MIN_KEY_BYTES} bytes")
    return key


def _cap_text(value: str, limit: int = MAX_TEXT_CHARS) -> str:
    return value if len(value) <= limit else value[:limit] + _TRUNCATED


# Values _bounded returns as they are, at any depth: scalars (and short texts, checked
# inline beside this set where it is used).
_SCALARS: Final = frozenset({bool, int, float, type(None)})


def _bounded(value: Any, depth: int = 0) -> Any:
    """A JSON value with every string, list and object capped (nesting too)."""
    kind = type(value)
    if kind is bool or kind is int or kind is float or value is None:
        return value  # the common leaves first: the ABC checks below cost more
    if isinstance(value, str):
        return _cap_text(value)
    if depth >= _MAX_DEPTH:
        return _TRUNCATED
    if kind is dict and len(value) <= MAX_ITEMS:
        # The shape the guard writes (a small dict of str keys): the Mapping branch below
        # without its list copy and ABC check; the same result (tests/audit differential).
        return {
            (k if type(k) is str and len(k) <= MAX_TEXT_CHARS else str(k)[:MAX_TEXT_CHARS]): (
                v
                if type(v) in _SCALARS or (type(v) is str and len(v) <= MAX_TEXT_CHARS)
                else _bounded(v, depth + 1)
            )
            for k, v in value.items()
        }
    if (kind is list or kind is tuple) and len(value) <= MAX_ITEMS:
        return [
            v
            if type(v) in _SCALARS or (type(v) is str and len(v) <= MAX_TEXT_CHARS)
            else _bounded(v, depth + 1)
            for v in value
        ]
    if isinstance(value, Mapping):
        items = list(value.items())
        out = {str(k)[:MAX_TEXT_CHARS]: _bounded(v, depth + 1) for k, v in items[:MAX_ITEMS]}
        if len(items) > MAX_ITEMS:
            out["…truncated"] = len(items) - MAX_ITEMS
        return out
    if isinstance(value, (list, tuple)):
        kept = [_bounded(v, depth + 1) for v in value[:MAX_ITEMS]]
        if len(value) > MAX_ITEMS:
            kept.append(f"…{len(value) - MAX_ITEMS} more")
        return kept
    return value


def _bound_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Cap what a record stores: a command prefix plus the full text's hash, capped text."""
    out = dict(fields)
    command = out.get("command")
    if isinstance(command, str):
        out["command_sha256"] = hashlib.sha256(command.encode("utf-8", "surrogatepass")).hexdigest()
        out["command_length"] = len(command)
        out["command"] = command[:MAX_COMMAND_CHARS]
    for name in _CAPPED_FIELDS:
        text = out.get(name)
        if isinstance(text, str) and len(text) > MAX_TEXT_CHARS:
            out[name] = text[:MAX_TEXT_CHARS] + _TRUNCATED
    if "env_keys" in out:
        keys = tuple(out["env_keys"])[:MAX_ITEMS]
        if not keys or max(map(len, keys)) > _MAX_KEY_CHARS:  # else: every name kept whole
            keys = tuple(
                k if len(k) <= _MAX_KEY_CHARS else k[:_MAX_KEY_CHARS] + _TRUNCATED for k in keys
            )
        out["env_keys"] = keys
    for name in ("policy", "details"):
        if name in out:
            out[name] = _bounded(dict(out[name]))
    return out


def _compact(fields: dict[str, Any]) -> dict[str, Any]:
    """The last resort for an oversized record: details and policy reduced to essentials."""
    out = dict(fields)
    details = out.get("details") or {}
    message = details.get("message") if isinstance(details, Mapping) else None
    out["details"] = {
        "truncated": "details dropped: the record was too large",
        "message": _cap_text(message, 1024) if isinstance(message, str) else None,
    }
    policy = out.get("policy") or {}
    out["policy"] = {
        k: _cap_text(v, 64) if isinstance(v, str) else v
        for k, v in (policy.items() if isinstance(policy, Mapping) else ())
        if k in _POLICY_KEYS and isinstance(v, (str, bool))
    }
    out["env_keys"] = tuple(out.get("env_keys", ()))[:32]
    return out


def chain_record(
    previous: AuditRecord | None, *, key: bytes | None = None, **fields: Any
) -> AuditRecord:
    """
    Make the record that follows *previous* (``None``: the first), with its hash.

    The fields are bounded first (see :data:`MAX_COMMAND_CHARS`): a long command is kept
    as a prefix with ``command_sha256`` and ``command_length`` of the full text.

    Args:
        previous: The last record of the log, or ``None``.
        key: The audit key: the record then carries ``mac`` (at least
            :data:`MIN_KEY_BYTES` bytes).
        **fields: The :class:`AuditRecord` fields except ``seq``, ``prev``, ``hash``,
            ``mac``, ``command_sha256`` and ``command_length``.
    """
    return chain_record_line(previous, key=key, **fields)[0]


def chain_record_line(
    previous: AuditRecord | None, *, key: bytes | None = None, **fields: Any
) -> tuple[AuditRecord, str]:
    """
    :func:`chain_record`, and the record's JSON line (``to_json()``, no newline) with it.

    The body is serialised once: the canonical JSON (hashed and signed) and the line
    (the same keys plus ``hash`` and ``mac``, sorted) are spliced from the same three
    pieces instead of encoding the record twice. For the usual fields (every name a field
    of :class:`AuditRecord` the caller may pass, the required ones present) the pieces are
    made straight from them, without a draft record and its ``body()``; anything else
    takes the generic way (which raises as the record's constructor does).
    """
    secret = _check_key(key)
    seq = 1 if previous is None else previous.seq + 1
    prev = GENESIS_HASH if previous is None else previous.hash
    bounded = _bound_fields(fields)
    pieces = None
    if _REQUIRED_FIELDS <= bounded.keys() <= _PASSED_FIELDS:
        pieces = _direct_pieces(seq, prev, bounded)
    if pieces is None:
        draft = AuditRecord(seq=seq, prev=prev, **bounded)
        pieces = _pieces(draft.body())  # serialised once for the size, hash, MAC and line
    canonical = _joined(pieces).encode("utf-8", "surrogatepass")
    if len(canonical) > _RECORD_BUDGET:  # many capped pieces still add up: compact
        bounded = _compact(bounded)
        draft = AuditRecord(seq=seq, prev=prev, **bounded)
        pieces = _pieces(draft.body())
        canonical = _joined(pieces).encode("utf-8", "surrogatepass")
    digest = hashlib.sha256(canonical).hexdigest()
    mac = None if secret is None else hmac.new(secret, canonical, hashlib.sha256).hexdigest()
    record = AuditRecord(seq=seq, prev=prev, hash=digest, mac=mac, **bounded)
    return record, _joined(pieces, digest, mac)


_RECORD_FIELDS: Final[tuple[attrs.Attribute[Any], ...]] = tuple(attrs.fields(AuditRecord))
#: What a caller may pass (chain_record_line sets the rest), and what it must.
_SET_HERE: Final = frozenset({"seq", "prev", "hash", "mac"})
_PASSED_FIELDS: Final = frozenset(a.name for a in _RECORD_FIELDS) - _SET_HERE
_REQUIRED_FIELDS: Final = (
    frozenset(a.name for a in _RECORD_FIELDS if a.default is attrs.NOTHING) - _SET_HERE
)
# The members of body() with a plain default, by the piece they sort into (before "hash",
# between "hash" and "mac", after "mac"); policy and details (made by factories) apart.
_PLAIN = [
    a for a in _RECORD_FIELDS if a.default is not attrs.NOTHING and a.name not in _FACTORY_MADE
]
_HEAD_DEFAULTS: Final[dict[str, Any]] = {a.name: a.default for a in _PLAIN if a.name < "hash"}
_TAIL_DEFAULTS: Final[dict[str, Any]] = {a.name: a.default for a in _PLAIN if a.name > "mac"}
_MIDDLE_NAMES: Final = tuple(sorted(a.name for a in _RECORD_FIELDS if "hash" < a.name < "mac"))
if _MIDDLE_NAMES != ("host", "kind") or any(hasattr(a.default, "factory") for a in _PLAIN):
    msg = "AuditRecord's fields no longer sort as _direct_pieces assumes"
    raise RuntimeError(msg)  # pragma: no cover


def _direct_pieces(seq: int, prev: str, bounded: dict[str, Any]) -> tuple[str, str, str] | None:
    """
    ``_pieces(AuditRecord(seq=seq, prev=prev, **bounded).body())`` without the record.

    ``None`` for a field value ``body()`` would treat differently from a plain copy (the
    caller then takes the generic way).
    """
    head = dict(_HEAD_DEFAULTS)
    tail = dict(_TAIL_DEFAULTS)
    tail["policy"] = {}
    head["details"] = {}
    host: Any = None
    kind: Any = "exec.authorize"
    for name, value in bounded.items():
        if name < "hash":
            head[name] = value
        elif name > "mac":
            tail[name] = value
        elif name == "host":
            host = value
        else:
            kind = value
    tail["seq"] = seq
    tail["prev"] = prev
    # As body(): the optional hash and length left out when None, env_keys as a list,
    # policy and details as plain dicts.
    if head.get("command_sha256", 0) is None:
        del head["command_sha256"]
    if head.get("command_length", 0) is None:
        del head["command_length"]
    head["env_keys"] = list(head["env_keys"])
    if type(tail["policy"]) is not dict or type(head["details"]) is not dict:
        return None
    middle = '"host":' + _member(host) + ',"kind":' + _member(kind)
    return _dumps(head)[1:-1], middle, _dumps(tail)[1:-1]


def _member(value: Any) -> str:
    """One JSON value as ``_dumps`` writes it (a text or null without the encoder's set-up)."""
    if type(value) is str:
        return _encode_text(value)
    if value is None:
        return "null"
    return _dumps(value)


# json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False) builds this
# encoder on every call; the same one, made once, gives the same text.
_ENCODER: Final = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
_dumps = _ENCODER.encode
# What the encoder itself writes for a str with ensure_ascii=False (its own fast path).
_encode_text: Final = json.encoder.encode_basestring


def _pieces(body: Mapping[str, Any]) -> tuple[str, str, str]:
    """
    The body's sorted members as three JSON texts, each without its braces.

    Before ``hash``, between ``hash`` and ``mac``, after ``mac``: every record has members
    in all three (``agent_id``..., ``host``/``kind``, ``path_env``...).
    """
    head: dict[str, Any] = {}
    middle: dict[str, Any] = {}
    tail: dict[str, Any] = {}
    for k, v in body.items():
        (head if k < "hash" else middle if k < "mac" else tail)[k] = v
    if not (head and middle and tail) or "hash" in middle or "mac" in tail:
        raise ValueError("an audit record body without its fixed members")  # never: a bug
    return _dumps(head)[1:-1], _dumps(middle)[1:-1], _dumps(tail)[1:-1]


def _joined(pieces: tuple[str, str, str], digest: str | None = None, mac: str | None = None) -> str:
    """The canonical JSON (no *digest*) or the line: ``json.dumps`` with sorted keys, exactly."""
    head, middle, tail = pieces
    if digest is None:
        return "{" + head + "," + middle + "," + tail + "}"
    signed = "" if mac is None else ',"mac":"' + mac + '"'
    return "{" + head + ',"hash":"' + digest + '",' + middle + signed + "," + tail + "}"
