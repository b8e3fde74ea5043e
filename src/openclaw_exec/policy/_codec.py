"""
The one converter between ``exec-approvals.json`` documents and the model.

On input every field is type-checked exactly (no ``"5"`` for ``5``, no ``"yes"`` for
``true``, enum values spelled exactly as OpenClaw writes them), and the first problem is
raised as :class:`~openclaw_exec.ApprovalsFileError` naming the file, the JSON path and
what was expected. OpenClaw instead reads a broken file as empty or falls back to a
default, which can make policy *looser*; this library never does.

Keys the model does not know are kept in each object's ``extra`` and written back in
place, so a round trip through this library loses nothing a newer OpenClaw wrote.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable
from typing import Any, Final, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from openclaw_exec.exceptions import ApprovalsFileError
from openclaw_exec.policy._approvals import (
    DEFAULT_AGENT_ID,
    AgentPolicy,
    AllowlistEntry,
    ApprovalsFile,
    PolicyDefaults,
    SocketConfig,
)
from openclaw_exec.policy._argpattern import arg_pattern_problem
from openclaw_exec.policy._deny import DenyRule, deny_rule_problem
from openclaw_exec.policy._enums import Ask, SandboxMode, Security
from openclaw_exec.policy._grants import Grant

__all__ = [
    "approvals_from_json",
    "approvals_to_json",
    "check_arg_pattern",
    "check_arg_patterns",
    "check_deny_rules",
    "dumps_approvals",
    "loads_approvals",
]

_T = TypeVar("_T")

#: Python attribute name -> camelCase key on disk, for every class in the model.
RENAMES: Final = {
    "ask_fallback": "askFallback",
    "auto_allow_skills": "autoAllowSkills",
    "arg_pattern": "argPattern",
    "command_text": "commandText",
    "last_used_at": "lastUsedAt",
    "last_used_command": "lastUsedCommand",
    "last_resolved_path": "lastResolvedPath",
    "created_at_ms": "createdAtMs",
    "expires_at_ms": "expiresAtMs",
    "session_key": "sessionKey",
    "max_uses": "maxUses",
    "use_count": "useCount",
    "revoked_at_ms": "revokedAtMs",
    "revoked_by": "revokedBy",
    "last_used_at_ms": "lastUsedAtMs",
    "approval_id": "approvalId",
}


class _FieldError(ValueError):
    """A leaf validation failure: what was expected and what was found."""

    def __init__(self, expected: str, found: object) -> None:
        super().__init__(expected)
        self.expected = expected
        self.found = found


def _describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return json.dumps(text)
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _strict_str(value: object, _type: object) -> str:
    if not isinstance(value, str):
        raise _FieldError("a string", value)
    return value


def _strict_int(value: object, _type: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _FieldError("an integer", value)
    return value


def _strict_bool(value: object, _type: object) -> bool:
    if not isinstance(value, bool):
        raise _FieldError("true or false", value)
    return value


def _exact_enum(
    enum_type: type[Security | Ask | SandboxMode],
) -> Callable[[object, object], Any]:
    allowed = ", ".join(json.dumps(m.value) for m in enum_type)

    def structure(value: object, _type: object) -> Security | Ask | SandboxMode:
        member = enum_type.parse_exact(value)
        if member is None:
            raise _FieldError(f"one of {allowed}", value)
        return member

    return structure


def _entry_from_string(value: object) -> object:
    # OpenClaw accepts a bare string as {pattern: string}.
    return {"pattern": value} if isinstance(value, str) else value


def _allowlist_hook(conv: cattrs.Converter) -> Callable[[object, object], Any]:
    def structure(value: object, _type: object) -> tuple[AllowlistEntry, ...]:
        if not isinstance(value, list):
            raise _FieldError("an array of allowlist entries", value)
        return tuple(conv.structure(value, list[AllowlistEntry]))

    return structure


def _deny_hook(conv: cattrs.Converter) -> Callable[[object, object], Any]:
    def structure(value: object, _type: object) -> tuple[DenyRule, ...]:
        if not isinstance(value, list):
            raise _FieldError("an array of deny rules", value)
        return tuple(conv.structure(value, list[DenyRule]))

    return structure


def _grants_hook(conv: cattrs.Converter) -> Callable[[object, object], Any]:
    def structure(value: object, _type: object) -> tuple[Grant, ...]:
        if not isinstance(value, list):
            raise _FieldError("an array of grants", value)
        return tuple(conv.structure(value, list[Grant]))

    return structure


def _build_converter(*, detailed: bool) -> cattrs.Converter:
    conv = cattrs.Converter(detailed_validation=detailed, omit_if_default=True)
    conv.register_structure_hook(str, _strict_str)
    conv.register_structure_hook(int, _strict_int)
    conv.register_structure_hook(bool, _strict_bool)
    conv.register_structure_hook(Security, _exact_enum(Security))
    conv.register_structure_hook(Ask, _exact_enum(Ask))
    conv.register_unstructure_hook(Security, lambda v: v.value)
    conv.register_unstructure_hook(Ask, lambda v: v.value)
    conv.register_structure_hook(SandboxMode, _exact_enum(SandboxMode))
    conv.register_unstructure_hook(SandboxMode, lambda v: v.value)

    allowlist_type = tuple[AllowlistEntry, ...]
    conv.register_structure_hook_func(lambda t: t == allowlist_type, _allowlist_hook(conv))
    deny_type = tuple[DenyRule, ...]
    conv.register_structure_hook_func(lambda t: t == deny_type, _deny_hook(conv))
    grants_type = tuple[Grant, ...]
    conv.register_structure_hook_func(lambda t: t == grants_type, _grants_hook(conv))
    for cls in (
        AllowlistEntry,
        DenyRule,
        Grant,
        PolicyDefaults,
        AgentPolicy,
        SocketConfig,
        ApprovalsFile,
    ):
        _register_class(conv, cls)
    return conv


def _register_class(conv: cattrs.Converter, cls: type[Any]) -> None:
    fields = [f for f in attrs.fields(cls) if f.name != "extra"]
    renames = {f.name: override(rename=RENAMES.get(f.name, f.name)) for f in fields}
    renames["extra"] = override(omit=True)
    known = {RENAMES.get(f.name, f.name) for f in fields}
    structure_known = make_dict_structure_fn(cls, conv, **renames)  # type: ignore[arg-type]
    unstructure_known = make_dict_unstructure_fn(
        cls,
        conv,
        _cattrs_omit_if_default=True,
        **renames,  # type: ignore[arg-type]
    )

    def structure(value: object, _type: object) -> Any:
        if cls is AllowlistEntry or cls is DenyRule:
            if isinstance(value, str) and not value.strip():
                raise _FieldError("a non-empty pattern (or an object)", value)
            value = _entry_from_string(value)
        if not isinstance(value, dict):
            raise _FieldError("an object", value)
        if known.issuperset(value):
            return structure_known(value, cls)
        extra = {k: v for k, v in value.items() if k not in known}
        obj = structure_known({k: v for k, v in value.items() if k in known}, cls)
        return attrs.evolve(obj, extra=extra)

    def unstructure(obj: Any) -> dict[str, Any]:
        out: dict[str, Any] = dict(unstructure_known(obj))
        for key, val in obj.extra.items():
            out.setdefault(key, val)
        return out

    conv.register_structure_hook(cls, structure)
    conv.register_unstructure_hook(cls, unstructure)


#: Valid files (the common case) go through the fast converter; only a file that fails is
#: structured again with detailed validation, to name the JSON path of the first problem.
_CONVERTER: Final = _build_converter(detailed=False)
_DETAILED: Final = _build_converter(detailed=True)

_KNOB_KEYS: Final = frozenset({"security", "ask", "askFallback", "autoAllowSkills", "sandbox"})
#: Keys that at the top level are almost surely a misplaced agent or defaults object
#: (OpenClaw #43904): rejected rather than preserved, since ignoring them loosens policy.
MISPLACED_TOP_LEVEL: Final = _KNOB_KEYS | {
    "*",
    "main",
    "default",
    "allowlist",
    "deny",
    "grants",
}

_PATH_PIECE: Final = re.compile(r"\[(['\"])(.*?)\1\]|\.([A-Za-z_]\w*)")


def _json_path(cattrs_path: str) -> str:
    """Turn cattrs' ``$.agents['main'].allowlist[3].last_used_at`` into OpenClaw's spelling."""

    def piece(match: re.Match[str]) -> str:
        if match.group(3) is not None:
            return "." + RENAMES.get(match.group(3), match.group(3))
        key = match.group(2)
        return f".{key}" if re.fullmatch(r"[A-Za-z_*][\w*-]*", key) else f"[{json.dumps(key)}]"

    return _PATH_PIECE.sub(piece, cattrs_path).removeprefix("$").removeprefix(".")


def _structure(value: object, cls: type[_T], source: str | None) -> _T:
    with contextlib.suppress(Exception):  # any failure is diagnosed in detail below
        return _CONVERTER.structure(value, cls)
    try:
        return _DETAILED.structure(value, cls)
    except (cattrs.BaseValidationError, _FieldError) as exc:
        leaves: list[BaseException] = []

        def remember(leaf: BaseException, _type: object) -> str:
            leaves.append(leaf)
            return str(len(leaves) - 1)

        first = cattrs.transform_error(exc, path="$", format_exception=remember)[0]
        index, _, where = first.partition(" @ ")
        leaf = leaves[int(index)]
        json_path = _json_path(where)
        if isinstance(leaf, _FieldError):
            expected, found = leaf.expected, _describe(leaf.found)
        elif isinstance(leaf, KeyError):
            raise ApprovalsFileError(
                "a required key is missing", path=source, json_path=json_path
            ) from None
        else:
            message = str(leaf) or type(leaf).__name__
            # A field validator says which field ("pattern must be ..."): name it.
            field = re.match(r"(\w+) must ", message) if isinstance(leaf, ValueError) else None
            if field is not None:
                json_path = f"{json_path}.{RENAMES.get(field.group(1), field.group(1))}"
            raise ApprovalsFileError(message, path=source, json_path=json_path) from None
        raise ApprovalsFileError(
            "invalid value", path=source, json_path=json_path, expected=expected, found=found
        ) from None


def approvals_from_json(document: object, *, source: str | None = None) -> ApprovalsFile:
    """
    Validate a parsed JSON document and build an :class:`ApprovalsFile`.

    The legacy ``agents.default`` is merged into ``agents.main`` as OpenClaw does
    (``main``'s knobs win; allowlists are concatenated, ``main`` first... see
    :func:`merge_legacy_default`).

    Raises:
        ApprovalsFileError: Naming *source*, the JSON path and what was expected.
    """
    if not isinstance(document, dict):
        raise ApprovalsFileError(
            "the document must be a JSON object",
            path=source,
            expected="an object",
            found=_describe(document),
        )
    version = document.get("version")
    if isinstance(version, bool) or version != 1:
        raise ApprovalsFileError(
            "unsupported approvals file version",
            path=source,
            json_path="version",
            expected="1",
            found=_describe(version) if "version" in document else "nothing",
        )
    for key in sorted(MISPLACED_TOP_LEVEL.intersection(document)):
        where = "defaults" if key in _KNOB_KEYS or key == "deny" else "agents"
        if key == "grants":
            where = 'agents["*"] or agents.<id>'
        raise ApprovalsFileError(
            f"misplaced key {key!r}: it belongs under {where!r}, and at the top level it would"
            " be silently ignored",
            path=source,
            json_path=key,
        )
    agents = document.get("agents")
    if agents is not None and not isinstance(agents, dict):
        raise ApprovalsFileError(
            "invalid value",
            path=source,
            json_path="agents",
            expected="an object",
            found=_describe(agents),
        )
    for key in agents or {}:
        _check_agent_key(key, source)
    parsed = _structure(document, ApprovalsFile, source)
    check_deny_rules(parsed, source=source)
    _check_grant_ids(parsed, source)
    return merge_legacy_default(parsed)


def _check_grant_ids(file: ApprovalsFile, source: str | None) -> None:
    # A revocation names a grant by id: two grants with one id could leave one active.
    seen: set[str] = set()
    for agent_id, agent in file.agents.items():
        for index, grant in enumerate(agent.grants):
            if grant.id in seen:
                raise ApprovalsFileError(
                    "duplicate grant id",
                    path=source,
                    json_path=f"{_agent_path(agent_id)}.grants[{index}].id",
                    expected="an id no other grant in the file has",
                    found=_describe(grant.id),
                )
            seen.add(grant.id)


def check_deny_rules(file: ApprovalsFile, *, source: str | None = None) -> None:
    """
    Refuse a document holding a deny rule that could not be enforced as written.

    Unlike an allowlist entry (kept inert when it cannot match), a deny rule that cannot
    match would silently allow what it forbids, so the whole file is refused, on read
    and on write (the guard then denies every command, naming this error).

    Raises:
        ApprovalsFileError: For the first such rule, in file order, naming its JSON path.
    """
    places = [("defaults.deny", file.defaults.deny)]
    places += [(f"{_agent_path(a)}.deny", agent.deny) for a, agent in file.agents.items()]
    for where, rules in places:
        for index, rule in enumerate(rules):
            problem = deny_rule_problem(rule)
            if problem is not None:
                field = "argPattern" if problem.startswith("invalid argPattern") else "pattern"
                raise ApprovalsFileError(
                    f"invalid deny rule: {problem}",
                    path=source,
                    json_path=f"{where}[{index}].{field}",
                    expected="a pattern and argPattern this library can match (docs/policy.md)",
                    found=_describe(rule.arg_pattern if field == "argPattern" else rule.pattern),
                )


#: C0 controls, DEL and C1 controls: invisible in a terminal, and NUL truncates in C tools.
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _check_agent_key(key: str, source: str | None) -> None:
    # An agent id nobody can type or see is either a mistake or an attempt to shadow
    # another agent's entry in a listing; OpenClaw accepts it, this library refuses.
    problem = ""
    if not key.strip():
        problem = "an agent id must not be empty or blank"
    elif _CONTROL.search(key):
        problem = "an agent id must not hold NUL or other control characters"
    if problem:
        raise ApprovalsFileError(
            problem,
            path=source,
            json_path=f"agents[{json.dumps(key)}]",
            expected='a visible agent id such as "main" or "*"',
            found=json.dumps(key),
        )


def merge_legacy_default(file: ApprovalsFile) -> ApprovalsFile:
    """
    Read the legacy ``agents.default`` as ``agents.main``, as OpenClaw 2026.4.1 does.

    ``main``'s knobs win over ``default``'s; the allowlists are concatenated (``main``
    first) and de-duplicated by lower-cased pattern, keeping the first.
    """
    legacy = file.agents.get("default")
    if legacy is None:
        return file
    main = file.agents.get(DEFAULT_AGENT_ID)
    agents = {k: v for k, v in file.agents.items() if k != "default"}
    if main is None:
        agents[DEFAULT_AGENT_ID] = legacy
    else:
        seen: set[str] = set()
        merged: list[AllowlistEntry] = []
        for entry in (*main.allowlist, *legacy.allowlist):
            key = entry.pattern.strip().lower()
            if key not in seen:
                seen.add(key)
                merged.append(entry)
        agents[DEFAULT_AGENT_ID] = AgentPolicy(
            security=main.security if main.security is not None else legacy.security,
            ask=main.ask if main.ask is not None else legacy.ask,
            ask_fallback=main.ask_fallback
            if main.ask_fallback is not None
            else legacy.ask_fallback,
            auto_allow_skills=(
                main.auto_allow_skills
                if main.auto_allow_skills is not None
                else legacy.auto_allow_skills
            ),
            sandbox=main.sandbox if main.sandbox is not None else legacy.sandbox,
            allowlist=merged,
            deny=(*main.deny, *legacy.deny),
            grants=(*main.grants, *legacy.grants),
            extra={**legacy.extra, **main.extra},
        )
    return attrs.evolve(file, agents=agents)


def approvals_to_json(file: ApprovalsFile) -> dict[str, Any]:
    """Turn an :class:`ApprovalsFile` into a JSON-able dict with OpenClaw's camelCase keys."""
    body: dict[str, Any] = _CONVERTER.unstructure(file)
    body.pop("version", None)
    body.setdefault("agents", {})
    return {"version": file.version, **body}


