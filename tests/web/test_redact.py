"""Display redaction (web page, webhook payload, Slack message): properties and examples."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from openclaw_exec.adapters.web import MASK, looks_secret_name, redact_argv, redact_text

SECRET_NAMES = st.sampled_from(
    ["API_TOKEN", "GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "DB_PASSWORD", "OPENAI_API_KEY",
     "SLACK_SIGNING_SECRET", "session_id", "MY_PAT", "npm_config__auth", "PGPASSWORD"]
)  # fmt: skip
VALUES = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+_.", min_size=10)
WORDS = st.text("abcdefghijklmnopqrstuvwxyz/._", min_size=1, max_size=12)


@given(st.text(max_size=200))
def test_redaction_is_idempotent(text: str) -> None:
    once = redact_text(text)
    assert redact_text(once) == once


@given(SECRET_NAMES, VALUES, st.lists(WORDS, max_size=4))
def test_a_secret_assignment_never_shows_its_value(name: str, value: str, words: list[str]) -> None:
    assume(not any(value in word for word in words))  # else the value is shown as a plain word
    for shape in (f"{name}={value}", f"{name}='{value}'", f"--{name.lower()}={value}"):
        text = " ".join([shape, *words])
        shown = redact_text(text)
        assert value not in shown.replace(MASK, "\0"), (text, shown)
    argv = ["tool", f"--{name.lower().replace('_', '-')}", value, *words]
    assert value not in redact_argv(argv)


@given(st.lists(WORDS, min_size=1, max_size=6))
def test_plain_commands_are_shown_as_they_are(words: list[str]) -> None:
    text = " ".join(["ls", "-la", *words])
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("curl -H 'Authorization: Bearer abc.def' x", "curl -H 'Authorization: Bearer ••••' x"),
        ("curl -H 'X-Api-Key: k123' x", "curl -H 'X-Api-Key: ••••' x"),
        ("git clone https://bob:hunter2@example.com/r.git", "git clone https://bob:••••@example.com/r.git"),
        ("echo sk-abcdefghijklmnop1234", "echo ••••"),
        ("echo xoxb-1234567890-abcdef", "echo ••••"),
        ("mysql --password s3cr3t db", "mysql --password •••• db"),
        ("FOO=bar make", "FOO=bar make"),
        ("echo \u202egnp.exe", "echo \\u{202E}gnp.exe"),
    ],
)  # fmt: skip
def test_examples(text: str, shown: str) -> None:
    assert redact_text(text) == shown


def test_secret_names() -> None:
    assert looks_secret_name("GITHUB_TOKEN")
    assert looks_secret_name("--api-key")
    assert not looks_secret_name("PATH")
    assert not looks_secret_name("KEYBOARD_LAYOUT")
