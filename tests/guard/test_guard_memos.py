"""
The guard's two memos against the work they skip (differential tests).

* The policy resolution is reused for the same parsed file object, agent, request,
  session and preset; it must equal :func:`resolve_policy` done afresh for any file and
  request, whatever was resolved before.
* The scrub of ``os.environ`` is reused while ``os.environ`` is unchanged; every set,
  unset or changed variable is seen, and what it hands out is a copy.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openclaw_exec.analysis import plan_exec_env, sanitize_inherited_env
from openclaw_exec.guard import ExecGuard, exec_environment
from openclaw_exec.policy import ApprovalsFile, ExecPolicy, resolve_policy
from openclaw_exec.testing import agent_ids, approvals_files, exec_policies

_GUARD = ExecGuard(approvals=Path("/nonexistent/exec-approvals.json"))
_sessions = st.none() | st.sampled_from(["s1", "s2"])
_requests = st.none() | exec_policies()


@given(
    st.lists(
        st.tuples(approvals_files(extensions=True), st.none() | agent_ids(), _requests, _sessions),
        min_size=1,
        max_size=4,
    ),
    st.data(),
)
def test_the_policy_memo_gives_what_a_fresh_resolution_gives(
    calls: list[tuple[ApprovalsFile, str | None, ExecPolicy | None, str | None]],
    data: st.DataObject,
) -> None:
    for file, agent, requested, session in calls:
        # Each file asked twice in a row (the second from the memo), then maybe again
        # with another agent or request on the same object.
        for _ in range(2):
            got = _GUARD._resolve(file, agent, requested, 1_000, session)
            assert got == resolve_policy(
                file,
                agent_id=agent,
                requested=requested,
                preset=_GUARD.preset,
                now_ms=1_000,
                session_key=session,
            )
        other = data.draw(st.none() | agent_ids())
        got = _GUARD._resolve(file, other, requested, 1_000, session)
        assert got == resolve_policy(
            file,
            agent_id=other,
            requested=requested,
            preset=_GUARD.preset,
            now_ms=1_000,
            session_key=session,
        )


def _fresh() -> tuple[dict[str, str], tuple[str, ...], tuple[str, ...]]:
    base, stripped = sanitize_inherited_env(dict(os.environ))
    planned = plan_exec_env(base, None, stripped=stripped)
    return dict(planned.env), planned.stripped, planned.blocked


def _now() -> tuple[dict[str, str], tuple[str, ...], tuple[str, ...]]:
    planned = exec_environment(None)
    return dict(planned.env), planned.stripped, planned.blocked


def test_the_host_env_memo_sees_every_change(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _now() == _fresh()
    assert _now() == _fresh()  # from the memo
    steps = [
        ("set", "OPENCLAW_MEMO_TEST", "1"),
        ("set", "LD_PRELOAD", "/tmp/evil.so"),  # stripped: must show up in stripped
        ("set", "OPENCLAW_MEMO_TEST", "2"),  # same key, same length, another value
        ("set", "PATH", "/evil:" + os.environ.get("PATH", "")),
        ("del", "LD_PRELOAD", ""),
        ("set", "GIT_PROTOCOL_FROM_USER", "1"),  # rewritten, not stripped
        ("del", "OPENCLAW_MEMO_TEST", ""),
    ]
    for action, key, value in steps:
        if action == "set":
            monkeypatch.setenv(key, value)
        else:
            monkeypatch.delenv(key, raising=False)
        assert _now() == _fresh(), (action, key)
        assert _now() == _fresh(), (action, key)
    assert "LD_PRELOAD" not in exec_environment(None).env


def test_the_host_env_memo_hands_out_copies() -> None:
    first = exec_environment(None)
    assert isinstance(first.base, dict)
    first.base["LD_PRELOAD"] = "/tmp/evil.so"  # a caller scribbling on its copy
    assert isinstance(first.env, dict)
    first.env["LD_PRELOAD"] = "/tmp/evil.so"
    second = exec_environment(None)
    assert "LD_PRELOAD" not in second.env
    assert "LD_PRELOAD" not in second.base


_outcome_changes = st.fixed_dictionaries(
    {},
    optional={
        "allowed": st.booleans(),
        "reason": st.text(max_size=5),
        "message": st.text(max_size=5),
        "cwd": st.none() | st.text(max_size=5),
        "approval_id": st.none() | st.text(max_size=5),
        "no_route": st.booleans(),
        "persisted": st.lists(st.text(max_size=3), max_size=2).map(tuple),
        "sandbox": st.none() | st.text(max_size=5),
        "sandbox_detail": st.text(max_size=5),
        "env_stripped": st.lists(st.text(max_size=3), max_size=2).map(tuple),
        "grants": st.lists(st.text(max_size=3), max_size=2).map(tuple),
    },
)


@given(_outcome_changes, _outcome_changes)
def test_outcome_replace_and_build_are_evolve_and_asdict(
    first: dict[str, Any], second: dict[str, Any]
) -> None:
    import attrs  # noqa: PLC0415

    from openclaw_exec._guard_values import _Outcome  # noqa: PLC0415
    from openclaw_exec.audit import chain_record  # noqa: PLC0415
    from openclaw_exec.guard import Authorization  # noqa: PLC0415

    base = _Outcome(command="true", cwd="/", agent_id=None)
    fast = base.replace(**first).replace(**second)
    slow = attrs.evolve(attrs.evolve(base, **first), **second)
    assert fast == slow
    assert attrs.asdict(fast, recurse=False) == attrs.asdict(slow, recurse=False)
    record = chain_record(None, ts_ms=1, command="true", allowed=True, reason="r")
    built = fast.build(audit=record)
    assert built == Authorization(**attrs.asdict(slow, recurse=False))
    assert built.audit is record
    assert fast.build().audit is None
