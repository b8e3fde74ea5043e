"""
The JSON Schema of exec-approvals.json agrees with the loader.

* the shipped file equals the generated schema, and is a valid 2020-12 schema;
* every valid file hypothesis generates (deny rules and grants included) validates;
* every file with one injected fault is refused by the loader *and* the schema, and the
  schema reports an error at the JSON path the loader names.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # no stubs installed; only this test uses it
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import openclaw_exec.policy
from openclaw_exec.exceptions import ApprovalsFileError
from openclaw_exec.policy import approvals_from_json, approvals_schema, dumps_schema
from openclaw_exec.testing import approvals_documents

SHIPPED = Path(openclaw_exec.policy.__file__).parent / "schema" / "exec-approvals.schema.json"
VALIDATOR = jsonschema.Draft202012Validator(approvals_schema())


def test_the_shipped_schema_is_the_generated_one() -> None:
    assert SHIPPED.read_text(encoding="utf-8") == dumps_schema(approvals_schema()), (
        "regenerate it: openclaw-exec schema > " + str(SHIPPED)
    )


def test_the_schema_is_a_valid_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(approvals_schema())


@settings(max_examples=50)
@given(approvals_documents(extensions=True))
def test_every_valid_file_validates(document: dict[str, Any]) -> None:
    approvals_from_json(document)  # the loader accepts it
    errors = [e.message for e in VALIDATOR.iter_errors(document)]
    assert not errors, errors


# --------------------------------------------------------------------------- faults

_IDENT = re.compile(r"[A-Za-z_*][\w*-]*")


def _render(path: Iterable[object]) -> str:
    """A jsonschema path in the loader's spelling (``agents.main.allowlist[1].pattern``)."""
    out = ""
    for piece in path:
        if isinstance(piece, int):
            out += f"[{piece}]"
        elif _IDENT.fullmatch(str(piece)):
            out += f".{piece}"
        else:
            out += f"[{json.dumps(piece)}]"
    return out.removeprefix(".")


def _schema_paths(document: object) -> set[str]:
    found: set[str] = set()

    def walk(errors: Iterable[jsonschema.ValidationError]) -> None:
        for error in errors:
            path = list(error.absolute_path)
            if error.validator == "required":
                missing = re.match(r"'(.*)' is a required property", error.message)
                if missing:
                    path.append(missing.group(1))
            elif (
                error.validator in ("propertyNames", "pattern", "not")
                and isinstance(error.instance, str)
                and error.absolute_schema_path
                and "propertyNames" in error.absolute_schema_path
            ):
                path.append(error.instance)
            found.add(_render(path))
            walk(error.context or ())

    walk(VALIDATOR.iter_errors(document))
    return found


Draw = Callable[[st.SearchStrategy[Any]], Any]
Fault = Callable[[dict[str, Any], Draw], None]


def _some_agent(doc: dict[str, Any], draw: Draw) -> dict[str, Any]:
    agents = doc.setdefault("agents", {})
    if not agents:
        agents["main"] = {}
    key = draw(st.sampled_from(sorted(agents)))
    return agents[key]  # type: ignore[no-any-return]


def _some_list(doc: dict[str, Any], draw: Draw, key: str, item: object) -> list[Any]:
    agent = _some_agent(doc, draw)
    items = agent.setdefault(key, [])
    if not items:
        items.append(copy.deepcopy(item))
    return items  # type: ignore[no-any-return]


def _fault_version(doc: dict[str, Any], draw: Draw) -> None:
    value = draw(st.sampled_from([None, 2, "1", True, 0]))
    if value is None:
        doc.pop("version")
    else:
        doc["version"] = value


def _fault_misplaced(doc: dict[str, Any], draw: Draw) -> None:
    key = draw(st.sampled_from(["security", "ask", "deny", "grants", "allowlist", "*", "main"]))
    doc[key] = draw(st.sampled_from(["full", [], {}]))


