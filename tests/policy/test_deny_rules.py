"""
Deny rules: where they live, how layers combine, how they match, and that they win.

The property tests state the claims of docs/policy.md ("Deny rules") over every
combination hypothesis finds: no layer, knob, allowlist entry, allow-always grant or
requested policy lets a command that reaches a denied program be anything but DENY;
adding rules never loosens a verdict; a rule denies the same wherever it is written.
"""

from __future__ import annotations

import json
import shutil

import attrs
import pytest
from _deny_helpers import judge
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openclaw_exec.analysis import durable_command_pattern
from openclaw_exec.exceptions import ApprovalsFileError
from openclaw_exec.policy import (
    AgentPolicy,
    AllowlistEntry,
    ApprovalsFile,
    Ask,
    DenyRule,
    ExecPolicy,
    Grant,
    PolicyDefaults,
    Security,
    Verdict,
    VerdictReason,
    approvals_from_json,
    approvals_to_json,
    cwd_bound_arg_pattern,
    loads_approvals,
    resolve_policy,
)
from openclaw_exec.testing import exec_policies

TOUCH = shutil.which("touch", path="/usr/bin:/bin")
assert TOUCH is not None
FULL = ExecPolicy(security=Security.FULL, ask=Ask.OFF, ask_fallback=Security.FULL)

#: Routes to /usr/bin/touch the analyser sees, each with the argument "CANARY".
ROUTES = (
    "touch CANARY",
    "/usr/bin/touch CANARY",
    "/bin/touch CANARY",
    "/usr/bin/../bin/touch CANARY",
    "env touch CANARY",
    "env -i touch CANARY",
    "nice -n 1 touch CANARY",
    "timeout 5 touch CANARY",
    "nice env touch CANARY",
    "FOO=1 touch CANARY",
    "ls && touch CANARY",
    "ls; touch CANARY",
    "ls | touch CANARY",
    "bash -c 'touch CANARY'",
    "sh -c \"bash -c 'touch CANARY'\"",
    "command touch CANARY",
    "exec touch CANARY",
    "eval 'touch CANARY'",
    "x=touch; $x CANARY",
    "$(echo touch) CANARY",
    "t''ouch CANARY",
    '"touch" CANARY',
    "\\touch CANARY",
    "/usr/bin/tou?h CANARY",
    "/usr/bin/t* CANARY",
    "echo CANARY | xargs touch",
    "find . -maxdepth 0 -exec touch CANARY ';'",
    "python3 -c \"import os; os.system('touch CANARY')\"",
    "busybox touch CANARY",
    "sudo touch CANARY",
)

#: Rules that deny /usr/bin/touch run with "CANARY".
RULES = (
    DenyRule(pattern="touch"),
    DenyRule(pattern="TOUCH"),
    DenyRule(pattern="/usr/bin/touch"),
    DenyRule(pattern="/usr/bin/tou*"),
    DenyRule(pattern="tou?h"),
    DenyRule(pattern="touch", arg_pattern="CANARY"),
    DenyRule(pattern="/usr/bin/touch", arg_pattern="^CAN"),
)


def _file_with_rule(rule: DenyRule, where: str, base: ApprovalsFile) -> ApprovalsFile:
    if where == "defaults":
        defaults = attrs.evolve(base.defaults, deny=(*base.defaults.deny, rule))
        return attrs.evolve(base, defaults=defaults)
    agent = base.agents.get(where, AgentPolicy())
    return base.with_agent(where, attrs.evolve(agent, deny=(*agent.deny, rule)))


