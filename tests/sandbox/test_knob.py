"""The sandbox knob in the approvals file, the resolved policy and the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from openclaw_exec import ApprovalsFileError
from openclaw_exec.cli import main
from openclaw_exec.policy import ExecPolicy, Layer, SandboxMode, loads_approvals, resolve_policy


def test_the_file_sets_it_per_agent_and_the_stricter_wins() -> None:
    file = loads_approvals(
        json.dumps(
            {
                "version": 1,
                "defaults": {"sandbox": "preferred"},
                "agents": {"ops": {"sandbox": "required"}},
            }
        )
    )
    main_agent = resolve_policy(file, requested=ExecPolicy(sandbox="off"))
    assert main_agent.effective.sandbox is SandboxMode.PREFERRED
    assert main_agent.origins["sandbox"].layer is Layer.DEFAULTS
    ops = resolve_policy(file, agent_id="ops", requested=ExecPolicy(sandbox="preferred"))
    assert ops.effective.sandbox is SandboxMode.REQUIRED
    assert ops.origins["sandbox"].layer is Layer.AGENT
    # A request can tighten what the file says, never loosen it.
    asked = resolve_policy(file, requested=ExecPolicy(sandbox="required"))
    assert asked.effective.sandbox is SandboxMode.REQUIRED


@pytest.mark.parametrize("value", ["Required", "on", True, 1, ""])
def test_a_bad_value_names_the_json_path(value: object) -> None:
    text = json.dumps({"version": 1, "defaults": {"sandbox": value}})
    with pytest.raises(ApprovalsFileError, match=r"defaults\.sandbox"):
        loads_approvals(text, source="x.json")


def test_the_cli_sets_and_shows_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "exec-approvals.json"
    assert main(["approvals", "set", "--approvals", str(path), "--sandbox", "required"]) == 0
    assert json.loads(path.read_text())["defaults"] == {"sandbox": "required"}
    capsys.readouterr()
    assert main(["policy", "--approvals", str(path)]) == 0
    assert "sandbox = required (from defaults in the approvals file)" in capsys.readouterr().out
    assert main(["approvals", "set", "--approvals", str(path), "--sandbox", "maybe"]) == 2