def _fault_knob(doc: dict[str, Any], draw: Draw) -> None:
    where = draw(st.sampled_from(["defaults", "agent"]))
    target = doc.setdefault("defaults", {}) if where == "defaults" else _some_agent(doc, draw)
    key, bad = draw(
        st.sampled_from(
            [
                ("security", "Deny"),
                ("security", 3),
                ("ask", "sometimes"),
                ("askFallback", "allow"),
                ("autoAllowSkills", "yes"),
                ("sandbox", "on"),
                ("deny", "rm"),
                ("deny", [7]),
                ("deny", [{"argPattern": "x"}]),
                ("deny", [" "]),
                ("deny", [{"pattern": "rm", "reason": 5}]),
            ]
        )
    )
    target[key] = bad


def _fault_allowlist(doc: dict[str, Any], draw: Draw) -> None:
    bad = draw(
        st.sampled_from(
            [
                7,
                "",
                {"id": "x"},
                {"pattern": " "},
                {"pattern": "/bin/ls", "lastUsedAt": "yesterday"},
                {"pattern": "/bin/ls", "lastUsedAt": True},
                {"pattern": "/bin/ls", "argPattern": 5},
            ]
        )
    )
    _some_list(doc, draw, "allowlist", {"pattern": "/bin/ls"}).append(bad)


def _fault_grant(doc: dict[str, Any], draw: Draw) -> None:
    bad = draw(
        st.sampled_from(
            [
                {"pattern": "/bin/ls"},
                {"id": "z", "pattern": " "},
                {"id": "z", "pattern": "/bin/ls", "expiresAtMs": -1},
                {"id": "z", "pattern": "/bin/ls", "expiresAtMs": "soon"},
                {"id": "z", "pattern": "/bin/ls", "maxUses": 0},
                {"id": "z", "pattern": "/bin/ls", "useCount": "1"},
                {"id": "z", "pattern": "/bin/ls", "sessionKey": 5},
                "ls",
            ]
        )
    )
    agent = _some_agent(doc, draw)
    agent["grants"] = [g for g in agent.get("grants", []) if g.get("id") != "z"] + [bad]


def _fault_shape(doc: dict[str, Any], draw: Draw) -> None:
    choice = draw(st.sampled_from(["agents-list", "agent-str", "key", "socket", "defaults"]))
    if choice == "agents-list":
        doc["agents"] = []
    elif choice == "agent-str":
        doc.setdefault("agents", {})["ops"] = "full"
    elif choice == "key":
        doc.setdefault("agents", {})[draw(st.sampled_from(["", " ", "a\x01", "b\x7f"]))] = {}
    elif choice == "socket":
        doc["socket"] = draw(st.sampled_from([5, {"path": 5}, {"token": []}]))
    else:
        doc["defaults"] = draw(st.sampled_from([[], "x", None]))


FAULTS: tuple[Fault, ...] = (
    _fault_version,
    _fault_misplaced,
    _fault_knob,
    _fault_allowlist,
    _fault_grant,
    _fault_shape,
)


@settings(max_examples=60)
@given(approvals_documents(extensions=True), st.sampled_from(FAULTS), st.data())
def test_every_malformed_file_fails_where_the_loader_says(
    document: dict[str, Any], fault: Fault, data: st.DataObject
) -> None:
    broken = copy.deepcopy(document)
    fault(broken, data.draw)
    with pytest.raises(ApprovalsFileError) as caught:
        approvals_from_json(broken)
    paths = _schema_paths(broken)
    assert paths, f"the schema accepts what the loader refuses: {caught.value}"
    assert caught.value.json_path in paths, (str(caught.value), sorted(paths))


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (
            {
                "version": 1,
                "agents": {"main": {"deny": [{"pattern": "rm", "argPattern": "(?<n>x)"}]}},
            },
            "invalid argPattern",
        ),
        (
            {
                "version": 1,
                "agents": {
                    "a": {"grants": [{"id": "g", "pattern": "x"}]},
                    "b": {"grants": [{"id": "g", "pattern": "y"}]},
                },
            },
            "duplicate grant id",
        ),
    ],
)
def test_what_only_the_loader_checks(document: dict[str, Any], reason: str) -> None:
    # Documented in the schema module: a JSON Schema cannot say these.
    assert not list(VALIDATOR.iter_errors(document))
    with pytest.raises(ApprovalsFileError, match=reason):
        approvals_from_json(document)
