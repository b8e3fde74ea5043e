"""
OpenClaw 2026.9.6's ``tools.exec`` configuration: read, validated, honoured or refused.

:class:`ExecConfig` is the ``tools.exec`` block of an OpenClaw config file (``openclaw.json``)
as a frozen value. Every key that shapes what may run is honoured: ``mode`` (or the legacy
``security`` / ``ask``), ``safeBins``, ``safeBinTrustedDirs``, ``safeBinProfiles``
(``allowedBooleanFlags`` included), ``strictInlineEval``, ``grantExpiryDays`` and
``reviewer``. What OpenClaw's own schema rejects is rejected here too, and so is what OpenClaw
accepts but quietly ignores or clamps (an unprofiled safe bin, ``maxPositional`` below
``minPositional``): a policy file never means less than it says. Keys that do not shape
policy (``backgroundMs``, ``notifyOnExit`` ...) are accepted and listed in
:attr:`ExecConfig.not_policy`. Errors name the file, the JSON path and what was expected.

The mapping of ``mode`` is OpenClaw's ``resolveExecPolicyForMode``:

======== =========== ========= =================================================
mode     security    ask       notes
======== =========== ========= =================================================
deny     deny        off       nothing runs
allowlist allowlist  off       allowlist misses are denied, nobody is asked
ask      allowlist   on-miss   allowlist misses ask a human
auto     allowlist   on-miss   misses go to the embedder's reviewer first
full     full        off       everything runs
======== =========== ========= =================================================

Reading and checking a document is in ``_config_read``. Pure: no I/O.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

import attrs

from openclaw_exec.exceptions import PolicyError
from openclaw_exec.policy._enums import Ask, Security
from openclaw_exec.policy._policy import ExecPolicy, Preset

__all__ = [
    "AUTO_REVIEW_TIMEOUT_MS",
    "ExecConfig",
    "ExecConfigError",
    "ExecMode",
    "ReviewerConfig",
    "SafeBinProfileConfig",
]

#: OpenClaw's reviewer timeout when ``tools.exec.reviewer.timeoutMs`` is unset.
AUTO_REVIEW_TIMEOUT_MS: Final = 30_000


_PROFILE_KEYS: Final = (
    "minPositional",
    "maxPositional",
    "allowedValueFlags",
    "deniedFlags",
    "allowedBooleanFlags",
)


class ExecConfigError(PolicyError):
    """
    An OpenClaw config's ``tools.exec`` block is invalid.

    Attributes:
        path: The config file, or ``None`` for in-memory input.
        json_path: Where, e.g. ``tools.exec.safeBinProfiles.wc.maxPositional``.
        expected: What was expected there, in words.
        found: What was found instead (JSON).
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        json_path: str = "",
        expected: str = "",
        found: str = "",
    ) -> None:
        self.path = path
        self.json_path = json_path
        self.expected = expected
        self.found = found
        self.message = message
        where = path if path is not None else "<openclaw config>"
        if json_path:
            where = f"{where}: {json_path}"
        text = f"{where}: {message}"
        if expected:
            text += f" (expected {expected}" + (f", found {found})" if found else ")")
        super().__init__(text)


def _snake(key: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in key)


class ExecMode(enum.StrEnum):
    """OpenClaw 2026.9.6's ``tools.exec.mode``: one word for ``security`` + ``ask``."""

    DENY = "deny"
    ALLOWLIST = "allowlist"
    ASK = "ask"
    AUTO = "auto"
    FULL = "full"

    @property
    def security(self) -> Security:
        """The security this mode means."""
        return _MODE_POLICY[self][0]

    @property
    def ask(self) -> Ask:
        """The ask this mode means."""
        return _MODE_POLICY[self][1]

    @property
    def auto_review(self) -> bool:
        """Whether allowlist misses go to a reviewer before a human (``auto`` only)."""
        return self is ExecMode.AUTO

    @classmethod
    def from_policy(cls, security: Security, ask: Ask) -> ExecMode | None:
        """
        The mode that means exactly *security* + *ask*, or ``None`` when none does.

        OpenClaw's ``resolveExactExecModeFromPolicy``: ``ask=always`` and ``full`` +
        ``on-miss`` have no mode (they keep the legacy fields).
        """
        if ask is Ask.ALWAYS or (security is Security.FULL and ask is Ask.ON_MISS):
            return None
        if security is Security.DENY:
            return cls.DENY
        if security is Security.ALLOWLIST and ask is Ask.OFF:
            return cls.ALLOWLIST
        if security is Security.FULL:
            return cls.FULL
        return cls.ASK


