"""
The JSON Schema of an OpenClaw config's ``tools.exec`` agrees with the reader.

Every block the reader accepts validates; every block with one shape fault is refused by
both, the schema at the JSON path the reader names; what only the reader can check (a
safe bin's profile and nature, cross-field limits) is listed and shown to pass the schema.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # no stubs installed; only the tests use it
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import openclaw_exec.policy
from openclaw_exec.policy import (
    ExecConfigError,
    dumps_schema,
    exec_config_from_json,
    exec_config_schema,
)

SHIPPED = Path(openclaw_exec.policy.__file__).parent / "schema" / "openclaw-tools-exec.schema.json"
VALIDATOR = jsonschema.Draft202012Validator(exec_config_schema())


def _paths(document: object) -> set[str]:
    found: set[str] = set()

    def walk(errors: Iterable[jsonschema.ValidationError]) -> None:
        for error in errors:
            path = [str(p) for p in error.absolute_path]
            if error.validator == "additionalProperties":
                extra = re.findall(r"'([^']+)' was unexpected", error.message)
                found.update(".".join([*path, key]) for key in extra)
            rendered = ""
            for piece in error.absolute_path:
                rendered += f"[{piece}]" if isinstance(piece, int) else f".{piece}"
            found.add(rendered.removeprefix("."))
            walk(error.context or ())

    walk(VALIDATOR.iter_errors(document))
    return found


def test_the_shipped_schema_is_the_generated_one() -> None:
    assert SHIPPED.read_text(encoding="utf-8") == dumps_schema(exec_config_schema())
    jsonschema.Draft202012Validator.check_schema(exec_config_schema())


_BLOCKS = st.fixed_dictionaries(
    {},
    optional={
        "safeBins": st.lists(st.sampled_from(["cut", "uniq", "head", "tail", "tr", "wc"])),
        "safeBinTrustedDirs": st.lists(st.sampled_from(["/opt/bin", "/usr/local/bin", " /x"])),
        "safeBinProfiles": st.dictionaries(
            st.sampled_from(["wc", "head", "mytool"]),
            st.fixed_dictionaries(
                {},
                optional={
                    "minPositional": st.integers(0, 2) | st.none(),
                    "allowedValueFlags": st.lists(st.sampled_from(["-n", "--lines"])),
                    "deniedFlags": st.lists(st.sampled_from(["-f", "--follow"])),
                    "allowedBooleanFlags": st.lists(st.sampled_from(["-l", "-q"])),
                },
            ),
        ),
        "strictInlineEval": st.booleans() | st.none(),
        "grantExpiryDays": st.integers(1, 3650) | st.just(30.0),
        "reviewer": st.fixed_dictionaries(
            {},
            optional={
                "model": st.sampled_from(["p/m", {"primary": "p/m"}]),
                "thinking": st.sampled_from(["low", "max"]),
                "fastMode": st.booleans(),
                "timeoutMs": st.integers(1, 10**6),
            },
        ),
        "host": st.just("gateway"),
        "timeoutSeconds": st.integers(1, 100),
    },
)
_KNOBS = st.one_of(
    st.fixed_dictionaries({"mode": st.sampled_from(["deny", "allowlist", "ask", "auto", "full"])}),
    st.fixed_dictionaries(
        {},
        optional={
            "security": st.sampled_from(["deny", "allowlist", "full"]),
            "ask": st.sampled_from(["off", "on-miss", "always"]),
        },
    ),
)


@settings(max_examples=60)
@given(_BLOCKS, _KNOBS)
def test_every_block_the_reader_accepts_validates(
    block: dict[str, Any], knobs: dict[str, Any]
) -> None:
    document = {"tools": {"exec": {**block, **knobs}}, "agents": {"list": []}}
    exec_config_from_json(document)
    assert not [e.message for e in VALIDATOR.iter_errors(document)]


_WC = "tools.exec.safeBinProfiles.wc"
SHAPE_FAULTS: list[tuple[dict[str, Any], str]] = [
    ({"mode": "ask", "security": "allowlist"}, "tools.exec.mode"),
    ({"mode": "sometimes"}, "tools.exec.mode"),
    ({"security": "FULL"}, "tools.exec.security"),
    ({"ask": 1}, "tools.exec.ask"),
    ({"sercurity": "deny"}, "tools.exec.sercurity"),
    ({"safeBins": "cut"}, "tools.exec.safeBins"),
    ({"safeBins": ["cut", 3]}, "tools.exec.safeBins[1]"),
    ({"safeBinTrustedDirs": ["bin"]}, "tools.exec.safeBinTrustedDirs[0]"),
    ({"safeBinProfiles": {"wc": {"allowedFlags": ["-l"]}}}, f"{_WC}.allowedFlags"),
    ({"safeBinProfiles": {"wc": {"allowedBooleanFlags": ["l"]}}}, f"{_WC}.allowedBooleanFlags[0]"),
    ({"safeBinProfiles": {"wc": {"minPositional": -1}}}, f"{_WC}.minPositional"),
    ({"safeBinProfiles": {"wc": "x"}}, "tools.exec.safeBinProfiles.wc"),
    ({"safeBinProfiles": []}, "tools.exec.safeBinProfiles"),
    ({"strictInlineEval": "yes"}, "tools.exec.strictInlineEval"),
    ({"grantExpiryDays": 0}, "tools.exec.grantExpiryDays"),
    ({"grantExpiryDays": 3651}, "tools.exec.grantExpiryDays"),
    ({"grantExpiryDays": 1.5}, "tools.exec.grantExpiryDays"),
    ({"grantExpiryDays": True}, "tools.exec.grantExpiryDays"),
    ({"reviewer": {"timeoutMs": 0}}, "tools.exec.reviewer.timeoutMs"),
    ({"reviewer": {"thinking": "deep"}}, "tools.exec.reviewer.thinking"),
    ({"reviewer": {"prompt": "x"}}, "tools.exec.reviewer.prompt"),
    ({"reviewer": {"model": " "}}, "tools.exec.reviewer.model"),
    ({"reviewer": "gpt"}, "tools.exec.reviewer"),
]  # fmt: skip


@pytest.mark.parametrize(("block", "path"), SHAPE_FAULTS)
def test_a_shape_fault_fails_both_at_the_readers_path(block: dict[str, Any], path: str) -> None:
    document = {"tools": {"exec": block}}
    with pytest.raises(ExecConfigError) as caught:
        exec_config_from_json(document)
    assert caught.value.json_path == path
    paths = _paths(document)
    assert path in paths, sorted(paths)


READER_ONLY: list[dict[str, Any]] = [
    {"safeBins": ["frobnicate"]},  # no profile: OpenClaw would ignore it
    {"safeBins": ["jq"]},  # runs programs
    {"safeBins": ["/usr/bin/python3.12"]},  # interprets programs
    {"safeBinProfiles": {"wc": {"minPositional": 2, "maxPositional": 1}}},
    {"safeBinProfiles": {"wc": {"allowedBooleanFlags": ["-l"], "deniedFlags": ["-l"]}}},
    {"safeBinProfiles": {"WC": {}, "wc": {}}},  # names are case-blind
]


@pytest.mark.parametrize("block", READER_ONLY)
def test_what_only_the_reader_checks(block: dict[str, Any]) -> None:
    document = {"tools": {"exec": block}}
    assert not list(VALIDATOR.iter_errors(document))
    with pytest.raises(ExecConfigError):
        exec_config_from_json(document)
