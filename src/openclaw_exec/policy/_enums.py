"""The policy knobs as enums whose values are OpenClaw's exact spellings."""

from __future__ import annotations

import enum
from typing import Self

from openclaw_exec.exceptions import PolicyError

__all__ = ["Ask", "SandboxMode", "Security"]


class _OrderedKnob(enum.StrEnum):
    """
    A string enum whose members are ordered by rank (declaration order).

    Members *are* strings (their OpenClaw spelling), so they serialise as is. Do not
    compare them with ``<``: that compares spellings. Use :attr:`rank`.
    """

    @property
    def rank(self) -> int:
        """Position in declaration order: 0 is the first member."""
        return _RANKS[type(self)][self]

    @classmethod
    def parse(cls, value: object, *, what: str | None = None) -> Self:
        """
        Parse a knob from user input with OpenClaw's tolerance.

        Accepts a member, or a string in any case with surrounding whitespace
        (OpenClaw's ``normalizeExecSecurity`` / ``normalizeExecAsk``).

        Raises:
            PolicyError: For anything else, naming the bad value and the allowed ones.
        """
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            text = value.strip().lower()
            for member in cls:
                if member.value == text:
                    return member
        allowed = ", ".join(m.value for m in cls)
        label = what or cls.__name__.lower()
        raise PolicyError(f"invalid {label} {value!r}: allowed values are {allowed}")

    @classmethod
    def coerce(cls, value: object, *, what: str | None = None) -> Self:
        """
        Accept a member or its exact spelling (``"on-miss"``); raise on anything else.

        What every public function taking a knob applies to its argument: members are
        strings, so a plain string would otherwise slip through and compare unequal (by
        identity) to every member, silently meaning the loosest answer.

        Raises:
            PolicyError: For anything else (other case, whitespace, other types), naming
                the bad value and the allowed ones.
        """
        if isinstance(value, cls):
            return value
        member = cls.parse_exact(value)
        if member is None:
            allowed = ", ".join(m.value for m in cls)
            label = what or cls.__name__.lower()
            raise PolicyError(f"invalid {label} {value!r}: allowed values are {allowed}")
        return member

    @classmethod
    def parse_exact(cls, value: object) -> Self | None:
        """Return the member whose value is exactly *value* (no trimming), else ``None``."""
        if isinstance(value, str) and not isinstance(value, cls):
            for member in cls:
                if member.value == value:
                    return member
        elif isinstance(value, cls):
            return value
        return None


class Security(_OrderedKnob):
    """What host exec may do at all, from strictest to loosest."""

    DENY = "deny"  # no host exec
    ALLOWLIST = "allowlist"  # only commands every segment of which is allowlisted
    FULL = "full"  # anything


class Ask(_OrderedKnob):
    """When a human is asked, from least to most prompting."""

    OFF = "off"  # never prompt through ordinary policy
    ON_MISS = "on-miss"  # prompt when an allowlist check misses
    ALWAYS = "always"  # prompt for every command


class SandboxMode(_OrderedKnob):
    """Whether an approved command runs inside a kernel sandbox, from loosest to strictest."""

    OFF = "off"  # run as the host process would
    PREFERRED = "preferred"  # confine when a working backend exists, else run unconfined
    REQUIRED = "required"  # confine, or run nothing


_RANKS: dict[type[_OrderedKnob], dict[_OrderedKnob, int]] = {
    knob: {member: index for index, member in enumerate(knob)}
    for knob in (Security, Ask, SandboxMode)
}