def _permissive_entries(command: str, cwd: str) -> st.SearchStrategy[list[AllowlistEntry]]:
    """Allowlist entries that would admit the command, allow-always grants included."""
    grants = [
        AllowlistEntry(pattern="*"),
        AllowlistEntry(pattern=TOUCH),  # type: ignore[arg-type]
        AllowlistEntry(pattern="/usr/bin/*"),
        AllowlistEntry(pattern="/usr/**"),
        AllowlistEntry(pattern="touch"),
        AllowlistEntry(pattern=durable_command_pattern(command), source="allow-always"),
        AllowlistEntry(
            pattern=TOUCH,  # type: ignore[arg-type]
            arg_pattern=cwd_bound_arg_pattern(["touch", "CANARY"], cwd),
            source="allow-always",
        ),
        AllowlistEntry(pattern=TOUCH, arg_pattern="CANARY"),  # type: ignore[arg-type]
    ]
    return st.lists(st.sampled_from(grants), max_size=5)


_KNOBS = st.none() | st.sampled_from(Security)


@st.composite
def _worlds(draw: st.DrawFn) -> tuple[ApprovalsFile, str, ExecPolicy | None, list[DenyRule]]:
    command = draw(st.sampled_from(ROUTES))
    grants = [
        Grant(id=f"g{i}", pattern=e.pattern, arg_pattern=e.arg_pattern, source=e.source)
        for i, e in enumerate(draw(_permissive_entries(command, "/tmp")))
    ]
    main = AgentPolicy(
        allowlist=draw(_permissive_entries(command, "/tmp")),
        security=draw(_KNOBS),
        ask=draw(st.none() | st.sampled_from(Ask)),
        ask_fallback=draw(_KNOBS),
        grants=tuple(grants),
    )
    star = AgentPolicy(
        allowlist=draw(_permissive_entries(command, "/tmp")),
        security=draw(_KNOBS),
        grants=(Grant(id="any", pattern="*", session_key=draw(st.sampled_from([None, "s"]))),),
    )
    base = ApprovalsFile(
        defaults=PolicyDefaults(security=draw(_KNOBS), ask=draw(st.none() | st.sampled_from(Ask))),
        agents={"main": main, "*": star},
    )
    rule = draw(st.sampled_from(RULES))
    where = draw(st.sampled_from(["defaults", "*", "main", "requested"]))
    requested_rules: list[DenyRule] = []
    file = base
    if where == "requested":
        requested_rules.append(rule)
    else:
        file = _file_with_rule(rule, where, base)
    requested = draw(st.none() | exec_policies())
    return file, command, requested, requested_rules


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_worlds())
def test_no_layer_grant_or_mode_lets_a_denied_command_run(
    world: tuple[ApprovalsFile, str, ExecPolicy | None, list[DenyRule]],
) -> None:
    file, command, requested, extra = world
    verdict = judge(file, command, requested=requested, deny=extra, now_ms=0, session_key="s")
    assert verdict.verdict is Verdict.DENY, (command, verdict)
    assert verdict.reason is VerdictReason.DENY_RULE
    assert verdict.rule is not None


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(ROUTES), st.sampled_from(RULES), st.sampled_from(["defaults", "*", "main"]))
def test_a_rule_denies_the_same_wherever_it_is_written(
    command: str, rule: DenyRule, where: str
) -> None:
    file = _file_with_rule(
        rule, where, ApprovalsFile(defaults=PolicyDefaults(security=Security.FULL, ask=Ask.OFF))
    )
    verdict = judge(file, command)
    assert verdict.verdict is Verdict.DENY
    expected = {
        "defaults": "defaults.deny[0]",
        "*": "agents.*.deny[0]",
        "main": "agents.main.deny[0]",
    }
    assert verdict.rule == expected[where]


_ORDER = {Verdict.DENY: 0, Verdict.ASK: 1, Verdict.ALLOW: 2}
#: Commands that reach a denied program, and ones that do not (controls).
_CORPUS = (
    *ROUTES[:12],
    "ls -la",
    "echo hello",
    "cat /etc/hostname",
    "git status",
    "python3 -c 'print(1)'",
    "echo hi | sh",
    "true",
    "/usr/bin/env",
)


