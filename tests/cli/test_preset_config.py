"""``--preset`` and ``--config`` on ``policy`` and ``explain``: which preset applied, and the
OpenClaw config's ``tools.exec`` block as the requested layer (or a clear error)."""

from __future__ import annotations

import json
from pathlib import Path

from cli._cli_helpers import Cli
from openclaw_exec.cli import EXIT_DENIED, EXIT_OK, EXIT_USAGE


def _empty(tmp_path: Path) -> Path:
    path = tmp_path / "empty-approvals.json"
    path.write_text('{"version": 1}', encoding="utf-8")
    return path


def test_policy_shows_the_preset_that_filled_unset_knobs(cli: Cli, tmp_path: Path) -> None:
    empty = str(_empty(tmp_path))
    old = cli("policy", "--approvals", empty, "--json").json()
    new = cli("policy", "--approvals", empty, "--preset", "2026.9.6", "--json").json()
    assert old["preset"] == "openclaw-2026.4.1"
    assert new["preset"] == "openclaw-2026.9.6"
    assert (old["effective"]["security"], old["effective"]["ask"]) == ("deny", "on-miss")
    assert (new["effective"]["security"], new["effective"]["ask"]) == ("full", "off")
    text = cli("policy", "--approvals", empty, "--preset", "openclaw-2026.9.6").out
    assert "preset: openclaw-2026.9.6" in text
    assert 'agent: (none: 2026.9.6 reads agents["*"] and defaults only)' in text
    bad = cli("policy", "--approvals", empty, "--preset", "latest")
    assert bad.code == EXIT_USAGE
    assert "invalid preset 'latest'" in bad.err


def test_config_is_the_requested_layer_and_its_safe_bins_apply(cli: Cli, tmp_path: Path) -> None:
    empty = str(_empty(tmp_path))
    config = tmp_path / "openclaw.json"
    block: dict[str, object] = {"mode": "allowlist", "safeBins": ["wc"]}
    config.write_text(json.dumps({"tools": {"exec": block}}), encoding="utf-8")
    doc = cli("policy", "--approvals", empty, "--config", str(config), "--json").json()
    assert (doc["effective"]["security"], doc["effective"]["ask"]) == ("allowlist", "off")
    assert doc["fields"]["security"]["layer"] == "requested"
    # wc -l: the default wc profile has no boolean flags, so it is a miss (ask=off: deny).
    denied = cli("explain", "--approvals", empty, "--config", str(config), "--", "wc -l")
    assert denied.code == EXIT_DENIED
    block["safeBinProfiles"] = {"wc": {"maxPositional": 0, "allowedBooleanFlags": ["-l"]}}
    config.write_text(json.dumps({"tools": {"exec": block}}), encoding="utf-8")
    allowed = cli("explain", "--approvals", empty, "--config", str(config), "--", "wc -l")
    assert allowed.code == EXIT_OK, allowed.out
    assert f"config: {config} (mode allowlist)" in allowed.out
    # An explicit knob option still overrides the config.
    asked = cli(
        "policy", "--approvals", empty, "--config", str(config), "--ask", "always", "--json"
    ).json()
    assert asked["effective"]["ask"] == "always"


def test_a_bad_config_is_a_clear_usage_error(cli: Cli, tmp_path: Path) -> None:
    config = tmp_path / "openclaw.json"
    config.write_text('{"tools": {"exec": {"mode": "ask", "security": "full"}}}', "utf-8")
    run = cli("policy", "--config", str(config))
    assert run.code == EXIT_USAGE
    assert f"{config}: tools.exec.mode: cannot be combined with security or ask" in run.err
    config.write_text('{"tools": {"exec": {"mode": "ask",}}}', "utf-8")
    run = cli("policy", "--config", str(config))
    assert run.code == EXIT_USAGE
    assert "JSON5" in run.err
