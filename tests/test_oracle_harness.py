"""Smoke tests of the OpenClaw oracle harness against facts recorded in the reference notes."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import pytest

from _oracle import OpenClawInstall, Oracle, OracleError, find_oracle

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.oracle

SECURITY = ["deny", "allowlist", "full"]  # strictest first
ASK = ["off", "on-miss", "always"]  # least asking first

# One batch per version: every Node start costs seconds (2026.4.1 loads a large chunk).
CASES: list[dict[str, Any]] = [
    *(
        {"id": f"minSecurity:{a}:{b}", "op": "minSecurity", "a": a, "b": b}
        for a, b in itertools.product(SECURITY, repeat=2)
    ),
    *(
        {"id": f"maxAsk:{a}:{b}", "op": "maxAsk", "a": a, "b": b}
        for a, b in itertools.product(ASK, repeat=2)
    ),
    {"id": "s1", "op": "normalizeSecurity", "value": " FULL "},
    {"id": "s2", "op": "normalizeSecurity", "value": "allowlist"},
    {"id": "a1", "op": "normalizeAsk", "value": "always"},
    {"id": "a2", "op": "normalizeAsk", "value": "on-miss"},
    {"id": "empty", "op": "resolve", "file": {"version": 1}, "agentId": "main"},
    {"id": 7, "op": "no-such-op"},
]


@pytest.fixture(scope="module")
def answers41(oracle41: Oracle) -> dict[Any, dict[str, Any]]:
    return {c["id"]: a for c, a in zip(CASES, oracle41.run(CASES), strict=True)}


@pytest.fixture(scope="module")
def answers96(oracle96: Oracle) -> dict[Any, dict[str, Any]]:
    return {c["id"]: a for c, a in zip(CASES, oracle96.run(CASES), strict=True)}


@pytest.fixture(params=["answers41", "answers96"])
def answers(request: pytest.FixtureRequest) -> dict[Any, dict[str, Any]]:
    result: dict[Any, dict[str, Any]] = request.getfixturevalue(request.param)
    return result


def test_stricter_wins_primitives(answers: dict[Any, dict[str, Any]]) -> None:
    for a, b in itertools.product(SECURITY, repeat=2):
        strictest = SECURITY[min(SECURITY.index(a), SECURITY.index(b))]
        assert answers[f"minSecurity:{a}:{b}"]["result"] == {"value": strictest}
    for a, b in itertools.product(ASK, repeat=2):
        most_asking = ASK[max(ASK.index(a), ASK.index(b))]
        assert answers[f"maxAsk:{a}:{b}"]["result"] == {"value": most_asking}


def test_normalize_tolerated_spellings(answers: dict[Any, dict[str, Any]]) -> None:
    got = {k: answers[k]["result"]["value"] for k in ("s1", "s2", "a1", "a2")}
    assert got == {"s1": "full", "s2": "allowlist", "a1": "always", "a2": "on-miss"}


def test_answers_are_matched_by_id_and_rejections_reported(
    answers: dict[Any, dict[str, Any]],
) -> None:
    assert [a["id"] for a in answers.values()] == [c["id"] for c in CASES]
    assert answers[7]["ok"] is False
    assert "unknown op" in answers[7]["error"]


def test_empty_file_defaults_differ_between_versions(
    answers41: dict[Any, dict[str, Any]], answers96: dict[Any, dict[str, Any]]
) -> None:
    old = answers41["empty"]["result"]["defaults"]
    new = answers96["empty"]["result"]["defaults"]
    assert (old["security"], old["ask"]) == ("deny", "on-miss")
    assert (new["security"], new["ask"]) == ("full", "off")


def test_results_raise_on_rejected_case(oracle96: Oracle) -> None:
    with pytest.raises(OracleError, match="rejected case 'bad'"):
        oracle96.results([{"id": "bad", "op": "no-such-op"}])


def test_bad_batches_are_refused(oracle41: Oracle) -> None:
    with pytest.raises(ValueError, match="needs an 'id'"):
        oracle41.run([{"op": "maxAsk"}])
    with pytest.raises(ValueError, match="unique"):
        oracle41.run([{"id": 1, "op": "maxAsk"}, {"id": 1, "op": "maxAsk"}])
    assert oracle41.run([]) == []


def test_node_failure_is_a_clear_error(oracle41: Oracle, tmp_path: Path) -> None:
    install = OpenClawInstall(
        version=oracle41.version, node=oracle41.install.node, package=tmp_path / "missing"
    )
    broken = Oracle(install=install, script=oracle41.script)
    with pytest.raises(OracleError, match=r"(?s)exited with \d+: .*ENOENT"):
        broken.run([{"id": 1, "op": "maxAsk", "a": "off", "b": "off"}])


def test_unknown_version_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported OpenClaw version"):
        find_oracle("1999.1.1")