_MODE_POLICY: Final = {
    ExecMode.DENY: (Security.DENY, Ask.OFF),
    ExecMode.ALLOWLIST: (Security.ALLOWLIST, Ask.OFF),
    ExecMode.ASK: (Security.ALLOWLIST, Ask.ON_MISS),
    ExecMode.AUTO: (Security.ALLOWLIST, Ask.ON_MISS),
    ExecMode.FULL: (Security.FULL, Ask.OFF),
}


def _flags(value: tuple[str, ...] | None) -> tuple[str, ...] | None:
    return None if value is None else tuple(sorted({f.strip() for f in value if f.strip()}))


@attrs.frozen(kw_only=True)
class SafeBinProfileConfig:
    """
    ``tools.exec.safeBinProfiles.<bin>``: the argv shape a configured safe bin may take.

    It replaces the built-in profile of that bin (as in OpenClaw). ``allowed_boolean_flags``
    (valueless flags such as ``wc -l``, upstream #153787) is this library's; OpenClaw
    2026.9.6's schema does not accept it yet.
    """

    min_positional: int | None = None
    max_positional: int | None = None
    allowed_value_flags: tuple[str, ...] | None = attrs.field(default=None, converter=_flags)
    denied_flags: tuple[str, ...] | None = attrs.field(default=None, converter=_flags)
    allowed_boolean_flags: tuple[str, ...] | None = attrs.field(default=None, converter=_flags)

    def to_json(self) -> dict[str, Any]:
        """The profile as written in the config."""
        out: dict[str, Any] = {}
        for key in _PROFILE_KEYS:
            value = getattr(self, _snake(key))
            if value is not None:
                out[key] = list(value) if isinstance(value, tuple) else value
        return out


@attrs.frozen(kw_only=True)
class ReviewerConfig:
    """
    ``tools.exec.reviewer``: how the embedder's reviewer is run under ``mode: auto``.

    OpenClaw runs a model here; this library calls the reviewer the embedder supplies
    (:class:`openclaw_exec.policy.ExecReviewer`). ``model``, ``thinking`` and ``fast_mode``
    are handed to that reviewer as they are; ``timeout_ms`` bounds it (a reviewer that does
    not answer in time counts as "ask a human").
    """

    model: str | Mapping[str, Any] | None = None
    thinking: str | None = None
    fast_mode: bool | None = None
    timeout_ms: int = AUTO_REVIEW_TIMEOUT_MS


def _frozen_profiles(
    value: Mapping[str, SafeBinProfileConfig],
) -> Mapping[str, SafeBinProfileConfig]:
    return MappingProxyType(dict(value))


