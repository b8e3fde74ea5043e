r"""
Display redaction of commands: what approvers are shown instead of secrets.

Shared by the web page, the webhook payload and the Slack message. Display-only: an approval
still binds the exact plan, so a human approves what runs, with secret-looking values shown
as ``••••`` (their length is not shown) and invisible characters as ``\u{XXXX}`` escapes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from openclaw_exec.protocol import sanitize_display_text

__all__ = ["MASK", "looks_secret_name", "redact_argv", "redact_text"]

MASK = "••••"
"""What a secret is replaced with (its length is not shown)."""

_SECRET_NAME = re.compile(
    r"pass(word|wd|phrase)?|secret|token|api[_-]?key|apikey|private[_-]?key|access[_-]?key"
    r"|credential|cookie|session[_-]?id|signature|auth|bearer|(^|[_-])(key|pat|pw|pwd)($|[_-])",
    re.IGNORECASE,
)
# NAME=value at a word start (env assignments, `--name=value`, `name=value` arguments).
_ASSIGNMENT = re.compile(
    r"(?P<name>(?<![\w-])(?:--?)?[A-Za-z_][\w.-]*)=(?P<value>'[^']*'|\"(?:[^\"\\]|\\.)*\"|[^\s;&|]*)"
)
# `--token VALUE` / `--password 'VALUE'` (a secret-named flag, then its value).
_FLAG_VALUE = re.compile(
    r"(?P<flag>(?<![\w-])--?[A-Za-z][\w-]*)(?P<gap>\s+)(?P<value>'[^']*'|\"(?:[^\"\\]|\\.)*\"|[^\s;&|'\"-][^\s;&|]*)"
)
# HTTP credentials in a header argument.
_HEADER = re.compile(
    r"(?P<head>\b(?:proxy-)?authorization\s*:\s*(?:bearer|basic|token|digest)?\s*|"
    r"\b(?:x-[\w-]*(?:key|token|secret)|cookie)\s*:\s*)(?P<value>[^\s'\"]+)",
    re.IGNORECASE,
)
# user:password@ in a URL.
_URL_CREDENTIALS = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^\s/:@]+:)(?P<value>[^\s/@]+)@")
# Well-known token formats, wherever they appear.
_KNOWN_TOKENS = re.compile(
    r"\b(?:sk-[A-Za-z0-9_-]{16,}|sk_(?:live|test)_[A-Za-z0-9]{16,}|gh[pousr]_[A-Za-z0-9]{20,}"
    r"|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{16,}|xox[abprs]-[A-Za-z0-9-]{10,}"
    r"|AKIA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{30,}|eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+)"
)


def looks_secret_name(name: str) -> bool:
    """Whether an environment variable, option or field *name* suggests a secret value."""
    return bool(_SECRET_NAME.search(name.lstrip("-")))


def redact_text(text: str) -> str:
    """
    *text* with secret-looking values replaced by :data:`MASK`, invisible characters escaped.

    Replaced: values of secret-named assignments and options (``API_TOKEN=…``,
    ``--password=…``, ``--token …``), HTTP credentials (``Authorization: Bearer …``,
    ``X-Api-Key: …``, ``Cookie: …``), URL passwords (``https://user:…@``) and well-known
    token formats (``sk-…``, ``ghp_…``, ``xoxb-…``, ``AKIA…``, JWTs, …).
    """

    def assignment(match: re.Match[str]) -> str:
        if looks_secret_name(match["name"]) and match["value"]:
            return f"{match['name']}={MASK}"
        return match[0]

    def flag(match: re.Match[str]) -> str:
        if looks_secret_name(match["flag"]):
            return f"{match['flag']}{match['gap']}{MASK}"
        return match[0]

    text = _KNOWN_TOKENS.sub(MASK, text)
    text = _HEADER.sub(lambda m: f"{m['head']}{MASK}", text)
    text = _URL_CREDENTIALS.sub(lambda m: f"{m['head']}{MASK}@", text)
    text = _ASSIGNMENT.sub(assignment, text)
    text = _FLAG_VALUE.sub(flag, text)
    return sanitize_display_text(text)


def redact_argv(argv: Sequence[str]) -> list[str]:
    """*argv* redacted word by word; the word after a secret-named option is masked."""
    out: list[str] = []
    mask_next = False
    for word in argv:
        if mask_next:
            out.append(MASK)
            mask_next = False
            continue
        out.append(redact_text(word))
        mask_next = word.startswith("-") and "=" not in word and looks_secret_name(word)
    return out
