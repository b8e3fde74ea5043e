"""
Policy test files: commands with the verdict the policy must give them.

One JSON object per line (JSON Lines); blank lines and lines starting with ``#`` are
skipped. ``openclaw-exec test FILE`` checks each against the policy, the way Codex's
``execpolicy check`` and Rampart's ``test`` keep a policy under CI::

    # the build agent may read the repo, never push, and asks for the network
    {"command": "git status", "expect": "allow"}
    {"command": "git push origin main", "expect": "deny", "rule": "agents.*.deny[0]"}
    {"command": "curl https://example.com", "expect": "ask", "agent": "ops"}

Keys: ``command`` and ``expect`` (``allow``, ``ask`` or ``deny``) are required;
``rule`` (the deny rule's JSON path that must fire), ``reason`` (the verdict's reason
code), ``name``, ``agent``, ``cwd`` (absolute), ``sessionKey`` and ``nowMs`` (the clock
grants are judged at) are optional. An unknown key is an error (a misspelt ``expect``
must not pass silently), and every error names the file, the line and the JSON path.

Pure: parses text, reads nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

import attrs

from openclaw_exec.exceptions import PolicyError
from openclaw_exec.policy._verdict import Verdict

__all__ = ["PolicyCase", "PolicyTestFileError", "parse_policy_tests"]

_KEYS: Final = {
    "command": "the command text (a non-empty string)",
    "expect": 'one of "allow", "ask", "deny"',
    "rule": 'the JSON path of the deny rule that must fire, e.g. "agents.*.deny[0]"',
    "reason": 'the verdict\'s reason code, e.g. "allowlist-miss"',
    "name": "a name for the case (a string)",
    "agent": "the agent id (a non-empty string)",
    "cwd": "an absolute working folder",
    "sessionKey": "the session key grants are judged for (a string)",
    "nowMs": "the time grants are judged at, in milliseconds since the epoch",
}
MAX_CASES: Final = 10_000


class PolicyTestFileError(PolicyError):
    """
    A policy test file could not be read.

    Attributes:
        path: The file, or ``None``.
        line: The 1-based line, or ``None`` for the whole file.
        json_path: Where in that line's object (``expect``), or empty.
    """

    def __init__(
        self, message: str, *, path: str | None, line: int | None, json_path: str = ""
    ) -> None:
        self.path = path
        self.line = line
        self.json_path = json_path
        where = path if path is not None else "<tests>"
        if line is not None:
            where += f":{line}"
        if json_path:
            where += f": {json_path}"
        super().__init__(f"{where}: {message}")


@attrs.frozen(kw_only=True)
class PolicyCase:
    """
    One command and the verdict it must get.

    Attributes:
        line: Where it is in the file (1-based).
        command: The command text.
        expect: The verdict it must get.
        rule: The deny rule (its JSON path) that must fire, when given.
        reason: The reason code the verdict must have, when given.
        name: A name for reports.
        agent_id: The agent (``None``: the command line's choice).
        cwd: The working folder (``None``: the command line's choice).
        session_key: The session key (``None``: none).
        now_ms: The clock for grants (``None``: now).
    """

    line: int
    command: str
    expect: Verdict
    rule: str | None = None
    reason: str | None = None
    name: str | None = None
    agent_id: str | None = None
    cwd: str | None = None
    session_key: str | None = None
    now_ms: int | None = None


def _describe(value: object) -> str:
    text = json.dumps(value) if not isinstance(value, (dict, list)) else type(value).__name__
    return text if len(text) <= 40 else text[:37] + "..."


def _case(obj: Mapping[str, Any], line: int, source: str | None) -> PolicyCase:
    def fail(key: str, found: object | None = None, missing: bool = False) -> PolicyTestFileError:
        what = "is required" if missing else f"must be {_KEYS[key]}, found {_describe(found)}"
        return PolicyTestFileError(what, path=source, line=line, json_path=key)

    for key in obj:
        if key not in _KEYS:
            known = ", ".join(sorted(_KEYS))
            raise PolicyTestFileError(
                f"unknown key (the keys are {known})", path=source, line=line, json_path=key
            )
    strings: dict[str, str | None] = {}
    for key in ("command", "rule", "reason", "name", "agent", "cwd", "sessionKey"):
        value = obj.get(key)
        if value is None and key == "command":
            raise fail(key, missing=True)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise fail(key, value)
        strings[key] = value
    cwd = strings["cwd"]
    if cwd is not None and not cwd.startswith("/"):
        raise fail("cwd", cwd)
    if "expect" not in obj:
        raise fail("expect", missing=True)
    expect = obj["expect"]
    if not isinstance(expect, str) or expect not in {v.value for v in Verdict}:
        raise fail("expect", expect)
    now = obj.get("nowMs")
    if now is not None and (isinstance(now, bool) or not isinstance(now, int) or now < 0):
        raise fail("nowMs", now)
    command = strings["command"]
    assert command is not None
    return PolicyCase(
        line=line,
        command=command,
        expect=Verdict(expect),
        rule=strings["rule"],
        reason=strings["reason"],
        name=strings["name"],
        agent_id=strings["agent"],
        cwd=cwd,
        session_key=strings["sessionKey"],
        now_ms=now,
    )


def parse_policy_tests(text: str, *, source: str | None = None) -> tuple[PolicyCase, ...]:
    """
    Read a policy test file (JSON Lines; ``#`` comments and blank lines skipped).

    Raises:
        PolicyTestFileError: Naming *source*, the line and the JSON path of the first
            problem; also for a file with no case at all (a test that checks nothing
            must not pass).
    """
    cases: list[PolicyCase] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            obj = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise PolicyTestFileError(
                f"invalid JSON: {exc.msg} at column {exc.colno}", path=source, line=number
            ) from None
        except RecursionError:
            raise PolicyTestFileError(
                "invalid JSON: nested too deeply", path=source, line=number
            ) from None
        if not isinstance(obj, dict):
            raise PolicyTestFileError(
                f'each line must be a JSON object such as {{"command": "ls", "expect": "allow"}},'
                f" found {_describe(obj)}",
                path=source,
                line=number,
            )
        cases.append(_case(obj, number, source))
        if len(cases) > MAX_CASES:
            raise PolicyTestFileError(f"more than {MAX_CASES} cases", path=source, line=number)
    if not cases:
        raise PolicyTestFileError(
            'no test case (one JSON object per line: {"command": "ls", "expect": "allow"})',
            path=source,
            line=None,
        )
    return tuple(cases)
