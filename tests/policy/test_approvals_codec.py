"""Reading and writing exec-approvals.json documents: strict, lossless, clear errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given

from openclaw_exec import ApprovalsFileError
from openclaw_exec.policy import (
    AllowlistEntry,
    ApprovalsFile,
    Ask,
    Security,
    approvals_from_json,
    approvals_to_json,
    dumps_approvals,
    loads_approvals,
)
from openclaw_exec.testing import approvals_documents, approvals_files


@given(approvals_files())
def test_round_trip_model(file: ApprovalsFile) -> None:
    assert loads_approvals(dumps_approvals(file)) == file


@given(approvals_documents())
def test_round_trip_document(document: dict[str, Any]) -> None:
    assert approvals_to_json(approvals_from_json(document)) == document


def test_unknown_keys_are_preserved_everywhere() -> None:
    document = {
        "version": 1,
        "futureTopLevel": {"x": [1, 2]},
        "socket": {"path": "/s", "token": "t", "mode": "strict"},
        "defaults": {"security": "allowlist", "newKnob": True},
        "agents": {
            "main": {
                "ask": "always",
                "mcpTools": ["a"],
                "allowlist": [{"pattern": "/bin/ls", "argPattern": "^-l$", "future": 1}],
            }
        },
    }
    file = approvals_from_json(document)
    assert file.extra == {"futureTopLevel": {"x": [1, 2]}}
    assert file.agents["main"].allowlist[0].extra == {"future": 1}
    assert approvals_to_json(file) == document


def test_string_entries_become_pattern_objects() -> None:
    file = loads_approvals('{"version": 1, "agents": {"main": {"allowlist": ["/bin/ls"]}}}')
    assert file.agents["main"].allowlist == (AllowlistEntry(pattern="/bin/ls"),)


def test_written_like_openclaw() -> None:
    data = dumps_approvals(ApprovalsFile()).decode()
    assert data == '{\n  "version": 1,\n  "agents": {}\n}\n'


@pytest.mark.parametrize(
    ("text", "json_path", "fragment"),
    [
        ('{"version": 2}', "version", "expected 1, found 2"),
        ("{}", "version", "expected 1, found nothing"),
        ('{"version": "1"}', "version", 'found "1"'),
        ('{"version": true}', "version", "found true"),
        ('{"version": 1, "defaults": {"security": "Deny"}}', "defaults.security", '"Deny"'),
        ('{"version": 1, "defaults": {"ask": " always"}}', "defaults.ask", "on-miss"),
        ('{"version": 1, "defaults": {"askFallback": "bogus"}}', "defaults.askFallback", "bogus"),
        ('{"version": 1, "defaults": []}', "defaults", "expected an object"),
        ('{"version": 1, "agents": []}', "agents", "expected an object"),
        ('{"version": 1, "agents": {"main": 5}}', "agents.main", "found 5"),
        (
            '{"version": 1, "agents": {"main": {"autoAllowSkills": "yes"}}}',
            "agents.main.autoAllowSkills",
            "expected true or false",
        ),
        (
            '{"version": 1, "agents": {"main": {"allowlist": "x"}}}',
            "agents.main.allowlist",
            "expected an array",
        ),
        (
            '{"version": 1, "agents": {"main": {"allowlist": ["/a", "/b", "/c", {"id": "x"}]}}}',
            "agents.main.allowlist[3].pattern",
            "missing",
        ),
        (
            '{"version": 1, "agents": {"main": {"allowlist": ["/a", {"pattern": 7}]}}}',
            "agents.main.allowlist[1].pattern",
            "expected a string, found 7",
        ),
        (
            (
                '{"version": 1, "agents": {"ops": {"allowlist": '
                '[{"pattern": "/a", "lastUsedAt": 1.5}]}}}'
            ),
            "agents.ops.allowlist[0].lastUsedAt",
            "expected an integer",
        ),
        (
            '{"version": 1, "agents": {"a b": {"security": "x"}}}',
            'agents["a b"].security',
            "expected one of",
        ),
        ('{"version": 1, "socket": {"token": 5}}', "socket.token", "expected a string"),
        ('{"version": 1, "*": {"security": "full"}}', "*", "misplaced"),
        ('{"version": 1, "security": "full"}', "security", "belongs under 'defaults'"),
    ],
)
def test_malformed_documents_name_file_path_and_expectation(
    text: str, json_path: str, fragment: str
) -> None:
    with pytest.raises(ApprovalsFileError) as info:
        loads_approvals(text, source="/etc/openclaw/exec-approvals.json")
    error = info.value
    assert error.path == "/etc/openclaw/exec-approvals.json"
    assert error.json_path == json_path
    assert str(error).startswith(f"/etc/openclaw/exec-approvals.json: {json_path}: ")
    assert fragment in str(error)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"{", "invalid JSON"),
        (b'{"version": 1,}', "line 1 column 15"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[1, 2]", "must be a JSON object"),
        (b"null", "must be a JSON object"),
        (b"[" * 100_000, "invalid JSON"),
    ],
)
def test_unreadable_bytes(data: bytes, fragment: str) -> None:
    with pytest.raises(ApprovalsFileError, match=fragment):
        loads_approvals(data, source="f.json")


def test_legacy_default_is_read_as_main() -> None:
    file = loads_approvals(
        json.dumps(
            {
                "version": 1,
                "agents": {
                    "default": {"ask": "always", "security": "full", "allowlist": ["/a", "/B"]},
                    "main": {"security": "allowlist", "allowlist": ["/b"]},
                },
            }
        )
    )
    assert "default" not in file.agents
    main = file.agents["main"]
    assert (main.security, main.ask) == (Security.ALLOWLIST, Ask.ALWAYS)
    assert [e.pattern for e in main.allowlist] == ["/b", "/a"]


def test_legacy_default_alone_becomes_main() -> None:
    file = loads_approvals('{"version": 1, "agents": {"default": {"ask": "always"}}}')
    assert file.agents["main"].ask is Ask.ALWAYS


def test_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        loads_approvals("{}")