@attrs.frozen(kw_only=True)
class ExecConfig:
    """
    The ``tools.exec`` block of an OpenClaw 2026.9.6 config, validated.

    Attributes:
        mode: ``tools.exec.mode``, or ``None`` when the legacy knobs (or nothing) are used.
        security: Legacy ``tools.exec.security`` (never together with *mode*).
        ask: Legacy ``tools.exec.ask`` (never together with *mode*).
        safe_bins: ``safeBins``: ``None`` for OpenClaw's defaults; each needs a profile
            (built-in or in *safe_bin_profiles*).
        safe_bin_trusted_dirs: ``safeBinTrustedDirs``: absolute folders trusted for safe
            bins besides ``/bin`` and ``/usr/bin``.
        safe_bin_profiles: ``safeBinProfiles`` by lower-case bin name.
        strict_inline_eval: ``strictInlineEval``: ``python -c`` and friends always ask and
            never persist an allow-always grant.
        grant_expiry_days: ``grantExpiryDays``: the lifetime stamped on new allow-always
            grants (``None``: until revoked).
        reviewer: ``reviewer`` (``mode: auto``).
        not_policy: Keys present that do not decide what may run (accepted, not applied).
        path: The config file it came from, for messages.
    """

    mode: ExecMode | None = None
    security: Security | None = None
    ask: Ask | None = None
    safe_bins: tuple[str, ...] | None = None
    safe_bin_trusted_dirs: tuple[str, ...] = ()
    safe_bin_profiles: Mapping[str, SafeBinProfileConfig] = attrs.field(
        factory=dict, converter=_frozen_profiles
    )
    strict_inline_eval: bool | None = None
    grant_expiry_days: int | None = None
    reviewer: ReviewerConfig | None = None
    not_policy: tuple[str, ...] = ()
    path: str | None = attrs.field(default=None, eq=False)

    @property
    def auto_review(self) -> bool:
        """Whether allowlist misses go to the embedder's reviewer first (``mode: auto``)."""
        return self.mode is not None and self.mode.auto_review

    @property
    def requested_fields(self) -> frozenset[str]:
        """The :class:`ExecPolicy` knobs (Python names) this config sets."""
        if self.mode is not None:
            return frozenset({"security", "ask"})
        return frozenset(name for name in ("security", "ask") if getattr(self, name) is not None)

    def requested_policy(self, preset: Preset | str = Preset.OPENCLAW_2026_4_1) -> ExecPolicy:
        """
        The requested policy (layer A) this config means; unset knobs take *preset*'s.

        Pass it with :attr:`requested_fields` to
        :func:`~openclaw_exec.policy.resolve_policy` so the knobs it does not set are
        reported as built-in.
        """
        base = Preset.parse(preset).defaults
        if self.mode is not None:
            return attrs.evolve(base, security=self.mode.security, ask=self.mode.ask)
        return attrs.evolve(
            base,
            security=self.security if self.security is not None else base.security,
            ask=self.ask if self.ask is not None else base.ask,
        )

    def effective_mode(self, preset: Preset | str = Preset.OPENCLAW_2026_4_1) -> ExecMode:
        """The mode shown for this config: *mode*, or OpenClaw's ``resolveExecModeFromPolicy``."""
        if self.mode is not None:
            return self.mode
        policy = self.requested_policy(preset)
        exact = ExecMode.from_policy(policy.security, policy.ask)
        if exact is not None:
            return exact
        return (
            ExecMode.FULL
            if policy.security is Security.FULL and policy.ask is not Ask.ALWAYS
            else ExecMode.ASK
        )

    def analysis_options(self) -> dict[str, Any]:
        """
        Keyword arguments for :func:`~openclaw_exec.analysis.evaluate_command`.

        Also what ``ExecGuard(analysis_options=...)`` takes: safe bins, their profiles and
        trusted folders, and strict inline eval. Only what the config sets.
        """
        # Imported here: the analysis package is heavy, and policy must not depend on it
        # at import time (the pure core's layering).
        from openclaw_exec.analysis import SafeBinProfile  # noqa: PLC0415
        from openclaw_exec.analysis._safe_bins import (  # noqa: PLC0415
            DEFAULT_SAFE_BIN_PROFILES,
        )

        out: dict[str, Any] = {}
        if self.safe_bins is not None:
            out["safe_bins"] = frozenset(self.safe_bins)
        if self.safe_bin_profiles:
            profiles = dict(DEFAULT_SAFE_BIN_PROFILES)
            for name, profile in self.safe_bin_profiles.items():
                profiles[name] = SafeBinProfile(
                    min_positional=profile.min_positional or 0,
                    max_positional=profile.max_positional,
                    allowed_value_flags=frozenset(profile.allowed_value_flags or ()),
                    denied_flags=frozenset(profile.denied_flags or ()),
                    allowed_boolean_flags=frozenset(profile.allowed_boolean_flags or ()),
                )
            out["safe_bin_profiles"] = profiles
        if self.safe_bin_trusted_dirs:
            out["safe_bin_trusted_dirs"] = self.safe_bin_trusted_dirs
        if self.strict_inline_eval is not None:
            out["strict_inline_eval"] = self.strict_inline_eval
        return out

    def to_json(self) -> dict[str, Any]:
        """The policy keys as they would be written under ``tools.exec``."""
        out: dict[str, Any] = {}
        if self.mode is not None:
            out["mode"] = self.mode.value
        if self.security is not None:
            out["security"] = self.security.value
        if self.ask is not None:
            out["ask"] = self.ask.value
        if self.safe_bins is not None:
            out["safeBins"] = list(self.safe_bins)
        if self.safe_bin_trusted_dirs:
            out["safeBinTrustedDirs"] = list(self.safe_bin_trusted_dirs)
        if self.safe_bin_profiles:
            out["safeBinProfiles"] = {k: v.to_json() for k, v in self.safe_bin_profiles.items()}
        if self.strict_inline_eval is not None:
            out["strictInlineEval"] = self.strict_inline_eval
        if self.grant_expiry_days is not None:
            out["grantExpiryDays"] = self.grant_expiry_days
        if self.reviewer is not None:
            reviewer: dict[str, Any] = {"timeoutMs": self.reviewer.timeout_ms}
            if self.reviewer.model is not None:
                reviewer["model"] = self.reviewer.model
            if self.reviewer.thinking is not None:
                reviewer["thinking"] = self.reviewer.thinking
            if self.reviewer.fast_mode is not None:
                reviewer["fastMode"] = self.reviewer.fast_mode
            out["reviewer"] = reviewer
        return out