@settings(max_examples=120, deadline=None)
@given(
    st.sampled_from(_CORPUS),
    st.lists(st.sampled_from(RULES), max_size=3),
    st.sampled_from([FULL, ExecPolicy(security=Security.ALLOWLIST, ask=Ask.ON_MISS)]),
    st.lists(st.sampled_from(["*", "/usr/bin/*", "ls", "/usr/bin/ls"]), max_size=2),
)
def test_adding_rules_never_loosens_a_verdict(
    command: str, rules: list[DenyRule], policy: ExecPolicy, allow: list[str]
) -> None:
    agent = AgentPolicy(allowlist=tuple(AllowlistEntry(pattern=p) for p in allow))
    file = ApprovalsFile(agents={"main": agent})
    before = judge(file, command, requested=policy)
    after = judge(file, command, requested=policy, deny=rules)
    assert _ORDER[after.verdict] <= _ORDER[before.verdict], (before, after)
    if after.verdict is Verdict.ASK and after.triggers:
        # An uncertain command is never run by a timeout.
        assert before.verdict is not Verdict.DENY


@pytest.mark.parametrize(
    "command",
    ["ls -la", "echo hello", "git status", "cat /etc/hostname", "true", "ls | wc -l"],
)
def test_commands_that_name_no_denied_program_still_run(command: str) -> None:
    file = ApprovalsFile(defaults=PolicyDefaults(deny=RULES))
    verdict = judge(file, command, requested=FULL)
    assert verdict.verdict is Verdict.ALLOW, verdict


@pytest.mark.parametrize(
    ("command", "trigger"),
    [
        ("python3 -c 'print(1)'", "inline code"),
        ("echo hi | sh", "runs commands that are not shown"),
        ("sh", "runs commands that are not shown"),
        ("ls $(pwd)", "could not be analysed"),
    ],
)
def test_uncertain_commands_are_at_least_a_miss_even_at_full(command: str, trigger: str) -> None:
    file = ApprovalsFile(defaults=PolicyDefaults(deny=(DenyRule(pattern="touch"),)))
    for ask in Ask:
        policy = ExecPolicy(security=Security.FULL, ask=ask, ask_fallback=Security.FULL)
        verdict = judge(file, command, requested=policy)
        assert verdict.verdict is Verdict.ASK, verdict
        assert any(trigger in t for t in verdict.triggers), verdict.triggers
    # Without deny rules, security=full runs them (OpenClaw's behaviour).
    plain = judge(None, command, requested=FULL)
    assert plain.verdict is not Verdict.DENY


def test_arg_pattern_narrows_the_command_word_only() -> None:
    file = ApprovalsFile(
        agents={"*": AgentPolicy(deny=(DenyRule(pattern="git", arg_pattern="^push\\b"),))}
    )
    assert judge(file, "git status", requested=FULL).verdict is Verdict.ALLOW
    assert judge(file, "git push origin", requested=FULL).verdict is Verdict.DENY
    assert judge(file, "env git push", requested=FULL).verdict is Verdict.DENY
    # Named as an argument the arguments it will get are unknown: denied whatever they are.
    assert judge(file, "echo status | xargs git", requested=FULL).verdict is Verdict.DENY


def test_an_agent_rule_does_not_apply_to_other_agents() -> None:
    file = ApprovalsFile(agents={"ops": AgentPolicy(deny=(DenyRule(pattern="touch"),))})
    assert judge(file, "touch x", agent_id="ops", requested=FULL).verdict is Verdict.DENY
    assert judge(file, "touch x", agent_id="main", requested=FULL).verdict is Verdict.ALLOW


def test_layers_add_rules_in_order() -> None:
    file = ApprovalsFile(
        defaults=PolicyDefaults(deny=(DenyRule(pattern="a"),)),
        agents={
            "*": AgentPolicy(deny=(DenyRule(pattern="b"),)),
            "main": AgentPolicy(deny=(DenyRule(pattern="c"),)),
            "ops": AgentPolicy(deny=(DenyRule(pattern="d"),)),
        },
    )
    resolved = resolve_policy(file, deny=[DenyRule(pattern="r")])
    assert [(s.where, s.rule.pattern) for s in resolved.deny] == [
        ("requested.deny[0]", "r"),
        ("defaults.deny[0]", "a"),
        ("agents.*.deny[0]", "b"),
        ("agents.main.deny[0]", "c"),
    ]


