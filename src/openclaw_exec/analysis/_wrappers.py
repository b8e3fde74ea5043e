"""
Wrapper unwrapping: dispatch wrappers, busybox, and shells read by their own grammar.

Dispatch wrappers (``timeout``, ``env``, ``flock``...) and the programs that are always
blocked (``sudo``, ``strace``, ``unshare``...) are the data table in
:mod:`._wrapper_table`; shells are read by the per-shell grammars in :mod:`._shells`.
A segment whose wrapper or shell cannot be read safely is *blocked*: it is a miss with
``blocked_reason`` whatever the allowlist says. ``arch``, ``xcrun`` and BSD ``script``
are macOS/BSD-only and block here, as they do in OpenClaw on Linux.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence

import attrs

from openclaw_exec._values import positional_maker
from openclaw_exec.analysis._shells import SHELL_NAMES, parse_shell_argv, shell_family
from openclaw_exec.analysis._word_cache import WordCache
from openclaw_exec.analysis._wrapper_table import DISPATCH, MULTIPLEXERS, WrapperSpec

__all__ = [
    "SHELL_WRAPPER_NAMES",
    "WrapperPlan",
    "extract_shell_inline_command",
    "is_shell_wrapper",
    "make_plain_plan",
    "normalize_executable_token",
    "payload_segment_refusal",
    "shell_script_candidate",
    "wrapper_plan",
]

_WINDOWS_SUFFIXES = (".exe", ".cmd", ".bat", ".com")
SHELL_WRAPPER_NAMES = SHELL_NAMES
"""Executable names treated as shells (see :mod:`._shells`; ``bash5.2`` also counts)."""
MAX_WRAPPER_DEPTH = 4


def _normalize(word: str) -> str:
    """Basename (POSIX or Windows, whichever is shorter), lower-cased, ``.exe`` etc. stripped."""
    posix = word.rsplit("/", 1)[-1]
    win = word.replace("/", "\\").rsplit("\\", 1)[-1]
    if ":" in win[:2] and len(win) >= 2 and win[1] == ":":
        win = win[2:]
    base = (win if len(win) < len(posix) else posix).strip().lower()
    for suffix in _WINDOWS_SUFFIXES:
        if base.endswith(suffix):
            return base[: -len(suffix)]
    return base


normalize_executable_token = WordCache(_normalize)
"""Basename (POSIX or Windows, whichever is shorter), lower-cased, ``.exe`` etc. stripped."""


def is_shell_wrapper(word: str) -> bool:
    """Whether *word* names a shell (``bash``, ``/bin/sh``, ``zsh.exe``, ``bash5.2``...)."""
    return shell_family(normalize_executable_token(word))[0]


def _wrapper_spec(argv: Sequence[str]) -> WrapperSpec | None:
    word0 = argv[0].strip() if argv else ""
    if not word0:
        return None
    spec = DISPATCH.get(normalize_executable_token(word0))
    if spec is None or not spec.applies(argv):
        return None
    return spec


def _multiplexer_applet(argv: Sequence[str]) -> tuple[str, list[str] | None]:
    """``(wrapper, applet argv)``; the argv is ``None`` unless the applet is a shell."""
    wrapper = normalize_executable_token(argv[0].strip())
    if wrapper != "busybox" or len(argv) < 2:
        return wrapper, None
    # BusyBox finds the applet by the basename of the word, case-sensitively, and has
    # no "--" (``busybox -- sh`` is "applet not found").
    applet = argv[1].rsplit("/", 1)[-1]
    if applet not in ("sh", "ash"):
        return wrapper, None
    return wrapper, list(argv[1:])


@attrs.frozen
class WrapperPlan:
    """
    What a segment really runs once wrappers are peeled off.

    Attributes:
        argv: The execution argv (after dispatch wrappers and busybox).
        policy_argv: The argv whose executable is matched against the allowlist
            (after dispatch wrappers, before busybox, as in OpenClaw 2026.4.1).
        wrappers: The wrapper names removed, outermost first.
        blocked_wrapper: The wrapper (or shell) that makes the segment a miss, or ``None``.
        shell_wrapper: ``argv`` runs a shell.
        shell_inline_command: The ``-c`` payload of that shell, if any.
        blocked_reason: Why the segment is a miss when ``blocked_wrapper`` is set.
    """

    argv: tuple[str, ...]
    policy_argv: tuple[str, ...]
    wrappers: tuple[str, ...]
    blocked_wrapper: str | None
    shell_wrapper: bool
    shell_inline_command: str | None
    blocked_reason: str | None = None

    @property
    def blocked(self) -> bool:
        """A wrapper could not be unwrapped safely, or a shell runs what is not shown."""
        return self.blocked_wrapper is not None


# The plain (no wrapper) plan is built for nearly every segment: skip the frozen __init__.
_make_plan = positional_maker(WrapperPlan)


_THROUGH_WRAPPER = (
    "a shell run through a wrapper (env, timeout, nice...) is refused, as in OpenClaw 2026.9.6"
)


def _blocked_reason(name: str, why: str) -> str:
    return f"wrapper {name!r} cannot be unwrapped safely: {why}"


def _shell_plan(
    argv: tuple[str, ...], policy_argv: tuple[str, ...], wrappers: tuple[str, ...], name: str
) -> WrapperPlan:
    _shell, family = shell_family(name)
    call = parse_shell_argv(family, name, argv)
    if call.refusal is not None:
        return _make_plan(argv, policy_argv, wrappers, name, True, None, call.refusal)  # noqa: FBT003
    return _make_plan(argv, policy_argv, wrappers, None, True, call.payload, None)  # noqa: FBT003


def make_plain_plan(argv: tuple[str, ...]) -> WrapperPlan:
    """The plan of an argv with no wrapper and no shell: itself, unchanged."""
    return _make_plan(argv, argv, (), None, False, None, None)  # noqa: FBT003


def wrapper_plan(argv: Sequence[str], max_depth: int = MAX_WRAPPER_DEPTH) -> WrapperPlan:
    """Peel dispatch wrappers and busybox off *argv*; read a shell's options by its grammar."""
    head = argv[0].strip() if argv else ""
    name = normalize_executable_token(head) if head else ""
    if name not in DISPATCH and name not in MULTIPLEXERS:
        plain = tuple(argv)
        if not shell_family(name)[0]:
            return make_plain_plan(plain)
        return _shell_plan(plain, plain, (), name)
    current = list(argv)
    policy_argv = current
    saw_multiplexer = False
    chain: list[str] = []

    def blocked(wrapper: str, why: str, at: list[str], policy: list[str]) -> WrapperPlan:
        return WrapperPlan(
            argv=tuple(at),
            policy_argv=tuple(policy),
            wrappers=tuple(chain),
            blocked_wrapper=wrapper or "unknown",
            shell_wrapper=False,
            shell_inline_command=None,
            blocked_reason=_blocked_reason(wrapper or "unknown", why),
        )

    while True:
        spec = _wrapper_spec(current)
        if spec is not None:
            if len(chain) >= max_depth:
                return blocked(
                    spec.name, f"wrappers nested deeper than {max_depth}", current, current
                )
            inner = spec.unwrap(current) if spec.unwrap is not None else None
            if inner is None or not inner:
                return blocked(spec.name, spec.reason, current, current)
            chain.append(spec.name)
            if not spec.transparent(current):
                return blocked(spec.name, spec.reason, current, current)
            current = inner
            if not saw_multiplexer:
                policy_argv = current
            continue
        word0 = current[0].strip() if current else ""
        if word0 and normalize_executable_token(word0) in MULTIPLEXERS:
            wrapper, applet = _multiplexer_applet(current)
            if applet is None:
                why = "only its sh/ash applet is unwrapped (other applets run unanalysed code)"
                return blocked(wrapper, why, current, policy_argv)
            if len(chain) >= max_depth:
                return blocked(
                    wrapper, f"wrappers nested deeper than {max_depth}", current, policy_argv
                )
            chain.append(wrapper)
            if not saw_multiplexer:
                policy_argv = current
                saw_multiplexer = True
            current = applet
            continue
        break
    raw0 = current[0].strip() if current else ""
    shell_name = normalize_executable_token(raw0) if raw0 else ""
    if shell_name and shell_family(shell_name)[0]:
        if any(w not in MULTIPLEXERS for w in chain):
            # OpenClaw 2026.9.6 refuses a shell carried by a dispatch wrapper
            # (shell-wrapper-through-carrier): never looser, so a miss.
            return _make_plan(
                tuple(current),
                tuple(policy_argv),
                tuple(chain),
                shell_name,
                True,  # noqa: FBT003 - positional
                None,
                f"{shell_name}: {_THROUGH_WRAPPER}",
            )
        return _shell_plan(tuple(current), tuple(policy_argv), tuple(chain), shell_name)
    return WrapperPlan(
        argv=tuple(current),
        policy_argv=tuple(policy_argv),
        wrappers=tuple(chain),
        blocked_wrapper=None,
        shell_wrapper=False,
        shell_inline_command=None,
    )


