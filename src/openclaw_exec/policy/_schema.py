"""
JSON Schema for ``exec-approvals.json``, generated from the model the loader uses.

The schema is derived from the same attrs classes and the same camelCase renames that
:mod:`openclaw_exec.policy._codec` structures files with, so it cannot drift from them:
a field's type, whether it may be ``null``, whether it is required, the exact enum
spellings, the bare-string shorthand of allowlist entries and deny rules, the agent-id
rules, the misplaced top-level keys the loader refuses and the limits a field's
validator enforces (declared once, as the field's ``metadata["schema"]``). Descriptions
come from the classes' docstrings.

What a JSON Schema cannot say is left to the loader, which stays the authority: that
a deny rule's pattern and ``argPattern`` can be enforced (a regex translatable from
JavaScript), that grant ids are unique across the file, and that ``5.0`` is not the
integer ``5`` (JSON Schema cannot tell them apart; the loader refuses ``5.0``).

Pure: builds dictionaries, reads nothing. The shipped copy is
``openclaw_exec/policy/schema/exec-approvals.schema.json`` (``openclaw-exec schema``
prints the generated one; a test keeps the two equal).
"""

from __future__ import annotations

import enum
import json
import re
import types
import typing
from collections.abc import Mapping
from typing import Any, Final

import attrs

from openclaw_exec.policy._approvals import (
    AgentPolicy,
    AllowlistEntry,
    ApprovalsFile,
    PolicyDefaults,
    SocketConfig,
)
from openclaw_exec.policy._codec import MISPLACED_TOP_LEVEL, RENAMES
from openclaw_exec.policy._deny import DenyRule
from openclaw_exec.policy._grants import Grant

__all__ = [
    "APPROVALS_SCHEMA_ID",
    "EXEC_CONFIG_SCHEMA_ID",
    "approvals_schema",
    "dumps_schema",
    "exec_config_schema",
    "schema_for_classes",
]

APPROVALS_SCHEMA_ID: Final = "https://openclaw-exec.dev/schema/exec-approvals.schema.json"
"""The ``$id`` of the approvals file schema."""

_DRAFT: Final = "https://json-schema.org/draft/2020-12/schema"
#: A non-blank string (what ``_non_empty`` validators accept).
NON_BLANK: Final[Mapping[str, Any]] = {"type": "string", "minLength": 1, "pattern": r"\S"}
#: Classes whose bare string stands for ``{"pattern": string}``.
_STRING_SHORTHAND: Final = (AllowlistEntry, DenyRule)
#: The agent-id rule of the loader: visible, no control characters. Unanchored searches
#: only: "$" means different things in ECMA-262 and Python regexes.
_AGENT_KEY: Final = {"pattern": r"\S", "not": {"pattern": r"[\x00-\x1f\x7f-\x9f]"}}


def _descriptions(cls: type) -> dict[str, str]:
    """``name: text`` lines of the class docstring's ``Attributes:`` section."""
    doc = cls.__doc__ or ""
    _, _, section = doc.partition("Attributes:")
    out: dict[str, str] = {}
    current: str | None = None
    for line in section.splitlines():
        match = re.match(r"^\s{8}(\w+): (.*)$", line)
        if match:
            current = match.group(1)
            out[current] = match.group(2).strip()
        elif current is not None and line.startswith(" " * 12):
            out[current] += " " + line.strip()
        elif line.strip():
            current = None
    return {k: re.sub(r"``([^`]*)``", r"\1", v) for k, v in out.items()}