def loads_approvals(data: bytes | str, *, source: str | None = None) -> ApprovalsFile:
    """
    Parse the bytes of an approvals file.

    Raises:
        ApprovalsFileError: For invalid UTF-8, invalid JSON (with line and column) or
            an invalid document (with the JSON path).
    """
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError as exc:
        raise ApprovalsFileError(
            f"not UTF-8 text ({exc.reason} at byte {exc.start})", path=source
        ) from None
    if not text.strip():
        raise ApprovalsFileError(
            "the file is empty", path=source, expected='a JSON object with "version": 1'
        )
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ApprovalsFileError(
            f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", path=source
        ) from None
    except RecursionError:
        raise ApprovalsFileError("invalid JSON: nested too deeply", path=source) from None
    return approvals_from_json(document, source=source)


def dumps_approvals(file: ApprovalsFile) -> bytes:
    """Serialise as OpenClaw does: pretty JSON (2-space indent) and a trailing newline."""
    return (json.dumps(approvals_to_json(file), indent=2, ensure_ascii=False) + "\n").encode()


_ARG_PATTERN_EXPECTED: Final = (
    "a JavaScript regular expression over the arguments that this library can match"
    " faithfully (see docs/policy.md), or a sha256:cwd-argv:v1: grant"
)


def _agent_path(agent_id: str) -> str:
    return (
        f"agents.{agent_id}"
        if re.fullmatch(r"[A-Za-z_*][\w*-]*", agent_id)
        else f"agents[{json.dumps(agent_id)}]"
    )