def test_the_message_names_the_rule_and_its_reason() -> None:
    rule = DenyRule(pattern="touch", id="no-touch", reason="touching is forbidden")
    file = ApprovalsFile(agents={"main": AgentPolicy(deny=(rule,))})
    verdict = judge(file, "env touch x", requested=FULL)
    assert verdict.rule == "agents.main.deny[0]"
    assert '"no-touch"' in verdict.message
    assert "touching is forbidden" in verdict.message


# --------------------------------------------------------------------------- the file


def test_deny_rules_round_trip_and_accept_bare_strings() -> None:
    document = {
        "version": 1,
        "defaults": {"deny": ["rm", {"pattern": "/usr/bin/git", "argPattern": "^push"}]},
        "agents": {
            "*": {"deny": [{"pattern": "curl", "id": "net", "reason": "no network", "x": 1}]}
        },
    }
    file = approvals_from_json(document)
    assert file.defaults.deny[0] == DenyRule(pattern="rm")
    assert file.defaults.deny[1].arg_pattern == "^push"
    assert file.agents["*"].deny[0].extra == {"x": 1}
    again = approvals_from_json(approvals_to_json(file))
    assert again == file
    assert approvals_to_json(file)["defaults"]["deny"][0] == {"pattern": "rm"}


@pytest.mark.parametrize(
    ("document", "json_path", "words"),
    [
        ({"defaults": {"deny": "rm"}}, "defaults.deny", "an array of deny rules"),
        ({"defaults": {"deny": [{"argPattern": "x"}]}}, "defaults.deny[0].pattern", "required"),
        ({"defaults": {"deny": [{"pattern": " "}]}}, "defaults.deny[0].pattern", "non-empty"),
        ({"agents": {"main": {"deny": [5]}}}, "agents.main.deny[0]", "an object"),
        (
            {"agents": {"main": {"deny": [{"pattern": "rm", "argPattern": "(?<n>x)"}]}}},
            "agents.main.deny[0].argPattern",
            "invalid argPattern",
        ),
        (
            {"agents": {"*": {"deny": [{"pattern": "/usr/bin/../rm"}]}}},
            "agents.*.deny[0].pattern",
            "invalid pattern",
        ),
        ({"deny": ["rm"]}, "deny", "belongs under 'defaults'"),
    ],
)
def test_a_bad_deny_rule_refuses_the_whole_file(
    document: dict[str, object], json_path: str, words: str
) -> None:
    with pytest.raises(ApprovalsFileError) as caught:
        loads_approvals(json.dumps({"version": 1, **document}), source="/x/exec-approvals.json")
    assert caught.value.json_path == json_path
    assert words in str(caught.value)
    assert "/x/exec-approvals.json" in str(caught.value)


def test_legacy_default_agent_rules_are_kept() -> None:
    document = {
        "version": 1,
        "agents": {"default": {"deny": ["rm"]}, "main": {"deny": ["curl"]}},
    }
    file = approvals_from_json(document)
    assert [r.pattern for r in file.agents["main"].deny] == ["curl", "rm"]


def test_a_grant_that_would_allow_the_command_loses_to_a_rule() -> None:
    # The worlds above hold such grants: without the rule they do allow the command.
    grant = Grant(id="g", pattern="*", session_key="s")
    agent = AgentPolicy(security=Security.ALLOWLIST, ask=Ask.OFF, grants=(grant,))
    file = ApprovalsFile(agents={"main": agent})
    assert judge(file, "env touch CANARY", now_ms=0, session_key="s").verdict is Verdict.ALLOW
    denied = attrs.evolve(agent, deny=(DenyRule(pattern="touch"),))
    verdict = judge(file.with_agent("main", denied), "env touch CANARY", now_ms=0, session_key="s")
    assert verdict.verdict is Verdict.DENY
