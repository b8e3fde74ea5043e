"""Policy test files: parsed exactly, every error naming the file, the line and the JSON path."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openclaw_exec.policy import PolicyCase, PolicyTestFileError, Verdict, parse_policy_tests

GOOD = """\
# the build agent
{"command": "git status", "expect": "allow"}

{"command": "git push", "expect": "deny", "rule": "agents.*.deny[0]", "reason": "deny-rule"}
  {"command": "ls", "expect": "ask", "agent": "ops", "cwd": "/srv", "sessionKey": "cron:x", \
"nowMs": 5, "name": "n"}
"""


def test_a_good_file_is_read_with_line_numbers() -> None:
    cases = parse_policy_tests(GOOD, source="t.jsonl")
    assert cases == (
        PolicyCase(line=2, command="git status", expect=Verdict.ALLOW),
        PolicyCase(
            line=4,
            command="git push",
            expect=Verdict.DENY,
            rule="agents.*.deny[0]",
            reason="deny-rule",
        ),
        PolicyCase(
            line=5,
            command="ls",
            expect=Verdict.ASK,
            agent_id="ops",
            cwd="/srv",
            session_key="cron:x",
            now_ms=5,
            name="n",
        ),
    )


@pytest.mark.parametrize(
    ("line", "json_path", "words"),
    [
        ('{"command": "ls"}', "expect", "is required"),
        ('{"expect": "allow"}', "command", "is required"),
        ('{"command": "ls", "expect": "Allow"}', "expect", 'one of "allow"'),
        ('{"command": "ls", "expect": "allow", "expcet": "deny"}', "expcet", "unknown key"),
        ('{"command": "", "expect": "allow"}', "command", "non-empty"),
        ('{"command": 5, "expect": "allow"}', "command", "found 5"),
        ('{"command": "ls", "expect": "allow", "cwd": "src"}', "cwd", "absolute"),
        ('{"command": "ls", "expect": "allow", "nowMs": -1}', "nowMs", "milliseconds"),
        ('{"command": "ls", "expect": "allow", "nowMs": true}', "nowMs", "found true"),
        ('{"command": "ls", "expect": "allow", "rule": 3}', "rule", "JSON path"),
        ('["ls", "allow"]', "", "JSON object"),
        ('{"command": "ls", "expect": "allow"', "", "invalid JSON"),
    ],
)
def test_each_problem_names_file_line_and_path(line: str, json_path: str, words: str) -> None:
    text = '{"command": "true", "expect": "allow"}\n# comment\n' + line + "\n"
    with pytest.raises(PolicyTestFileError) as caught:
        parse_policy_tests(text, source="policy.jsonl")
    error = caught.value
    assert (error.path, error.line, error.json_path) == ("policy.jsonl", 3, json_path)
    assert words in str(error)
    prefix = "policy.jsonl:3" + (f": {json_path}" if json_path else "")
    assert str(error).startswith(prefix), str(error)


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_a_file_without_cases_is_an_error(text: str) -> None:
    with pytest.raises(PolicyTestFileError, match="no test case"):
        parse_policy_tests(text, source="empty.jsonl")


@given(st.text(max_size=200))
def test_any_text_is_read_or_refused_with_a_located_error(text: str) -> None:
    problem: PolicyTestFileError | None = None
    try:
        cases = parse_policy_tests(text, source="f")
    except PolicyTestFileError as error:
        problem = error
    if problem is None:
        assert cases
    else:
        assert problem.path == "f"
        assert problem.line is None or 1 <= problem.line <= len(text.splitlines())


@given(
    st.lists(
        st.fixed_dictionaries(
            {"command": st.text(min_size=1).filter(str.strip), "expect": st.sampled_from(Verdict)}
        ),
        min_size=1,
        max_size=5,
    )
)
def test_written_cases_read_back(cases: list[dict[str, object]]) -> None:
    text = "\n".join(json.dumps({**c, "expect": str(c["expect"])}) for c in cases)
    parsed = parse_policy_tests(text)
    assert [(c.command, c.expect) for c in parsed] == [(c["command"], c["expect"]) for c in cases]
