"""
Reading OpenClaw's ``tools.exec`` block into :class:`~openclaw_exec.policy.ExecConfig`.

Every check names the file, the JSON path and what was expected. OpenClaw's own schema
decides what is valid; on top of it, what OpenClaw would accept but silently ignore or
clamp is refused (see :mod:`openclaw_exec.policy._config`). Pure: no I/O.
"""

from __future__ import annotations

import json
import math
import posixpath
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from openclaw_exec.policy._config import (
    _PROFILE_KEYS,
    ExecConfig,
    ExecConfigError,
    ExecMode,
    ReviewerConfig,
    SafeBinProfileConfig,
    _snake,
)
from openclaw_exec.policy._enums import Ask, Security

__all__ = ["exec_config_from_json", "loads_exec_config"]

_GRANT_DAYS = (1, 3650)  # OpenClaw: number().int().min(1).max(3650)

#: Safe bins OpenClaw never lets satisfy a command (jq, awk, sed: they run programs).
_NEVER_SAFE: Final = frozenset({"jq", "awk", "gawk", "mawk", "nawk", "sed", "gsed"})
#: OpenClaw's INTERPRETER_LIKE_SAFE_BINS: a bin that reads a program from stdin is no safe bin.
_INTERPRETERS: Final = frozenset(
    {
        "ash", "awk", "bash", "busybox", "bun", "cmd", "cmd.exe", "cscript", "dash", "deno",
        "fish", "gawk", "gsed", "ksh", "lua", "mawk", "nawk", "node", "nodejs", "perl", "php",
        "powershell", "powershell.exe", "pypy", "pwsh", "pwsh.exe", "python", "python2",
        "python3", "ruby", "sed", "sh", "toybox", "wscript", "zsh",
    }
)  # fmt: skip
_INTERPRETER_PREFIXES: Final = ("python", "ruby", "perl", "php", "node")

#: ``tools.exec`` keys OpenClaw 2026.9.6 accepts that do not decide what may run.
_NOT_POLICY: Final = frozenset(
    {
        "host", "node", "pathPrepend", "commandHighlighting", "backgroundMs",
        "approvalRunningNoticeMs", "timeoutSeconds", "cleanupMs", "notifyOnExit",
        "notifyOnExitEmptySuccess", "applyPatch",
    }
)  # fmt: skip
_POLICY_KEYS: Final = frozenset(
    {
        "mode", "security", "ask", "safeBins", "strictInlineEval", "grantExpiryDays",
        "safeBinTrustedDirs", "safeBinProfiles", "reviewer",
    }
)  # fmt: skip
_REVIEWER_KEYS: Final = frozenset({"model", "thinking", "fastMode", "timeoutMs"})
_THINKING: Final = ("minimal", "low", "medium", "high", "xhigh", "max")


def _show(value: object) -> str:
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class _Reader:
    def __init__(self, path: str | None) -> None:
        self.path = path

    def fail(self, where: str, message: str, expected: str = "", value: object = None) -> None:
        raise ExecConfigError(
            message,
            path=self.path,
            json_path=where,
            expected=expected,
            found=_show(value) if expected else "",
        )

    def obj(self, where: str, value: object) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            self.fail(where, "must be a JSON object", "an object", value)
        assert isinstance(value, Mapping)
        return value

    def boolean(self, where: str, value: object) -> bool:
        if not isinstance(value, bool):
            self.fail(where, "must be true or false", "a boolean", value)
        return bool(value)

    def integer(self, where: str, value: object, low: int, high: int | None = None) -> int:
        if type(value) is not int or value < low or (high is not None and value > high):
            span = f"from {low} to {high}" if high is not None else f"of at least {low}"
            self.fail(where, "is out of range", f"an integer {span}", value)
        assert isinstance(value, int)
        return value

    def strings(self, where: str, value: object) -> tuple[str, ...]:
        if not isinstance(value, list):
            self.fail(where, "must be a list of strings", "a list of strings", value)
        assert isinstance(value, list)
        for index, item in enumerate(value):
            if not isinstance(item, str):
                self.fail(f"{where}[{index}]", "must be a string", "a string", item)
        return tuple(value)

    def choice(self, where: str, value: object, allowed: tuple[str, ...]) -> str:
        if not isinstance(value, str) or value not in allowed:
            self.fail(where, "is not an allowed value", " | ".join(allowed), value)
        assert isinstance(value, str)
        return value


def _interpreter_like(name: str) -> bool:
    if name in _INTERPRETERS:
        return True
    for prefix in _INTERPRETER_PREFIXES:
        rest = name.removeprefix(prefix)
        if rest != name and rest and all(part.isdigit() for part in rest.split(".")):
            return True
    return False


