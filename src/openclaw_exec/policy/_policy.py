"""
``ExecPolicy`` and "the stricter wins".

Theory of operation: a policy is four knobs. Two layers (what the agent requests and
what the host's approvals file allows) are combined field by field so that the result
is never looser than either layer. :func:`stricter` is that combination; it is a
commutative, associative, idempotent operation with :data:`MOST_PERMISSIVE` as its
identity (on normalised policies), which the test suite proves with hypothesis.
"""

from __future__ import annotations

import enum
from typing import Final

import attrs

from openclaw_exec.exceptions import PolicyError
from openclaw_exec.policy._enums import Ask, SandboxMode, Security

__all__ = [
    "MOST_PERMISSIVE",
    "PRESET_OPENCLAW_2026_4_1",
    "PRESET_OPENCLAW_LATEST",
    "ExecPolicy",
    "Preset",
    "max_ask",
    "max_sandbox",
    "min_security",
    "stricter",
]


def min_security(a: Security | str, b: Security | str) -> Security:
    """
    Return the stricter security (deny < allowlist < full), like OpenClaw's ``minSecurity``.

    Members or their exact spellings; anything else raises :class:`~openclaw_exec.PolicyError`.
    """
    first, second = Security.coerce(a, what="security"), Security.coerce(b, what="security")
    return first if first.rank <= second.rank else second


def max_ask(a: Ask | str, b: Ask | str) -> Ask:
    """
    Return the more prompting ask (off < on-miss < always), like OpenClaw's ``maxAsk``.

    Members or their exact spellings; anything else raises :class:`~openclaw_exec.PolicyError`.
    """
    first, second = Ask.coerce(a, what="ask"), Ask.coerce(b, what="ask")
    return first if first.rank >= second.rank else second


def max_sandbox(a: SandboxMode | str, b: SandboxMode | str) -> SandboxMode:
    """
    Return the stricter sandbox mode (off < preferred < required).

    Members or their exact spellings; anything else raises :class:`~openclaw_exec.PolicyError`.
    """
    first = SandboxMode.coerce(a, what="sandbox")
    second = SandboxMode.coerce(b, what="sandbox")
    return first if first.rank >= second.rank else second


def _to_security(value: object) -> Security:
    return Security.parse(value, what="security")


def _to_ask(value: object) -> Ask:
    return Ask.parse(value, what="ask")


def _to_ask_fallback(value: object) -> Security:
    return Security.parse(value, what="askFallback")


def _to_sandbox(value: object) -> SandboxMode:
    return SandboxMode.parse(value, what="sandbox")


@attrs.frozen(kw_only=True)
class ExecPolicy:
    """
    The four knobs that decide what host exec may do.

    The defaults are the safe ones, equal to OpenClaw 2026.4.1's approvals-file
    defaults: ``deny`` / ``on-miss`` / ``deny`` / no skill auto-allow.

    Args:
        security: What may run at all.
        ask: When a human is asked.
        ask_fallback: What applies when a prompt is needed but nobody answers
            (timeout or no approver route). Only meaningful up to *security*; see
            :meth:`normalized`.
        auto_allow_skills: Treat executables registered by skills as allowlisted.
        sandbox: Whether what runs is confined by a kernel sandbox (this library's
            knob; OpenClaw has none): ``off``, ``preferred`` (when a backend works) or
            ``required`` (nothing runs unconfined). See :mod:`openclaw_exec.sandbox`.

    Strings are accepted with OpenClaw's tolerated spellings (case, whitespace);
    anything else raises :class:`~openclaw_exec.PolicyError` naming the bad value.
    """

    security: Security = attrs.field(default=Security.DENY, converter=_to_security)
    ask: Ask = attrs.field(default=Ask.ON_MISS, converter=_to_ask)
    ask_fallback: Security = attrs.field(default=Security.DENY, converter=_to_ask_fallback)
    auto_allow_skills: bool = attrs.field(
        default=False, validator=attrs.validators.instance_of(bool)
    )
    sandbox: SandboxMode = attrs.field(default=SandboxMode.OFF, converter=_to_sandbox)

    def normalized(self) -> ExecPolicy:
        """
        Return the policy with ``ask_fallback`` clamped to ``security``.

        A fallback looser than the policy itself would let an *unanswered* prompt do
        more than an answered one; OpenClaw 2026.4.1 allowed that (a file fallback of
        ``full`` ran anything on timeout under ``allowlist``), later builds clamp.
        """
        fallback = min_security(self.ask_fallback, self.security)
        if fallback is self.ask_fallback:
            return self
        return attrs.evolve(self, ask_fallback=fallback)

    def stricter(self, other: ExecPolicy) -> ExecPolicy:
        """Return ``stricter(self, other)``."""
        return stricter(self, other)


