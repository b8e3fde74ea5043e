"""Helpers shared by the danger-profile matchers."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from openclaw_exec.analysis._danger import (
    PathContext,
    options,
    protected_reason,
)

__all__ = ["Hit", "harmless_output", "local_path", "option_names", "protect"]

Hit = tuple[str, str]
"""A matcher's answer: ``(row key, detail)``."""


def protect(program_key: str, paths: Sequence[str], ctx: PathContext) -> Iterator[Hit]:
    """A hit with *program_key* for every protected path among *paths*."""
    for path in paths:
        reason = protected_reason(path, ctx)
        if reason is not None:
            yield program_key, reason


def harmless_output(value: str | None) -> bool:
    """Standard output and the null device: writing there is harmless."""
    return value in ("-", "/dev/null", "/dev/stdout", "/dev/stderr")


def option_names(tokens: Sequence[tuple[str, str, str | None]]) -> set[str]:
    """The names of the option tokens."""
    return {name for name, _ in options(tokens)}


def local_path(word: str) -> bool:
    """Whether an scp/rsync/docker operand is a local path (no ``host:`` before a ``/``)."""
    head = word.split("/", 1)[0]
    return ":" not in head
