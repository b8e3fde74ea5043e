"""
Every public function that takes a knob accepts the member or its exact spelling, and
raises on anything else.

Before: ``requires_approval(ask="always", security="full", ...)`` compared with ``is`` and
answered False ("no approval needed") for every string input.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openclaw_exec import PolicyError
from openclaw_exec.policy import (
    AgentPolicy,
    Ask,
    ExecPolicy,
    PolicyDefaults,
    SandboxMode,
    Security,
    decide_verdict,
    fallback_verdict,
    max_ask,
    max_sandbox,
    min_security,
    requires_approval,
)

flags = st.booleans()


def test_requires_approval_with_strings_is_not_silently_no() -> None:
    # The reported case: ask=always must prompt whatever the other inputs are.
    assert requires_approval(
        ask="always", security="full", analysis_ok=True, allowlist_satisfied=True
    )
    assert requires_approval(
        ask="on-miss", security="allowlist", analysis_ok=True, allowlist_satisfied=False
    )


@given(st.sampled_from(Ask), st.sampled_from(Security), flags, flags, flags)
def test_requires_approval_string_and_enum_agree(
    ask: Ask, security: Security, ok: bool, satisfied: bool, durable: bool
) -> None:
    as_enum = requires_approval(
        ask=ask,
        security=security,
        analysis_ok=ok,
        allowlist_satisfied=satisfied,
        durable_approval_satisfied=durable,
    )
    as_text = requires_approval(
        ask=ask.value,
        security=security.value,
        analysis_ok=ok,
        allowlist_satisfied=satisfied,
        durable_approval_satisfied=durable,
    )
    assert as_enum == as_text


@given(
    st.sampled_from(Security), st.sampled_from(Security), st.sampled_from(Ask), st.sampled_from(Ask)
)
def test_min_max_string_and_enum_agree(s1: Security, s2: Security, a1: Ask, a2: Ask) -> None:
    for m1 in SandboxMode:
        for m2 in SandboxMode:
            assert max_sandbox(m1.value, m2.value) is max_sandbox(m1, m2)
    assert min_security(s1.value, s2.value) is min_security(s1, s2)
    assert min_security(s1, s2.value) is min_security(s1, s2)
    assert max_ask(a1.value, a2.value) is max_ask(a1, a2)
    assert max_ask(a1.value, a2) is max_ask(a1, a2)


@given(
    st.tuples(st.sampled_from(Security), st.sampled_from(Ask), st.sampled_from(Security)),
    st.tuples(flags, flags, flags),
)
def test_policy_objects_string_and_enum_agree(
    knobs: tuple[Security, Ask, Security], inputs: tuple[bool, bool, bool]
) -> None:
    security, ask, fallback = knobs
    ok, satisfied, durable = inputs
    by_enum = ExecPolicy(security=security, ask=ask, ask_fallback=fallback)
    by_text = ExecPolicy(security=security.value, ask=ask.value, ask_fallback=fallback.value)
    assert by_enum == by_text
    assert decide_verdict(
        by_text, analysis_ok=ok, allowlist_satisfied=satisfied, durable_approval_satisfied=durable
    ) == decide_verdict(
        by_enum, analysis_ok=ok, allowlist_satisfied=satisfied, durable_approval_satisfied=durable
    )
    assert fallback_verdict(by_text, analysis_ok=ok, allowlist_satisfied=satisfied) == (
        fallback_verdict(by_enum, analysis_ok=ok, allowlist_satisfied=satisfied)
    )
    for cls in (PolicyDefaults, AgentPolicy):
        assert cls(security=security.value, ask=ask.value, ask_fallback=fallback.value) == cls(
            security=security, ask=ask, ask_fallback=fallback
        )
        assert cls(security=security.value).security is security


_KNOB_VALUES = {m.value for k in (Security, Ask, SandboxMode) for m in k}

#: Every public entry point that takes one knob, called with *value* in that place.
_CALLS: dict[str, Callable[[Any], object]] = {
    "requires_approval(ask)": lambda v: requires_approval(
        ask=v, security=Security.ALLOWLIST, analysis_ok=True, allowlist_satisfied=True
    ),
    "requires_approval(security)": lambda v: requires_approval(
        ask=Ask.ON_MISS, security=v, analysis_ok=True, allowlist_satisfied=True
    ),
    "min_security": lambda v: min_security(v, Security.FULL),
    "max_ask": lambda v: max_ask(Ask.OFF, v),
    "max_sandbox": lambda v: max_sandbox(v, SandboxMode.OFF),
    "PolicyDefaults(sandbox)": lambda v: PolicyDefaults(sandbox=v),
    "AgentPolicy(sandbox)": lambda v: AgentPolicy(sandbox=v),
    "ExecPolicy(sandbox)": lambda v: ExecPolicy(sandbox=v),
    "PolicyDefaults(security)": lambda v: PolicyDefaults(security=v),
    "PolicyDefaults(ask)": lambda v: PolicyDefaults(ask=v),
    "PolicyDefaults(ask_fallback)": lambda v: PolicyDefaults(ask_fallback=v),
    "AgentPolicy(security)": lambda v: AgentPolicy(security=v),
    "AgentPolicy(ask)": lambda v: AgentPolicy(ask=v),
    "AgentPolicy(ask_fallback)": lambda v: AgentPolicy(ask_fallback=v),
    "ExecPolicy(security)": lambda v: ExecPolicy(security=v),
    "ExecPolicy(ask)": lambda v: ExecPolicy(ask=v),
}

_NOT_KNOBS = st.one_of(
    st.text(max_size=12).filter(lambda t: t.strip().lower() not in _KNOB_VALUES),
    st.integers(),
    st.booleans(),
    st.just(b"always"),
    st.just(["full"]),
)


@pytest.mark.parametrize("name", sorted(_CALLS))
@given(value=_NOT_KNOBS)
def test_anything_else_raises(name: str, value: object) -> None:
    with pytest.raises(PolicyError):
        _CALLS[name](value)


@pytest.mark.parametrize("name", sorted(n for n in _CALLS if not n.startswith("ExecPolicy")))
@pytest.mark.parametrize("spelling", ["ALWAYS", " full", "On-Miss", "deny\n", "Required"])
def test_near_spellings_raise_outside_execpolicy(name: str, spelling: str) -> None:
    # Only ExecPolicy keeps OpenClaw's documented tolerance (case, whitespace); the
    # functions take the exact spelling, so a typo is an error, not a quiet default.
    with pytest.raises(PolicyError):
        _CALLS[name](spelling)


@pytest.mark.parametrize(
    "flag", ["analysis_ok", "allowlist_satisfied", "durable_approval_satisfied"]
)
@pytest.mark.parametrize("value", ["false", 0, None, [], "yes"])
def test_flags_must_be_bools(flag: str, value: object) -> None:
    args: dict[str, Any] = {
        "ask": Ask.ON_MISS,
        "security": Security.ALLOWLIST,
        "analysis_ok": True,
        "allowlist_satisfied": True,
    }
    args[flag] = value
    with pytest.raises(TypeError):
        requires_approval(**args)
    with pytest.raises(TypeError):
        decide_verdict(
            ExecPolicy(), **{k: v for k, v in args.items() if k not in ("ask", "security")}
        )


def test_verdict_functions_want_a_policy_and_trigger_names() -> None:
    with pytest.raises(TypeError):
        decide_verdict({"security": "full"}, analysis_ok=True, allowlist_satisfied=True)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        fallback_verdict("full", analysis_ok=True, allowlist_satisfied=True)  # type: ignore[arg-type]
    with pytest.raises(TypeError):  # would have been 18 one-letter triggers
        decide_verdict(
            ExecPolicy(security="full"),
            analysis_ok=True,
            allowlist_satisfied=True,
            force_ask="strict-inline-eval",
        )
