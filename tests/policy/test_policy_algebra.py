"""The laws of "the stricter wins", proved with hypothesis."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openclaw_exec import PolicyError
from openclaw_exec.policy import (
    MOST_PERMISSIVE,
    PRESET_OPENCLAW_2026_4_1,
    PRESET_OPENCLAW_LATEST,
    Ask,
    ExecPolicy,
    SandboxMode,
    Security,
    max_ask,
    max_sandbox,
    min_security,
    stricter,
)
from openclaw_exec.testing import asks, exec_policies, securities


def not_looser(result: ExecPolicy, other: ExecPolicy) -> bool:
    return (
        result.security.rank <= other.security.rank
        and result.ask.rank >= other.ask.rank
        and result.ask_fallback.rank <= other.ask_fallback.rank
        and (not result.auto_allow_skills or other.auto_allow_skills)
        and result.sandbox.rank >= other.sandbox.rank
    )


@given(exec_policies(), exec_policies())
def test_commutative(a: ExecPolicy, b: ExecPolicy) -> None:
    assert stricter(a, b) == stricter(b, a)


@given(exec_policies(), exec_policies(), exec_policies())
def test_associative(a: ExecPolicy, b: ExecPolicy, c: ExecPolicy) -> None:
    assert stricter(stricter(a, b), c) == stricter(a, stricter(b, c))


@given(exec_policies(normalized=True))
def test_idempotent_on_normalized(a: ExecPolicy) -> None:
    assert stricter(a, a) == a


@given(exec_policies())
def test_idempotent_up_to_normalization(a: ExecPolicy) -> None:
    assert stricter(a, a) == a.normalized()
    assert stricter(stricter(a, a), a) == stricter(a, a)


@given(exec_policies(normalized=True))
def test_most_permissive_is_identity(a: ExecPolicy) -> None:
    assert stricter(a, MOST_PERMISSIVE) == a
    assert stricter(MOST_PERMISSIVE, a) == a


@given(exec_policies(), exec_policies())
def test_never_looser_than_either_input(a: ExecPolicy, b: ExecPolicy) -> None:
    result = stricter(a, b)
    assert not_looser(result, a)
    assert not_looser(result, b)
    assert result.ask_fallback.rank <= result.security.rank


@given(exec_policies())
def test_normalized_never_loosens(a: ExecPolicy) -> None:
    n = a.normalized()
    assert not_looser(n, a)
    assert n.ask_fallback.rank <= n.security.rank
    assert n.normalized() is n


@given(securities(), securities())
def test_min_security_is_the_lower(a: Security, b: Security) -> None:
    assert min_security(a, b).rank == min(a.rank, b.rank)


@given(asks(), asks())
def test_max_ask_is_the_higher(a: Ask, b: Ask) -> None:
    assert max_ask(a, b).rank == max(a.rank, b.rank)


@given(st.sampled_from(SandboxMode), st.sampled_from(SandboxMode))
def test_max_sandbox_is_the_stricter(a: SandboxMode, b: SandboxMode) -> None:
    assert max_sandbox(a, b).rank == max(a.rank, b.rank)
    assert [m.value for m in SandboxMode] == ["off", "preferred", "required"]


def test_defaults_are_the_safe_ones() -> None:
    policy = ExecPolicy()
    assert (policy.security, policy.ask, policy.ask_fallback, policy.auto_allow_skills) == (
        Security.DENY,
        Ask.ON_MISS,
        Security.DENY,
        False,
    )
    assert policy == PRESET_OPENCLAW_2026_4_1
    assert (PRESET_OPENCLAW_LATEST.security, PRESET_OPENCLAW_LATEST.ask) == (
        Security.FULL,
        Ask.OFF,
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(" FULL ", Security.FULL), ("Deny", Security.DENY), ("allowlist\n", Security.ALLOWLIST)],
)
def test_tolerant_parsing(raw: str, expected: Security) -> None:
    assert Security.parse(raw) is expected
    assert ExecPolicy(security=raw).security is expected


@pytest.mark.parametrize("raw", ["bogus", "", "on miss", None, 3, "full-ish"])
def test_bad_values_name_the_value_and_the_allowed_ones(raw: object) -> None:
    with pytest.raises(PolicyError) as info:
        ExecPolicy(ask=raw)
    message = str(info.value)
    assert repr(raw) in message
    assert "off, on-miss, always" in message


def test_enum_values_are_openclaw_spellings() -> None:
    assert [m.value for m in Security] == ["deny", "allowlist", "full"]
    assert [m.value for m in Ask] == ["off", "on-miss", "always"]
    assert str(Ask.ON_MISS) == "on-miss"


def test_auto_allow_skills_must_be_bool() -> None:
    with pytest.raises(TypeError):
        ExecPolicy(auto_allow_skills="yes")  # type: ignore[arg-type]
