"""
Which environment variables may reach a command: OpenClaw's host environment policy.

OpenClaw splits the environment in two (``sanitizeHostExecEnv`` in 2026.9.6):

* what the gateway **inherits** from its host is *stripped* of dangerous variables before
  anything runs (refusing would block every command: ``SHELL`` is always set);
* what the agent **asks for** (the exec tool's ``env`` overrides) is *refused* when a key is
  on the override block lists: the command does not run as asked.

This module is that policy as pure decisions over the tables in
:mod:`openclaw_exec.analysis._host_env_data` (OpenClaw's, plus this library's additions),
matched case-insensitively as OpenClaw does. It never reads ``os.environ``: the runtime
(:mod:`openclaw_exec.guard`) hands it the host's environment.

Three kinds of mapping meet here:

``inherited``
    The host's own environment (the guard's ``os.environ``): dangerous keys are *stripped*.
``base``
    A full environment given by the caller (``env=``): a key that would have been stripped
    from an inherited one is *refused* (the caller explicitly asked for it) and never
    passed on.
``overrides``
    What the agent asks to add (``env_overrides=``): checked against the override lists
    (which include ``PATH``, ``HOME`` and every non-portable name); a refused key is never
    passed on.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping

import attrs

from openclaw_exec.analysis import _host_env_data as _data
from openclaw_exec.analysis._shell import AnalysisFailure

__all__ = [
    "ENV_CONSTRUCT",
    "MAX_PATH_ENTRIES",
    "ExecEnvironment",
    "environment_failure",
    "is_blocked_inherited",
    "is_blocked_override",
    "plan_exec_env",
    "sanitize_inherited_env",
]

MAX_PATH_ENTRIES = 128
"""
The most ``PATH`` entries a command may run with. Longer ``PATH`` values fail analysis
(rather than costing seconds and hundreds of megabytes per call: every entry is a
filesystem lookup, and the resolution cache keeps a change stamp per entry).
"""

ENV_CONSTRUCT = "environment variable "
"""How an :class:`AnalysisFailure` for a blocked variable starts (``construct``)."""

_PORTABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CARGO_TARGET = re.compile(r"CARGO_TARGET_[A-Z0-9_]+_(?:LINKER|RUNNER)")
_GIT_SAFE_PROTOCOLS = ("git", "http", "https", "ssh")
_NO_PAGER_KEYS = frozenset({"PAGER", "GIT_PAGER"})
_PERMISSIVE = re.compile(r"[+-]?0*[1-9]\d*")


def _upper(values: Iterable[str]) -> frozenset[str]:
    return frozenset(v.upper() for v in values)


_ALLOWED_INHERITED = _upper(_data.OPENCLAW_ALLOWED_INHERITED_OVERRIDE_ONLY_KEYS)
_EXEMPT = _upper(_data.EXTRA_EXEMPT_KEYS)

# OpenClaw's derived arrays (derivePolicyArrays), upper-cased.
_OC_INHERITED_KEYS = _upper(_data.OPENCLAW_BLOCKED_EVERYWHERE_KEYS) | (
    _upper(_data.OPENCLAW_BLOCKED_OVERRIDE_ONLY_KEYS) - _ALLOWED_INHERITED
)
_OC_PREFIXES = tuple(sorted(_upper(_data.OPENCLAW_BLOCKED_PREFIXES)))
_OC_OVERRIDE_KEYS = _upper(_data.OPENCLAW_BLOCKED_EVERYWHERE_KEYS) | _upper(
    _data.OPENCLAW_BLOCKED_OVERRIDE_ONLY_KEYS
)
_OC_OVERRIDE_PREFIXES = _OC_PREFIXES + tuple(
    sorted(_upper(_data.OPENCLAW_BLOCKED_OVERRIDE_PREFIXES))
)

# This library's additions (an exempt key escapes only these, never OpenClaw's own lists).
_EXTRA_KEYS = _upper(_data.EXTRA_BLOCKED_EVERYWHERE_KEYS)
_EXTRA_STRIPPED = _upper(_data.EXTRA_STRIPPED_INHERITED_KEYS)
_EXTRA_PREFIXES = tuple(sorted(_upper(_data.EXTRA_BLOCKED_PREFIXES)))
_EXTRA_OVERRIDE_KEYS = _EXTRA_KEYS | _upper(_data.EXTRA_BLOCKED_OVERRIDE_KEYS)
_EXTRA_OVERRIDE_PREFIXES = _EXTRA_PREFIXES + tuple(
    sorted(_upper(_data.EXTRA_BLOCKED_OVERRIDE_PREFIXES))
)
_EXTRA_OVERRIDE_SUFFIXES = tuple(sorted(_upper(_data.EXTRA_BLOCKED_OVERRIDE_SUFFIXES)))


def is_blocked_inherited(key: str) -> bool:
    """
    Whether an inherited variable named *key* is stripped (case-insensitive).

    OpenClaw's ``isDangerousHostInheritedEnvVarName`` plus this library's additions; a
    non-portable name (not ``[A-Za-z_][A-Za-z0-9_]*``) is stripped too, since no approval
    binding can cover it.
    """
    upper = key.strip().upper()
    if not upper:
        return False
    if upper in _OC_INHERITED_KEYS or upper.startswith(_OC_PREFIXES):
        return True
    if not _PORTABLE.fullmatch(key) or upper in _EXTRA_STRIPPED:
        return True
    if upper in _EXEMPT or upper in _ALLOWED_INHERITED:
        # OpenClaw names these as fine to inherit (proxies, CA bundles, XDG folders ...);
        # our additions do not override that choice.
        return False
    return upper in _EXTRA_KEYS or upper.startswith(_EXTRA_PREFIXES)


def is_blocked_override(key: str, value: str = "x") -> bool:
    """
    Whether the agent may not set *key* (to *value*): the override lists, case-insensitive.

    OpenClaw's ``isDangerousHostEnvVarName`` / ``isDangerousHostEnvOverrideVarName`` (and its
    refusal of a custom ``PATH``), this library's additions (suffixes such as ``*_EDITOR``,
    ``*PATH``, ``*_OPTS``; families such as ``GIT_*``), and every non-portable name.
    ``PAGER`` / ``GIT_PAGER`` set to ``""`` or ``cat`` are allowed (OpenClaw's no-pager case).
    """
    upper = key.upper()
    if not _PORTABLE.fullmatch(key):
        return True
    if upper in _NO_PAGER_KEYS and value in {"", "cat"}:
        return False
    if upper in _OC_OVERRIDE_KEYS or upper.startswith(_OC_OVERRIDE_PREFIXES):
        return True
    if _CARGO_TARGET.fullmatch(upper):
        return True
    if upper in _EXEMPT:
        return False
    return (
        upper in _EXTRA_OVERRIDE_KEYS
        or upper.startswith(_EXTRA_OVERRIDE_PREFIXES)
        or upper.endswith(_EXTRA_OVERRIDE_SUFFIXES)
    )


def _inherited_entry(key: str, value: str) -> tuple[str, str] | None:
    """OpenClaw's ``sanitizeHostInheritedEnvEntry``: ``None`` drops the entry."""
    upper = key.strip().upper()
    if upper == "GIT_ALLOW_PROTOCOL":
        kept = [p for p in value.strip().split(":") if p in _GIT_SAFE_PROTOCOLS]
        return key, ":".join(kept)
    if upper == "GIT_PROTOCOL_FROM_USER":
        normal = value.strip().lower()
        permissive = normal in {"true", "yes", "on"} or bool(_PERMISSIVE.fullmatch(normal))
        return key, "0" if permissive else value
    if _inherited_cached(key) or "\x00" in value or "=" in key:
        return None
    return key, value


def sanitize_inherited_env(inherited: Mapping[str, str]) -> tuple[dict[str, str], tuple[str, ...]]:
    """
    Strip an inherited environment the way OpenClaw's ``sanitizeHostExecEnv`` does.

    Returns:
        The environment to pass on, and the sorted names that were removed. A permissive
        ``GIT_PROTOCOL_FROM_USER`` becomes ``0`` and ``GIT_ALLOW_PROTOCOL`` keeps only
        ``git:http:https:ssh`` (both as OpenClaw).
    """
    kept: dict[str, str] = {}
    stripped: list[str] = []
    items: Iterable[tuple[object, object]] = inherited.items()
    for key, value in items:
        if not isinstance(key, str) or not isinstance(value, str):
            continue  # not an environment entry (os.environ never has one)
        entry = _inherited_entry(key, value)
        if entry is None:
            stripped.append(key)
        else:
            kept[entry[0]] = entry[1]
    return kept, tuple(sorted(stripped))


@attrs.frozen(kw_only=True)
class ExecEnvironment:
    """
    The environment one command runs with, and how it was made.

    Attributes:
        env: Exactly what the process gets (no blocked key is ever in it).
        base: The full environment the command starts from: the host's, already
            stripped, or the caller's ``env=`` as given (blocked keys included, so the
            analysis sees and refuses them).
        overrides: What the agent asked to add, as asked.
        stripped: Inherited names removed from the host's environment (not a refusal).
        blocked: Names refused: overrides on the override lists, keys of a caller's full
            ``env=`` that would have been stripped from an inherited one, invalid names.
            Any of them makes the command an analysis failure (ask, or deny by policy).
    """

    env: Mapping[str, str] = attrs.field(repr=False)
    base: Mapping[str, str] = attrs.field(repr=False, eq=False)
    overrides: Mapping[str, str] = attrs.field(factory=dict, repr=False, eq=False)
    stripped: tuple[str, ...] = ()
    blocked: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether nothing asked for was refused."""
        return not self.blocked


def plan_exec_env(
    base: Mapping[str, str],
    overrides: Mapping[str, str] | None = None,
    *,
    stripped: Iterable[str] = (),
) -> ExecEnvironment:
    """
    The environment a command runs with: *base* checked, *overrides* checked and merged.

    Args:
        base: A full environment (a stripped inherited one, or a caller's ``env=``):
            keys :func:`is_blocked_inherited` names are refused and left out.
        overrides: What the agent asks to add: keys :func:`is_blocked_override` names
            are refused and left out; the rest replace *base*'s values (``PAGER=cat``
            becomes ``PAGER=`` as in OpenClaw).
        stripped: Names already stripped from *base* (reported, not refused).

    Raises:
        TypeError: A key or value is not a string.
    """
    env: dict[str, str] = {}
    blocked: set[str] = set()
    base_items: Iterable[tuple[object, object]] = base.items()
    for key, value in base_items:
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError("env names and values must be strings")
        if _inherited_cached(key) or "\x00" in value or "=" in key:
            blocked.add(key)
        else:
            env[key] = value
    asked: Iterable[tuple[object, object]] = (overrides or {}).items()
    for key, value in asked:
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError("env_overrides names and values must be strings")
        if is_blocked_override(key, value) or "\x00" in value:
            blocked.add(key)
            env.pop(key, None)
        elif key.upper() in _NO_PAGER_KEYS:
            env[key] = ""
        else:
            env[key] = value
    return ExecEnvironment(
        env=env,
        base=dict(base),
        overrides=dict(overrides or {}),
        stripped=tuple(sorted(set(stripped))),
        blocked=tuple(sorted(blocked)),
    )


# Every evaluation checks every name of its environment: the answer per name is cached
# (names repeat from call to call; the tables never change at run time).
_inherited_cached = functools.lru_cache(maxsize=8192)(is_blocked_inherited)


def environment_failure(
    env: Mapping[str, str], overrides: Mapping[str, str] | None = None
) -> AnalysisFailure | None:
    """
    Why a command may not run with *env* plus *overrides*, or ``None``.

    A name :func:`plan_exec_env` refuses, or a ``PATH`` of more than
    :data:`MAX_PATH_ENTRIES` entries, is an analysis failure.

    Raises:
        TypeError: A name or value is not a string.
    """
    try:
        "\0".join(env)  # one C call: every name is a string
    except TypeError:
        raise TypeError("env names must be strings") from None
    if overrides or any(map(_inherited_cached, env)):
        plan = plan_exec_env(env, overrides)
        if plan.blocked:
            return _blocked_failure(plan.blocked, overrides or {})
        path = plan.env.get("PATH")
    else:
        path = env.get("PATH")
    if isinstance(path, str) and path.count(":") >= MAX_PATH_ENTRIES:
        construct = "PATH entries"
        entries = path.count(":") + 1
        message = f"PATH has {entries} entries (more than {MAX_PATH_ENTRIES}) at position 0"
        return AnalysisFailure(construct, 0, message)
    return None


def _blocked_failure(blocked: tuple[str, ...], overrides: Mapping[str, str]) -> AnalysisFailure:
    name = blocked[0]
    asked = "requested " if name in overrides else ""
    construct = f"{ENV_CONSTRUCT}{name}"
    more = f" (and {len(blocked) - 1} more)" if len(blocked) > 1 else ""
    message = f"{asked}{construct}{more} at position 0 (blocked by the host environment policy)"
    return AnalysisFailure(construct, 0, message)