class _Builder:
    def __init__(self) -> None:
        self.defs: dict[str, dict[str, Any]] = {}

    def of_type(self, tp: Any) -> dict[str, Any]:
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if tp is str:
            return {"type": "string"}
        if tp is bool:
            return {"type": "boolean"}
        if tp is int:
            return {"type": "integer"}
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return {"enum": [m.value for m in tp]}
        if origin in (typing.Union, types.UnionType):
            kinds = [a for a in args if a is not type(None)]
            inner = (
                self.of_type(kinds[0])
                if len(kinds) == 1
                else {"anyOf": [self.of_type(k) for k in kinds]}
            )
            if type(None) in args:
                return {"anyOf": [inner, {"type": "null"}]}
            return inner
        if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            return {"type": "array", "items": self.of_type(args[0])}
        if origin in (Mapping, dict, typing.Mapping) and args and args[0] is str:
            return {
                "type": "object",
                "propertyNames": {**_AGENT_KEY},
                "additionalProperties": self.of_type(args[1]),
            }
        if isinstance(tp, type) and attrs.has(tp):
            ref = {"$ref": f"#/$defs/{tp.__name__}"}
            if tp.__name__ not in self.defs:
                self.defs[tp.__name__] = {}  # placeholder against recursion
                self.defs[tp.__name__] = self.of_class(tp)
            if tp in _STRING_SHORTHAND:
                return {"anyOf": [dict(NON_BLANK), ref]}
            return ref
        raise TypeError(f"no JSON Schema for {tp!r}")

    def of_class(self, cls: type) -> dict[str, Any]:
        hints = typing.get_type_hints(cls)
        words = _descriptions(cls)
        properties: dict[str, Any] = {}
        required: list[str] = []
        for field in attrs.fields(cls):
            if field.name == "extra":
                continue
            key = RENAMES.get(field.name, field.name)
            schema = self.of_type(hints[field.name])
            schema.update(field.metadata.get("schema", {}))
            if field.name in words:
                schema = {"description": words[field.name], **schema}
            properties[key] = schema
            if field.default is attrs.NOTHING:
                required.append(key)
        doc = (cls.__doc__ or "").strip().splitlines()
        out: dict[str, Any] = {"type": "object"}
        if doc:
            out["description"] = re.sub(r"``([^`]*)``", r"\1", doc[0])
        out["properties"] = properties
        if required:
            out["required"] = required
        # Keys the model does not know are kept and written back (a newer OpenClaw's).
        out["additionalProperties"] = True
        return out