def _safe_bin_name(raw: str) -> str:
    # OpenClaw's normalizeSafeBinName: lower case, last path part, no .exe/.cmd/.bat/.com.
    name = raw.strip().lower().replace("\\", "/").rsplit("/", 1)[-1]
    for suffix in (".exe", ".cmd", ".bat", ".com"):
        name = name.removesuffix(suffix)
    return name


def _profile(read: _Reader, where: str, value: object) -> SafeBinProfileConfig:
    data = read.obj(where, value)
    for key in data:
        if key not in _PROFILE_KEYS:
            read.fail(
                f"{where}.{key}", "is not a safe-bin profile key", ", ".join(_PROFILE_KEYS), key
            )
    fields: dict[str, Any] = {}
    for key in ("minPositional", "maxPositional"):
        if data.get(key) is not None:
            fields[_snake(key)] = read.integer(f"{where}.{key}", data[key], 0)
    for key in ("allowedValueFlags", "deniedFlags", "allowedBooleanFlags"):
        if data.get(key) is not None:
            flags = read.strings(f"{where}.{key}", data[key])
            for index, flag in enumerate(flags):
                if not flag.strip().startswith("-"):
                    read.fail(f"{where}.{key}[{index}]", "is not a flag", "-x or --long", flag)
            fields[_snake(key)] = flags
    low, high = fields.get("min_positional"), fields.get("max_positional")
    if low is not None and high is not None and high < low:
        # OpenClaw silently raises maxPositional to minPositional; say it instead.
        read.fail(f"{where}.maxPositional", "is below minPositional", f"at least {low}", high)
    profile = SafeBinProfileConfig(**fields)
    boolean = set(profile.allowed_boolean_flags or ())
    for key, other in (
        ("allowedValueFlags", profile.allowed_value_flags),
        ("deniedFlags", profile.denied_flags),
    ):
        both = sorted(boolean & set(other or ()))
        if both:
            read.fail(
                f"{where}.allowedBooleanFlags",
                f"names {', '.join(both)} also listed in {key}",
                "each flag in one list",
                both,
            )
    return profile


def _reviewer(read: _Reader, where: str, value: object) -> ReviewerConfig:
    data = read.obj(where, value)
    for key in data:
        if key not in _REVIEWER_KEYS:
            read.fail(
                f"{where}.{key}", "is not a reviewer key", ", ".join(sorted(_REVIEWER_KEYS)), key
            )
    fields: dict[str, Any] = {}
    model = data.get("model")
    if model is not None:
        if not isinstance(model, str | Mapping) or (isinstance(model, str) and not model.strip()):
            read.fail(f"{where}.model", "must name a model", "provider/model or an object", model)
        fields["model"] = model if isinstance(model, str) else MappingProxyType(dict(model))
    if data.get("thinking") is not None:
        fields["thinking"] = read.choice(f"{where}.thinking", data["thinking"], _THINKING)
    if data.get("fastMode") is not None:
        fields["fast_mode"] = read.boolean(f"{where}.fastMode", data["fastMode"])
    if data.get("timeoutMs") is not None:
        fields["timeout_ms"] = read.integer(f"{where}.timeoutMs", data["timeoutMs"], 1)
    return ReviewerConfig(**fields)


