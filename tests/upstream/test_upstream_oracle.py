"""
The restated expectations checked against OpenClaw itself, not only against our reading.

Where a case records what OpenClaw's own code answers (``oracle96``: 2026.9.6, ``oracle41``:
2026.4.1's obfuscation detector), this asks it again, in a world built the same way, and
requires the same answer. Where a case's expectation was taken from the oracle
(``expectedFrom`` names it) the expectation must equal that answer; where it comes from
the upstream test itself, it may differ from 2026.9.6 (the test files were read at commits
older or newer than that release; ``report.py --vs96`` counts them), except for the env
cases, whose lists must agree but for the few named below.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest
from _upstream import Case, build_world, load_cases, sub

from _oracle import Oracle

pytestmark = pytest.mark.oracle

CASES = load_cases()
SAFE_BINS_96 = ["cut", "uniq", "head", "tail", "tr", "wc"]

# Expectations from the upstream test that OpenClaw 2026.9.6 answers differently, and why.
NEWER_THAN_96 = {
    # The upstream file strips inherited RUSTUP_HOME / RUSTUP_TOOLCHAIN; 2026.9.6 keeps them.
    "host-env-security:removes dangerous inherited keys while p|inherited|RUSTUP_HOME",
    "host-env-security:removes dangerous inherited keys while p|inherited|RUSTUP_TOOLCHAIN",
}


def _shell_request(case: Case, root: Path, i: int) -> dict[str, Any]:
    data = case.data
    build_world(data.get("files", {}), root)
    command = sub(data["command"], root)
    req: dict[str, Any] = {
        "id": i,
        "op": "shell",
        "command": shlex.join(command) if isinstance(command, list) else command,
        "cwd": str(root / data.get("cwd", "")).rstrip("/"),
        "env": sub(data.get("env", {"PATH": "{root}/bin"}), root),
        # Patterns only: 2026.9.6 binds allow-always entries to an argv hash, which the
        # restated entries (as the upstream tests write them) do not carry.
        "allowlist": [
            {"pattern": p if isinstance(p, str) else p["pattern"]}
            for p in sub(data.get("allowlist", []), root)
        ],
        "safeBins": data["safeBins"] if data.get("safeBins") is not None else SAFE_BINS_96,
    }
    if data.get("safeBinProfiles"):
        req["safeBinProfiles"] = data["safeBinProfiles"]
    if data.get("trustedDirs") is not None:
        req["trustedSafeBinDirs"] = sub(data["trustedDirs"], root)
    if data.get("skillBins"):
        req["autoAllowSkills"] = True
        req["skillBins"] = [{"name": n, "resolvedPath": p} for n, p in sub(data["skillBins"], root)]
    return req


def test_evaluate_cases_match_openclaw_2026_9_6(oracle96: Oracle, tmp_path: Path) -> None:
    chosen = [
        c
        for c in CASES
        if c.kind == "evaluate" and "oracle96" in c.data and not c.data.get("strictInlineEval")
    ]
    assert chosen
    requests = []
    for i, case in enumerate(chosen):
        root = tmp_path / f"w{i}"
        root.mkdir()
        requests.append(_shell_request(case, root.resolve(), i))
    answers = oracle96.run(requests)
    problems = []
    for case, answer in zip(chosen, answers, strict=True):
        res = answer["result"]
        got = {k: res[k] for k in ("analysisOk", "allowlistSatisfied") if k in res}
        stored = {k: v for k, v in case.data["oracle96"].items() if k in got}
        if got != stored:
            problems.append(f"{case.id}: stored {stored}, OpenClaw 2026.9.6 now {got}")
        # An expectation taken from the oracle must still be the oracle's answer.
        expected = {k: v for k, v in case.data["openclaw"].items() if k in got}
        from_oracle = str(case.data.get("expectedFrom", "")).startswith("oracle-2026.9.6")
        if from_oracle and expected != {k: got[k] for k in expected}:
            problems.append(f"{case.id}: expected {expected}, OpenClaw 2026.9.6 {got}")
    assert not problems, "\n".join(problems)


def test_strict_inline_eval_cases_match_openclaw_2026_9_6(oracle96: Oracle, tmp_path: Path) -> None:
    chosen = [c for c in CASES if c.data.get("strictInlineEval")]
    assert chosen
    answers = oracle96.run(
        [
            {"id": i, "op": "inlineEval", "argv": sub(c.data["command"], tmp_path)}
            for i, c in enumerate(chosen)
        ]
    )
    for case, answer in zip(chosen, answers, strict=True):
        hit = answer["result"]["hit"] is not None
        assert hit == (case.data["openclaw"]["autoRun"] is False), case.id


def test_env_cases_match_openclaw_2026_9_6(oracle96: Oracle) -> None:
    chosen = [c for c in CASES if c.kind == "env"]
    assert chosen
    answers = oracle96.run(
        [
            {
                "id": i,
                "op": "env",
                "key": c.data["key"],
                "value": "/tmp/openclaw-upstream-case",
                "bucket": c.data["bucket"],
                "baseEnv": c.data.get("baseEnv", {}),
            }
            for i, c in enumerate(chosen)
        ]
    )
    problems = []
    for case, answer in zip(chosen, answers, strict=True):
        blocked = answer["result"]["blocked"]
        if blocked != case.data["oracle96"]:
            problems.append(f"{case.id}: stored {case.data['oracle96']}, now {blocked}")
        # An expectation taken from another assertion of the same upstream file follows it.
        upstream = str(case.data.get("expectedFrom", "")).startswith("same file")
        newer = case.id in NEWER_THAN_96 or (
            upstream and case.data["key"].upper().startswith("RUSTUP")
        )
        if blocked != case.data["openclaw"]["blocked"] and not newer:
            problems.append(f"{case.id}: expected {case.data['openclaw']}, 2026.9.6 {blocked}")
    assert not problems, "\n".join(problems)


@pytest.mark.slow  # loading 2026.4.1's bundle alone takes ~20 s on the CI machine
def test_obfuscation_cases_match_openclaw_2026_4_1(oracle41: Oracle) -> None:
    chosen = [c for c in CASES if c.kind == "obfuscation"]
    assert chosen
    answers = oracle41.run(
        [{"id": i, "op": "obfuscation", "command": c.data["command"]} for i, c in enumerate(chosen)]
    )
    for case, answer in zip(chosen, answers, strict=True):
        detected = answer["result"]["result"]["detected"]
        assert detected == case.data["oracle41"]["detected"], case.id
        assert detected == (case.data["openclaw"]["autoRun"] is False), case.id


def test_policy_cases_match_openclaw_2026_9_6(oracle96: Oracle) -> None:
    chosen = [c for c in CASES if c.kind == "policy" and "oracle96" in c.data]
    assert chosen
    requests: list[dict[str, Any]] = []
    for i, case in enumerate(chosen):
        d = case.data
        if d["op"] == "requires":
            keys = (
                "ask",
                "security",
                "analysisOk",
                "allowlistSatisfied",
                "durableApprovalSatisfied",
            )
            requests.append(
                {"id": i, "op": "requires", "params": {k: d[k] for k in keys if k in d}}
            )
        elif d["op"] in ("minSecurity", "maxAsk"):
            requests.append({"id": i, "op": d["op"], "a": d["a"], "b": d["b"]})
        else:
            requests.append({"id": i, "op": d["op"], "value": d["raw"]})
    answers = oracle96.run(requests)
    for case, answer in zip(chosen, answers, strict=True):
        res = answer["result"]
        got = {"requires": res["requires"]} if "requires" in res else {"value": res["value"]}
        assert got == case.data["oracle96"] == dict(case.data["openclaw"]), case.id