def schema_for_classes(
    root: type, *, schema_id: str, title: str, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """
    A JSON Schema document for the attrs class *root* and every class it holds.

    For other structures that are converted with the same renames (the policy config).
    """
    builder = _Builder()
    ref = builder.of_type(root)
    body = builder.defs.pop(root.__name__, ref)
    return {
        "$schema": _DRAFT,
        "$id": schema_id,
        "title": title,
        **body,
        **(dict(extra) if extra else {}),
        "$defs": dict(sorted(builder.defs.items())),
    }


def dumps_schema(schema: Mapping[str, Any]) -> str:
    """The text of a schema file: 2-space JSON, key order kept, a final newline."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def approvals_schema() -> dict[str, Any]:
    """
    The JSON Schema of ``exec-approvals.json`` as this library reads it.

    A file the loader accepts validates; a file that fails validation is refused by the
    loader at the same JSON path. See the module docstring for the checks only the
    loader makes.
    """
    schema = schema_for_classes(
        ApprovalsFile,
        schema_id=APPROVALS_SCHEMA_ID,
        title="exec-approvals.json (openclaw-exec)",
    )
    properties = schema["properties"]
    properties["version"] = {
        "description": "Always 1 (any other version is refused).",
        "const": 1,
    }
    # Keys that at the top level belong elsewhere: refused rather than silently ignored.
    for key in sorted(MISPLACED_TOP_LEVEL):
        properties.setdefault(
            key,
            {
                "description": "Misplaced: it belongs under defaults or agents, and at the"
                " top level it would be silently ignored.",
                "not": {},
            },
        )
    schema["required"] = ["version"]
    return schema


# Touch the classes so a model class that is no longer reachable from ApprovalsFile is
# noticed by mypy/ruff rather than silently left out of the schema.
_MODEL: Final = (AgentPolicy, AllowlistEntry, DenyRule, Grant, PolicyDefaults, SocketConfig)


EXEC_CONFIG_SCHEMA_ID: Final = "https://openclaw-exec.dev/schema/openclaw-tools-exec.schema.json"
"""The ``$id`` of the OpenClaw config schema (its ``tools.exec`` block, as read here)."""


def _nullable(schema: Mapping[str, Any]) -> dict[str, Any]:
    # The reader treats a null key as an absent one.
    return {"anyOf": [dict(schema), {"type": "null"}]}


def exec_config_schema() -> dict[str, Any]:
    """
    The JSON Schema of an OpenClaw config's ``tools.exec`` block, as this library reads it.

    Built from the same tables and classes as :func:`~openclaw_exec.policy.loads_exec_config`
    (the policy keys, the non-policy keys accepted and not applied, the safe-bin profile
    and reviewer keys, the enums, OpenClaw's ``grantExpiryDays`` bounds, "mode or the
    legacy security/ask, never both"), so it follows the reader; the rest of an OpenClaw
    config is left open. Only the reader checks what needs more than a shape: that a safe
    bin has a profile and neither runs nor interprets programs, that profile names are
    distinct case-blind, that ``maxPositional`` is not below ``minPositional`` and that a
    flag sits in one list.
    """
    from openclaw_exec.policy._config import (  # noqa: PLC0415 - a cycle through __init__
        _PROFILE_KEYS,
        ExecConfig,
        ExecMode,
        ReviewerConfig,
        SafeBinProfileConfig,
    )
    from openclaw_exec.policy._config_read import (  # noqa: PLC0415
        _GRANT_DAYS,
        _NOT_POLICY,
        _POLICY_KEYS,
        _REVIEWER_KEYS,
        _THINKING,
    )
    from openclaw_exec.policy._enums import Ask, Security  # noqa: PLC0415

    strings = {"type": "array", "items": {"type": "string"}}
    flags = {"type": "array", "items": {"type": "string", "pattern": r"^\s*-"}}
    profile_words = _descriptions(SafeBinProfileConfig)
    profile = {
        "type": "object",
        "description": (SafeBinProfileConfig.__doc__ or "").strip().splitlines()[0],
        "properties": {
            key: {
                **(
                    {"description": profile_words[_camel_to_snake(key)]}
                    if _camel_to_snake(key) in profile_words
                    else {}
                ),
                **_nullable(
                    {"type": "integer", "minimum": 0} if key.endswith("Positional") else flags
                ),
            }
            for key in _PROFILE_KEYS
        },
        "additionalProperties": False,
    }
    reviewer_keys = {
        "model": _nullable({"anyOf": [dict(NON_BLANK), {"type": "object"}]}),
        "thinking": _nullable({"enum": list(_THINKING)}),
        "fastMode": _nullable({"type": "boolean"}),
        "timeoutMs": _nullable({"type": "integer", "minimum": 1}),
    }
    reviewer = {
        "type": "object",
        "description": (ReviewerConfig.__doc__ or "").strip().splitlines()[0],
        "properties": reviewer_keys,
        "additionalProperties": False,
    }
    low, high = _GRANT_DAYS
    words = _descriptions(ExecConfig)
    policy: dict[str, Any] = {
        "mode": _nullable({"enum": [m.value for m in ExecMode]}),
        "security": _nullable({"enum": [m.value for m in Security]}),
        "ask": _nullable({"enum": [m.value for m in Ask]}),
        "safeBins": _nullable(strings),
        "safeBinTrustedDirs": _nullable(
            {"type": "array", "items": {"type": "string", "pattern": r"^\s*/"}}
        ),
        "safeBinProfiles": _nullable(
            {"type": "object", "propertyNames": {"pattern": r"\S"}, "additionalProperties": profile}
        ),
        "strictInlineEval": _nullable({"type": "boolean"}),
        "grantExpiryDays": _nullable({"type": "integer", "minimum": low, "maximum": high}),
        "reviewer": _nullable(reviewer),
    }
    if set(policy) != set(_POLICY_KEYS) or set(reviewer_keys) != set(_REVIEWER_KEYS):
        raise AssertionError("the config schema no longer covers the reader's keys")
    for key, schema in policy.items():
        word = words.get(_camel_to_snake(key))
        if word:
            policy[key] = {"description": word, **schema}
    for key in sorted(_NOT_POLICY):
        policy[key] = {"description": "Accepted; does not decide what may run."}
    block = {
        "type": "object",
        "description": (ExecConfig.__doc__ or "").strip().splitlines()[0],
        "properties": policy,
        "additionalProperties": False,
        # "mode" replaces the legacy security/ask: never both in one block.
        # (The reader names mode, so the schema does too.)
        "if": {
            "anyOf": [
                {"properties": {key: {"not": {"type": "null"}}}, "required": [key]}
                for key in ("security", "ask")
            ]
        },
        "then": {"properties": {"mode": {"type": "null"}}},
    }
    return {
        "$schema": _DRAFT,
        "$id": EXEC_CONFIG_SCHEMA_ID,
        "title": "OpenClaw config: tools.exec (openclaw-exec)",
        "type": "object",
        "properties": {
            "tools": {
                "type": "object",
                "properties": {"exec": block},
            }
        },
    }


def _camel_to_snake(key: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in key)