def extract_shell_inline_command(argv: Sequence[str], depth: int = 0) -> str | None:
    """The ``-c`` payload when *argv* (possibly behind wrappers) runs a shell, else ``None``."""
    del depth  # kept for compatibility: wrapper_plan bounds the depth itself
    if not argv:
        return None
    plan = wrapper_plan(argv)
    return None if plan.blocked or not plan.shell_wrapper else plan.shell_inline_command


def shell_script_candidate(argv: Sequence[str], policy_name: str, cwd: str) -> str | None:
    """
    The script a shell segment without ``-c`` would run (``sh ./x.sh``), lexically resolved.

    Returns ``None`` unless the shell's grammar reads a script operand and nothing that
    runs other code (``-c``/``-s``, rc and profile files, unknown options...), and for
    ``~`` paths (not expanded here: fail closed).
    """
    if not argv:
        return None
    name = normalize_executable_token(argv[0].strip())
    family_known, family = shell_family(name)
    if not family_known:
        family_known, family = shell_family(normalize_executable_token(policy_name))
        name = normalize_executable_token(policy_name)
    if not family_known:
        return None
    script = parse_shell_argv(family, name, argv).script
    if not script or script.startswith("~"):
        return None
    parts = script.split("/")
    if ".." in parts or "." in parts[1:] or "//" in script:
        return None  # lexical and kernel resolution may disagree: fail closed
    joined = script if script.startswith("/") else posixpath.join(cwd, script)
    return posixpath.normpath(joined)


def payload_segment_refusal(argv: Sequence[str], plan: WrapperPlan) -> str | None:
    """
    Why a segment *inside a shell payload* is a miss whatever the allowlist, or ``None``.

    OpenClaw 2026.9.6 never satisfies a shell nested in a payload (``bash -c 'sh -c ls'``)
    nor a payload segment whose command word is a path (``bash -c ./x``, ``bash -c
    /usr/bin/ls``); staying as strict keeps this library never looser than OpenClaw.
    """
    if plan.shell_wrapper:
        return "a shell inside a shell payload is refused, as in OpenClaw 2026.9.6"
    if argv and "/" in argv[0]:
        return "a path executable inside a shell payload is refused, as in OpenClaw 2026.9.6"
    return None
