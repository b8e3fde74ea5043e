"""
Differential tests: this library's policy functions against OpenClaw 2026.4.1's own.

Each test sends its whole batch to one Node process (see tests/_oracle.py). Where this
library deliberately differs (malformed files), the test asserts the difference.
"""

from __future__ import annotations

import itertools
import string
from typing import Any

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from _oracle import Oracle
from openclaw_exec import ApprovalsFileError, PolicyError
from openclaw_exec.policy import (
    POLICY_FIELDS,
    Ask,
    ExecPolicy,
    Security,
    approvals_from_json,
    approvals_to_json,
    max_ask,
    min_security,
    requires_approval,
    resolve_policy,
)
from openclaw_exec.testing import agent_ids, approvals_files, asks, securities

#: Knobs this library has and OpenClaw does not (docs/differences.md, "sandbox").
LIBRARY_ONLY_FIELDS = frozenset({"sandbox"})

pytestmark = pytest.mark.oracle


def _answers(oracle: Oracle, cases: list[dict[str, Any]]) -> list[Any]:
    answers = oracle.run(cases)
    for case, answer in zip(cases, answers, strict=True):
        assert answer["ok"], f"OpenClaw rejected {case}: {answer.get('error')}"
    return [answer["result"] for answer in answers]


def test_min_security_and_max_ask(oracle41: Oracle) -> None:
    cases: list[dict[str, Any]] = [
        {"id": f"s{a}{b}", "op": "minSecurity", "a": a.value, "b": b.value}
        for a, b in itertools.product(Security, repeat=2)
    ] + [
        {"id": f"a{a}{b}", "op": "maxAsk", "a": a.value, "b": b.value}
        for a, b in itertools.product(Ask, repeat=2)
    ]
    for case, result in zip(cases, _answers(oracle41, cases), strict=True):
        if case["op"] == "minSecurity":
            ours: str = min_security(Security(case["a"]), Security(case["b"])).value
        else:
            ours = max_ask(Ask(case["a"]), Ask(case["b"])).value
        assert ours == result["value"], case


def test_requires_exec_approval_all_combinations(oracle41: Oracle) -> None:
    combos = list(itertools.product(Ask, Security, (False, True), (False, True), (False, True)))
    cases = [
        {
            "id": i,
            "op": "requires",
            "params": {
                "ask": ask.value,
                "security": security.value,
                "analysisOk": ok,
                "allowlistSatisfied": sat,
                "durableApprovalSatisfied": durable,
            },
        }
        for i, (ask, security, ok, sat, durable) in enumerate(combos)
    ]
    for (ask, security, ok, sat, durable), result in zip(
        combos, _answers(oracle41, cases), strict=True
    ):
        assert result["requires"] is requires_approval(
            ask=ask,
            security=security,
            analysis_ok=ok,
            allowlist_satisfied=sat,
            durable_approval_satisfied=durable,
        ), (ask, security, ok, sat, durable)


_SPELLINGS = st.one_of(
    st.sampled_from(["full", " FULL ", "Deny", "allowlist\n", "on-miss", " Always", "off", ""]),
    st.text(alphabet=string.ascii_letters + " -\t", max_size=10),
)


def collect(strategy: st.SearchStrategy[Any], count: int) -> list[Any]:
    """
    Draw *count* hypothesis examples, to be sent to the oracle in one batch.

    Hypothesis drives the generation (with its bias toward edge cases); the oracle,
    which costs seconds per Node start, is asked once for all of them.
    """
    drawn: list[Any] = []

    @settings(max_examples=count, deadline=None, database=None, phases=[Phase.generate])
    @given(strategy)
    def draw(example: Any) -> None:
        drawn.append(example)

    draw()
    return drawn


def test_tolerated_spellings(oracle41: Oracle) -> None:
    values = collect(_SPELLINGS, 200)
    cases = [
        {"id": f"{op}{i}", "op": op, "value": value}
        for i, value in enumerate(values)
        for op in ("normalizeSecurity", "normalizeAsk")
    ]
    for case, result in zip(cases, _answers(oracle41, cases), strict=True):
        knob = Security if case["op"] == "normalizeSecurity" else Ask
        try:
            ours: str | None = knob.parse(case["value"]).value
        except PolicyError:
            ours = None
        assert ours == result["value"], case


_OVERRIDES = st.none() | st.fixed_dictionaries({"security": securities(), "ask": asks()})


def test_host_resolution_matches_resolve_exec_approvals_from_file(oracle41: Oracle) -> None:
    # No agent id is "main" in 2026.4.1 (the default preset); 2026.9.6's reading is in
    # test_presets.py.
    batch = collect(
        st.tuples(approvals_files(legacy_default=True), st.none() | agent_ids(), _OVERRIDES), 300
    )
    cases = []
    for i, (file, agent_id, overrides) in enumerate(batch):
        case: dict[str, Any] = {
            "id": i,
            "op": "resolve",
            "file": approvals_to_json(file),
            "agentId": agent_id,
        }
        if overrides is not None:
            case["overrides"] = {k: v.value for k, v in overrides.items()}
        cases.append(case)
    for case, result in zip(cases, _answers(oracle41, cases), strict=True):
        overrides = case.get("overrides")
        requested = ExecPolicy(**overrides) if overrides else None
        ours = resolve_policy(
            approvals_from_json(case["file"]),
            agent_id=case["agentId"],
            requested=requested,
            requested_fields={"security", "ask"},
        )
        theirs = result["agent"]
        for name, wire in POLICY_FIELDS:
            if name in LIBRARY_ONLY_FIELDS:
                continue  # OpenClaw has no such knob (docs/differences.md: sandbox)
            value = getattr(ours.host, name)
            shown = value if isinstance(value, bool) else value.value
            assert shown == theirs[wire], (wire, case)
        assert [e.pattern for e in ours.allowlist] == result["allowlist"], case


#: (file, JSON path we report, what OpenClaw 2026.4.1 answers for ask and security when
#: the request is full/off): OpenClaw reads each of these files without a word.
MALFORMED: list[tuple[dict[str, Any], str, str, str]] = [
    # A version-2 file is used as if it were version 1.
    ({"version": 2, "defaults": {"ask": "always"}}, "version", "always", "full"),
    # A typo silently falls back to the requested value: the file loses its grip.
    (
        {"version": 1, "defaults": {"ask": "always", "security": "bogus"}},
        "defaults.security",
        "always",
        "full",
    ),
    ({"version": 1, "agents": {"main": {"ask": "Always"}}}, "agents.main.ask", "off", "full"),
    # Agents misplaced at the top level (#43904) are ignored.
    ({"version": 1, "*": {"ask": "always"}}, "*", "off", "full"),
]


@pytest.fixture(scope="module")
def malformed_answers(oracle41: Oracle) -> list[Any]:
    cases = [
        {
            "id": i,
            "op": "resolve",
            "file": document,
            "agentId": "main",
            "overrides": {"security": "full", "ask": "off"},
        }
        for i, (document, *_) in enumerate(MALFORMED)
    ]
    return _answers(oracle41, cases)


@pytest.mark.parametrize("index", range(len(MALFORMED)))
def test_deliberate_difference_malformed_files(malformed_answers: list[Any], index: int) -> None:
    document, json_path, openclaw_ask, openclaw_security = MALFORMED[index]
    theirs = malformed_answers[index]["agent"]
    assert (theirs["ask"], theirs["security"]) == (openclaw_ask, openclaw_security)
    with pytest.raises(ApprovalsFileError) as info:
        approvals_from_json(document, source="exec-approvals.json")
    assert info.value.json_path == json_path
