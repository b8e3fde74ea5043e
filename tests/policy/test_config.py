"""
OpenClaw 2026.9.6's ``tools.exec`` config: every policy key honoured or refused, never ignored.

The mode table is OpenClaw's ``resolveExecPolicyForMode``; the checks are its zod schema plus
what it would silently ignore or clamp (refused here, with the file and JSON path).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openclaw_exec.analysis import evaluate_command
from openclaw_exec.policy import (
    Ask,
    ExecConfig,
    ExecConfigError,
    ExecMode,
    Preset,
    Security,
    exec_config_from_json,
    loads_exec_config,
    resolve_policy,
)

# OpenClaw 2026.9.6 dist, exec-approvals-core: resolveExecPolicyForMode.
OPENCLAW_MODES = {
    "deny": ("deny", "off", False),
    "allowlist": ("allowlist", "off", False),
    "ask": ("allowlist", "on-miss", False),
    "auto": ("allowlist", "on-miss", True),
    "full": ("full", "off", False),
}


def cfg(block: dict[str, Any]) -> ExecConfig:
    return exec_config_from_json({"tools": {"exec": block}}, path="/etc/openclaw.json")


def refused(block: dict[str, Any]) -> ExecConfigError:
    with pytest.raises(ExecConfigError) as caught:
        cfg(block)
    assert str(caught.value).startswith("/etc/openclaw.json: tools.exec")
    return caught.value


@pytest.mark.parametrize("mode", sorted(OPENCLAW_MODES))
def test_mode_maps_like_openclaw(mode: str) -> None:
    security, ask, auto = OPENCLAW_MODES[mode]
    config = cfg({"mode": mode})
    for preset in Preset:
        policy = config.requested_policy(preset)
        assert (policy.security.value, policy.ask.value) == (security, ask)
    assert config.auto_review is auto
    assert config.requested_fields == {"security", "ask"}
    assert config.effective_mode() is ExecMode(mode)
    if mode != "auto":  # auto has no security/ask pair of its own
        assert ExecMode.from_policy(Security(security), Ask(ask)) is ExecMode(mode)


def test_unset_knobs_take_the_presets() -> None:
    empty = cfg({})
    assert empty == ExecConfig()
    assert empty.requested_fields == frozenset()
    assert empty.requested_policy().security is Security.DENY
    assert empty.requested_policy(Preset.OPENCLAW_2026_9_6).security is Security.FULL
    legacy = cfg({"security": "allowlist"})
    assert legacy.requested_fields == {"security"}
    assert legacy.requested_policy(Preset.OPENCLAW_2026_9_6).ask is Ask.OFF
    assert exec_config_from_json({}) == ExecConfig()
    assert exec_config_from_json({"tools": {}}) == ExecConfig()


def test_the_config_is_a_requested_layer_the_file_can_only_tighten() -> None:
    config = cfg({"mode": "full"})
    resolved = resolve_policy(
        None,
        requested=config.requested_policy(),
        requested_fields=config.requested_fields,
    )
    assert resolved.effective.security is Security.FULL


@pytest.mark.parametrize(
    ("block", "path", "words"),
    [
        ({"mode": "yolo"}, "tools.exec.mode", "deny | allowlist | ask | auto | full"),
        ({"mode": "ask", "security": "full"}, "tools.exec.mode", "cannot be combined"),
        (
            {"mode": "ask", "security": "allowlist", "ask": "off"},
            "tools.exec.mode",
            'mode "allowlist"',
        ),
        ({"security": "FULL"}, "tools.exec.security", "deny | allowlist | full"),
        ({"sercurity": "deny"}, "tools.exec.sercurity", "not an OpenClaw 2026.9.6"),
        ({"safeBins": ["frobnicate"]}, "tools.exec.safeBins[0]", "no profile"),
        ({"safeBins": ["jq"]}, "tools.exec.safeBins[0]", "never a safe bin"),
        ({"safeBins": ["/usr/bin/python3.12"]}, "tools.exec.safeBins[0]", "interprets"),
        ({"safeBins": "cut"}, "tools.exec.safeBins", "list of strings"),
        ({"safeBinTrustedDirs": ["bin"]}, "tools.exec.safeBinTrustedDirs[0]", "absolute"),
        (
            {"safeBinProfiles": {"wc": {"minPositional": 2, "maxPositional": 1}}},
            "tools.exec.safeBinProfiles.wc.maxPositional",
            "below minPositional",
        ),
        (
            {"safeBinProfiles": {"wc": {"allowedFlags": ["-l"]}}},
            "tools.exec.safeBinProfiles.wc.allowedFlags",
            "not a safe-bin profile key",
        ),
        (
            {"safeBinProfiles": {"wc": {"allowedBooleanFlags": ["l"]}}},
            "tools.exec.safeBinProfiles.wc.allowedBooleanFlags[0]",
            "not a flag",
        ),
        (
            {"safeBinProfiles": {"wc": {"allowedBooleanFlags": ["-l"], "deniedFlags": ["-l"]}}},
            "tools.exec.safeBinProfiles.wc.allowedBooleanFlags",
            "also listed in deniedFlags",
        ),
        ({"strictInlineEval": "yes"}, "tools.exec.strictInlineEval", "a boolean"),
        ({"grantExpiryDays": 0}, "tools.exec.grantExpiryDays", "from 1 to 3650"),
        ({"grantExpiryDays": 3651}, "tools.exec.grantExpiryDays", "from 1 to 3650"),
        ({"grantExpiryDays": 1.5}, "tools.exec.grantExpiryDays", "from 1 to 3650"),
        ({"grantExpiryDays": True}, "tools.exec.grantExpiryDays", "from 1 to 3650"),
        ({"reviewer": {"timeoutMs": 0}}, "tools.exec.reviewer.timeoutMs", "at least 1"),
        ({"reviewer": {"thinking": "deep"}}, "tools.exec.reviewer.thinking", "minimal"),
        ({"reviewer": {"prompt": "x"}}, "tools.exec.reviewer.prompt", "not a reviewer key"),
        ({"reviewer": "gpt"}, "tools.exec.reviewer", "an object"),
    ],
)
def test_bad_values_are_refused_naming_the_path(
    block: dict[str, Any], path: str, words: str
) -> None:
    error = refused(block)
    assert error.json_path == path
    assert words in str(error)


def test_safe_bins_and_profiles_are_honoured(tmp_path: Path) -> None:
    """allowedBooleanFlags (#153787) lets ``wc -l`` satisfy the policy; without it, no."""
    plain = cfg({"safeBins": ["wc"]})
    flagged = cfg(
        {
            "safeBins": ["WC"],
            "safeBinProfiles": {"wc": {"maxPositional": 0, "allowedBooleanFlags": ["-l"]}},
            "strictInlineEval": True,
            "safeBinTrustedDirs": ["/usr/bin/"],
        }
    )
    assert flagged.safe_bins == ("wc",)
    assert flagged.safe_bin_trusted_dirs == ("/usr/bin",)
    options = flagged.analysis_options()
    assert options["strict_inline_eval"] is True
    env = {"PATH": "/usr/bin:/bin"}

    def satisfied(config: ExecConfig, command: str) -> bool:
        found = evaluate_command(command, cwd=str(tmp_path), env=env, **config.analysis_options())
        return found.analysis_ok and found.allowlist_satisfied

    assert not satisfied(plain, "wc -l")
    assert satisfied(flagged, "wc -l")
    assert not satisfied(flagged, "wc -c")  # a flag the profile does not name
    assert not satisfied(flagged, "wc -l /etc/passwd")  # maxPositional 0: stdin only
    assert not satisfied(cfg({"safeBins": ["cut"]}), "wc -l")  # wc is no longer a safe bin


def test_grant_expiry_and_reviewer_are_kept() -> None:
    config = cfg(
        {
            "mode": "auto",
            "grantExpiryDays": 30.0,
            "reviewer": {"model": "openai/gpt-5", "thinking": "low", "timeoutMs": 5000},
        }
    )
    assert config.grant_expiry_days == 30
    assert config.reviewer is not None
    assert (config.reviewer.model, config.reviewer.thinking, config.reviewer.timeout_ms) == (
        "openai/gpt-5",
        "low",
        5000,
    )
    assert cfg({"reviewer": {}}).reviewer is not None
    assert cfg({"reviewer": {}}).reviewer.timeout_ms == 30_000  # type: ignore[union-attr]


def test_keys_that_do_not_shape_policy_are_accepted_and_listed() -> None:
    config = cfg({"mode": "ask", "backgroundMs": 10_000, "notifyOnExit": True})
    assert config.not_policy == ("backgroundMs", "notifyOnExit")


def test_text_reading(tmp_path: Path) -> None:
    with pytest.raises(ExecConfigError, match="JSON5"):
        loads_exec_config('{"tools": {"exec": {"mode": "ask",}}}', path="openclaw.json")
    ok = loads_exec_config(json.dumps({"tools": {"exec": {"mode": "deny"}}}), path="x.json")
    assert ok.mode is ExecMode.DENY
    assert ok.path == "x.json"
    with pytest.raises(ExecConfigError, match=r"x\.json: tools: must be a JSON object"):
        loads_exec_config('{"tools": []}', path="x.json")


_BLOCKS = st.fixed_dictionaries(
    {},
    optional={
        "mode": st.sampled_from(sorted(OPENCLAW_MODES)),
        "safeBins": st.lists(st.sampled_from(["cut", "uniq", "head", "tail", "tr", "wc"])),
        "safeBinTrustedDirs": st.lists(st.sampled_from(["/opt/bin", "/usr/local/bin"])),
        "safeBinProfiles": st.dictionaries(
            st.sampled_from(["wc", "head", "mytool"]),
            st.fixed_dictionaries(
                {},
                optional={
                    "minPositional": st.integers(0, 2),
                    "allowedValueFlags": st.lists(st.sampled_from(["-n", "--lines"])),
                    "deniedFlags": st.lists(st.sampled_from(["-f", "--follow"])),
                    "allowedBooleanFlags": st.lists(st.sampled_from(["-l", "-q"])),
                },
            ),
        ),
        "strictInlineEval": st.booleans(),
        "grantExpiryDays": st.integers(1, 3650),
        "reviewer": st.fixed_dictionaries(
            {}, optional={"model": st.just("p/m"), "timeoutMs": st.integers(1, 10**6)}
        ),
    },
)


@settings(max_examples=100)
@given(_BLOCKS)
def test_valid_blocks_round_trip(block: dict[str, Any]) -> None:
    config = cfg(block)
    again = cfg(config.to_json())
    assert again == config