def exec_config_from_json(
    document: object, *, path: str | None = None, block: str = "tools.exec"
) -> ExecConfig:
    """
    Read the ``tools.exec`` block of a parsed OpenClaw config.

    Args:
        document: The whole config (a JSON object); a missing ``tools`` or ``tools.exec``
            means "nothing configured".
        path: The file it came from, for error messages.
        block: Where the block lives (``agents.list[2].tools.exec`` for a per-agent one).

    Raises:
        ExecConfigError: Naming the file, the JSON path and what was expected.
    """
    read = _Reader(path)
    data: object = read.obj("", document)
    trail = ""
    for part in block.split("."):
        trail = f"{trail}.{part}" if trail else part
        assert isinstance(data, Mapping)
        data = data.get(part)
        if data is None:
            return ExecConfig(path=path)
        data = read.obj(trail, data)
    assert isinstance(data, Mapping)
    where = block
    unknown = sorted(k for k in data if k not in _POLICY_KEYS | _NOT_POLICY)
    if unknown:
        read.fail(
            f"{where}.{unknown[0]}",
            "is not an OpenClaw 2026.9.6 tools.exec key",
            ", ".join(sorted(_POLICY_KEYS)) + " or a non-policy key",
            unknown[0],
        )
    fields: dict[str, Any] = {"path": path}
    if data.get("mode") is not None:
        fields["mode"] = ExecMode(
            read.choice(f"{where}.mode", data["mode"], tuple(m.value for m in ExecMode))
        )
    if data.get("security") is not None:
        fields["security"] = Security(
            read.choice(f"{where}.security", data["security"], tuple(m.value for m in Security))
        )
    if data.get("ask") is not None:
        fields["ask"] = Ask(read.choice(f"{where}.ask", data["ask"], tuple(m.value for m in Ask)))
    if "mode" in fields and ("security" in fields or "ask" in fields):
        exact = (
            ExecMode.from_policy(fields["security"], fields["ask"])
            if "security" in fields and "ask" in fields
            else None
        )
        repair = (
            f'replace security/ask with mode "{exact.value}"'
            if exact is not None
            else "keep either mode or the legacy security/ask, not both"
        )
        read.fail(
            f"{where}.mode",
            f"cannot be combined with security or ask in the same block ({repair})",
        )
    profiles: dict[str, SafeBinProfileConfig] = {}
    raw_profiles = data.get("safeBinProfiles")
    if raw_profiles is not None:
        for raw_name, raw in read.obj(f"{where}.safeBinProfiles", raw_profiles).items():
            name = raw_name.strip().lower()
            at = f"{where}.safeBinProfiles.{raw_name}"
            if not name:
                read.fail(at, "names no bin", "a bin name", raw_name)
            if name in profiles:
                read.fail(at, f"duplicates the profile of {name!r} (names are case-blind)")
            profiles[name] = _profile(read, at, raw)
    fields["safe_bin_profiles"] = profiles
    if data.get("safeBins") is not None:
        from openclaw_exec.analysis._safe_bins import DEFAULT_SAFE_BIN_PROFILES  # noqa: PLC0415

        names: list[str] = []
        for index, raw_bin in enumerate(read.strings(f"{where}.safeBins", data["safeBins"])):
            name = _safe_bin_name(raw_bin)
            at = f"{where}.safeBins[{index}]"
            if not name:
                read.fail(at, "names no bin", "a bin name", raw_bin)
            if name in _NEVER_SAFE:
                read.fail(
                    at, f"{name} runs programs, so it is never a safe bin; use an allowlist entry"
                )
            if _interpreter_like(name):
                read.fail(
                    at,
                    f"{name} interprets programs, so it cannot be a safe bin; "
                    "use an allowlist entry",
                )
            if name not in profiles and name not in DEFAULT_SAFE_BIN_PROFILES:
                # OpenClaw logs "ignoring unprofiled safeBins entries" and goes on.
                read.fail(
                    at,
                    f"{name} has no profile, so it would be ignored",
                    f"a built-in safe bin or tools.exec.safeBinProfiles.{name}",
                    raw_bin,
                )
            if name not in names:
                names.append(name)
        fields["safe_bins"] = tuple(names)
    if data.get("safeBinTrustedDirs") is not None:
        dirs: list[str] = []
        for index, raw_dir in enumerate(
            read.strings(f"{where}.safeBinTrustedDirs", data["safeBinTrustedDirs"])
        ):
            folder = raw_dir.strip()
            if not folder.startswith("/"):
                read.fail(
                    f"{where}.safeBinTrustedDirs[{index}]",
                    "must be an absolute folder (trust is never derived from PATH or the cwd)",
                    "an absolute path",
                    raw_dir,
                )
            folder = posixpath.normpath(folder)
            if folder not in dirs:
                dirs.append(folder)
        fields["safe_bin_trusted_dirs"] = tuple(dirs)
    if data.get("strictInlineEval") is not None:
        fields["strict_inline_eval"] = read.boolean(
            f"{where}.strictInlineEval", data["strictInlineEval"]
        )
    if data.get("grantExpiryDays") is not None:
        days = data["grantExpiryDays"]
        if isinstance(days, float) and math.isfinite(days) and days.is_integer():
            days = int(days)  # JSON has one number type: 30.0 is 30
        fields["grant_expiry_days"] = read.integer(f"{where}.grantExpiryDays", days, *_GRANT_DAYS)
    if data.get("reviewer") is not None:
        fields["reviewer"] = _reviewer(read, f"{where}.reviewer", data["reviewer"])
    fields["not_policy"] = tuple(sorted(k for k in data if k in _NOT_POLICY))
    return ExecConfig(**fields)


def loads_exec_config(text: str | bytes, *, path: str | None = None) -> ExecConfig:
    """
    Parse an OpenClaw config file's text and read its ``tools.exec`` block.

    OpenClaw accepts JSON5 (comments, trailing commas); this reader takes strict JSON and
    says so when the text is not.

    Raises:
        ExecConfigError: Not JSON, or an invalid ``tools.exec`` block.
    """
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        where = f"line {line}" if line is not None else ""
        raise ExecConfigError(
            f"not valid JSON ({exc.msg if isinstance(exc, json.JSONDecodeError) else exc}); "
            "JSON5 comments and trailing commas are not supported: remove them",
            path=path,
            json_path=where,
        ) from None
    return exec_config_from_json(document, path=path)