def stricter(a: ExecPolicy, b: ExecPolicy) -> ExecPolicy:
    """
    Combine two policies so that the stricter wins in every field.

    security is the lower, ask the higher, ask_fallback the lower and then never
    above the resulting security, skills are auto-allowed only if both allow it, and
    the sandbox mode is the stricter.
    The result is never looser than either input in any field.
    """
    security = min_security(a.security, b.security)
    return ExecPolicy(
        security=security,
        ask=max_ask(a.ask, b.ask),
        ask_fallback=min_security(min_security(a.ask_fallback, b.ask_fallback), security),
        auto_allow_skills=a.auto_allow_skills and b.auto_allow_skills,
        sandbox=max_sandbox(a.sandbox, b.sandbox),
    )


#: The identity of :func:`stricter`: combining it with a normalised policy changes nothing.
MOST_PERMISSIVE: Final = ExecPolicy(
    security=Security.FULL, ask=Ask.OFF, ask_fallback=Security.FULL, auto_allow_skills=True
)

#: OpenClaw 2026.4.1's approvals-file defaults, and this library's built-in default.
PRESET_OPENCLAW_2026_4_1: Final = ExecPolicy()

#: Newer OpenClaw (2026.4.2 and later, up to 2026.9.6) defaults: run everything, never ask.
#: The fallback stays ``deny`` (OpenClaw PR #89938).
PRESET_OPENCLAW_LATEST: Final = ExecPolicy(
    security=Security.FULL, ask=Ask.OFF, ask_fallback=Security.DENY
)


class Preset(enum.StrEnum):
    """
    Which OpenClaw release's built-in behaviour host resolution follows, chosen explicitly.

    * ``openclaw-2026.4.1``: knobs nobody set are ``deny`` / ``on-miss`` / ``deny`` / no
      skills, and no agent id means ``main``. This library's default.
    * ``openclaw-2026.9.6``: knobs nobody set are ``full`` / ``off`` / ``deny`` / no skills
      (2026.4.2 and later), and no agent id means *no* agent: only ``agents["*"]`` and
      ``defaults`` apply (OpenClaw looks up the agent key ``default``, which its loader has
      already merged into ``main``).

    An approvals file or a requested policy overrides the preset knob by knob; the preset
    only fills what nobody set, so choosing one never loosens what the file enforces.
    """

    OPENCLAW_2026_4_1 = "openclaw-2026.4.1"
    OPENCLAW_2026_9_6 = "openclaw-2026.9.6"

    @property
    def defaults(self) -> ExecPolicy:
        """The built-in knobs of this release."""
        if self is Preset.OPENCLAW_2026_9_6:
            return PRESET_OPENCLAW_LATEST
        return PRESET_OPENCLAW_2026_4_1

    @property
    def version(self) -> str:
        """The OpenClaw version (``2026.4.1``)."""
        return self.value.removeprefix("openclaw-")

    @property
    def no_agent_key(self) -> str | None:
        """The agent looked up when no agent id is given (``None``: no agent entry at all)."""
        return "main" if self is Preset.OPENCLAW_2026_4_1 else None

    @classmethod
    def parse(cls, value: object) -> Preset:
        """
        A member, its value, or the bare version (``2026.9.6``).

        Raises:
            PolicyError: Anything else, naming the allowed spellings.
        """
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            for member in cls:
                if value in (member.value, member.version):
                    return member
        allowed = ", ".join(f"{m.value} ({m.version})" for m in cls)
        raise PolicyError(f"invalid preset {value!r}: allowed values are {allowed}")