def check_arg_pattern(
    arg_pattern: str | None, *, source: str | None = None, json_path: str = "argPattern"
) -> None:
    """
    Refuse an argPattern that would never match, before it is written.

    On read such an entry is kept and simply never matches (one bad entry must not lock
    out the rest of the file); on write it is an error, so the administrator learns of it.

    Raises:
        ApprovalsFileError: Naming *source*, *json_path*, what was expected and why.
    """
    if arg_pattern is None or arg_pattern == "":
        return
    problem = arg_pattern_problem(arg_pattern)
    if problem is not None:
        raise ApprovalsFileError(
            f"invalid argPattern: {problem}",
            path=source,
            json_path=json_path,
            expected=_ARG_PATTERN_EXPECTED,
            found=_describe(arg_pattern),
        )


def check_arg_patterns(file: ApprovalsFile, *, source: str | None = None) -> None:
    """
    Refuse a document holding an argPattern that would never match.

    See :func:`check_arg_pattern`; the error names the first one's JSON path.

    Raises:
        ApprovalsFileError: For the first invalid argPattern, in file order.
    """
    for agent_id, agent in file.agents.items():
        for index, entry in enumerate(agent.allowlist):
            check_arg_pattern(
                entry.arg_pattern,
                source=source,
                json_path=f"{_agent_path(agent_id)}.allowlist[{index}].argPattern",
            )
