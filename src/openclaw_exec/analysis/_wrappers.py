"""
Wrapper unwrapping: dispatch wrappers, shell multiplexers and shell wrappers.

A port of OpenClaw 2026.4.1 (``exec-wrapper-tokens.ts``, ``dispatch-wrapper-resolution.ts``,
``shell-wrapper-resolution.ts``, ``exec-wrapper-trust-plan.ts``) for POSIX hosts:
``arch``, ``xcrun`` and BSD ``script`` are macOS/BSD-only and block here, as they do
in OpenClaw on Linux.
"""

from __future__ import annotations

import functools
import posixpath
import re
from collections.abc import Callable, Sequence

import attrs

from openclaw_exec._values import positional_maker

__all__ = [
    "SHELL_WRAPPER_NAMES",
    "WrapperPlan",
    "extract_shell_inline_command",
    "is_shell_wrapper",
    "normalize_executable_token",
    "shell_script_candidate",
    "wrapper_plan",
]

_WINDOWS_SUFFIXES = (".exe", ".cmd", ".bat", ".com")
SHELL_WRAPPER_NAMES = frozenset(
    {"ash", "bash", "dash", "fish", "ksh", "sh", "zsh", "cmd", "powershell", "pwsh"}
)
"""Executable names treated as shells (OpenClaw's list, Windows names included)."""
_MULTIPLEXERS = frozenset({"busybox", "toybox"})
MAX_WRAPPER_DEPTH = 4

_ENV_OPTIONS_WITH_VALUE = frozenset(
    {
        "-u",
        "--unset",
        "-c",
        "--chdir",
        "-s",
        "--split-string",
        "--default-signal",
        "--ignore-signal",
        "--block-signal",
    }
)
_ENV_INLINE_VALUE_PREFIXES = (
    "-u",
    "-c",
    "-s",
    "--unset=",
    "--chdir=",
    "--split-string=",
    "--default-signal=",
    "--ignore-signal=",
    "--block-signal=",
)
_ENV_FLAG_OPTIONS = frozenset({"-i", "--ignore-environment", "-0", "--null"})
_NICE_OPTIONS_WITH_VALUE = frozenset({"-n", "--adjustment", "--priority"})
_CAFFEINATE_OPTIONS_WITH_VALUE = frozenset({"-t", "-w"})
_STDBUF_OPTIONS_WITH_VALUE = frozenset({"-i", "--input", "-o", "--output", "-e", "--error"})
_TIME_FLAG_OPTIONS = frozenset(
    {
        "-a",
        "--append",
        "-h",
        "--help",
        "-l",
        "-p",
        "-q",
        "--quiet",
        "-v",
        "--verbose",
        "-V",
        "--version",
    }
)
_TIME_OPTIONS_WITH_VALUE = frozenset({"-f", "--format", "-o", "--output"})
_SANDBOX_EXEC_OPTIONS_WITH_VALUE = frozenset({"-f", "-p", "-d"})
_TIMEOUT_FLAG_OPTIONS = frozenset({"--foreground", "--preserve-status", "-v", "--verbose"})
_TIMEOUT_OPTIONS_WITH_VALUE = frozenset({"-k", "--kill-after", "-s", "--signal"})
_ENV_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
_NICE_NUMBER = re.compile(r"-\d+\Z")
_COMBINED_C = re.compile(r"-[^-]*c[^-]*\Z", re.IGNORECASE)
_COMBINED_S = re.compile(r"-[^-]*s[^-]*\Z", re.IGNORECASE)


@functools.lru_cache(maxsize=4096)
def normalize_executable_token(word: str) -> str:
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


def is_shell_wrapper(word: str) -> bool:
    """Whether *word* names a shell (``bash``, ``/bin/sh``, ``zsh.exe``...)."""
    return normalize_executable_token(word) in SHELL_WRAPPER_NAMES


_Directive = str  # "continue" | "stop" | "invalid" | "consume-next"


def _scan(
    argv: Sequence[str],
    on_token: Callable[[str, str], _Directive],
    separators: frozenset[str] = frozenset(),
    adjust: Callable[[int, Sequence[str]], int | None] | None = None,
) -> list[str] | None:
    idx = 1
    expects_value = False
    while idx < len(argv):
        word = argv[idx].strip()
        if not word:
            idx += 1
            continue
        if expects_value:
            expects_value = False
            idx += 1
            continue
        if word in separators:
            idx += 1
            break
        directive = on_token(word, word.lower())
        if directive == "stop":
            break
        if directive == "invalid":
            return None
        if directive == "consume-next":
            expects_value = True
        idx += 1
    if expects_value:
        return None
    command_index = adjust(idx, argv) if adjust is not None else idx
    if command_index is None or command_index >= len(argv):
        return None
    return list(argv[command_index:])


def _env_token(word: str, lower: str) -> _Directive:
    if _ENV_ASSIGNMENT.match(word):
        return "continue"
    if not word.startswith("-") or word == "-":
        return "stop"
    flag = lower.split("=", 1)[0]
    if flag in _ENV_FLAG_OPTIONS:
        return "continue"
    if flag in _ENV_OPTIONS_WITH_VALUE:
        return "continue" if "=" in lower else "consume-next"
    if lower.startswith(_ENV_INLINE_VALUE_PREFIXES):
        return "continue"
    return "invalid"


def _env_uses_modifiers(argv: Sequence[str]) -> bool:
    idx = 1
    expects_value = False
    while idx < len(argv):
        word = argv[idx].strip()
        if not word:
            idx += 1
            continue
        if expects_value:
            return True
        if word in ("--", "-"):
            break
        if _ENV_ASSIGNMENT.match(word):
            return True
        if not word.startswith("-"):
            break
        lower = word.lower()
        flag = lower.split("=", 1)[0]
        if flag in _ENV_FLAG_OPTIONS:
            return True
        if flag in _ENV_OPTIONS_WITH_VALUE:
            if "=" in lower:
                return True
            expects_value = True
            idx += 1
            continue
        return True
    return False


def _dash(on_flag: Callable[[str, str], _Directive]) -> Callable[[str, str], _Directive]:
    def on_token(word: str, lower: str) -> _Directive:
        if not word.startswith("-") or word == "-":
            return "stop"
        return on_flag(lower.split("=", 1)[0], lower)

    return on_token


def _nice(flag: str, lower: str) -> _Directive:
    if _NICE_NUMBER.match(lower):
        return "continue"
    if flag in _NICE_OPTIONS_WITH_VALUE:
        return "continue" if ("=" in lower or lower != flag) else "consume-next"
    if lower.startswith("-n") and len(lower) > 2:
        return "continue"
    return "invalid"


def _caffeinate(flag: str, lower: str) -> _Directive:
    if flag in ("-d", "-i", "-m", "-s", "-u"):
        return "continue"
    if flag in _CAFFEINATE_OPTIONS_WITH_VALUE:
        return "continue" if (lower != flag or "=" in lower) else "consume-next"
    return "invalid"


def _sandbox_exec(flag: str, lower: str) -> _Directive:
    if flag in _SANDBOX_EXEC_OPTIONS_WITH_VALUE:
        return "continue" if (lower != flag or "=" in lower) else "consume-next"
    return "invalid"


def _flags_and_values(
    flags: frozenset[str], with_value: frozenset[str]
) -> Callable[[str, str], _Directive]:
    """Options that stand alone, options whose value is ``=``-joined or the next word."""

    def on_flag(flag: str, lower: str) -> _Directive:
        if flag in flags:
            return "continue"
        if flag in with_value:
            return "continue" if "=" in lower else "consume-next"
        return "invalid"

    return on_flag


_stdbuf = _flags_and_values(frozenset(), _STDBUF_OPTIONS_WITH_VALUE)
_time = _flags_and_values(_TIME_FLAG_OPTIONS, _TIME_OPTIONS_WITH_VALUE)
_timeout = _flags_and_values(_TIMEOUT_FLAG_OPTIONS, _TIMEOUT_OPTIONS_WITH_VALUE)


def _nohup(word: str, lower: str) -> _Directive:
    if not word.startswith("-") or word == "-":
        return "stop"
    return "continue" if lower in ("--help", "--version") else "invalid"


def _timeout_adjust(index: int, argv: Sequence[str]) -> int | None:
    return index + 1 if index + 1 < len(argv) else None


_DD = frozenset({"--"})

# name -> (unwrap function or None = always blocked, transparent predicate)
_DISPATCH: dict[
    str, tuple[Callable[[Sequence[str]], list[str] | None] | None, Callable[[Sequence[str]], bool]]
] = {
    "arch": (lambda _argv: None, lambda _argv: False),
    "caffeinate": (lambda a: _scan(a, _dash(_caffeinate), _DD), lambda _a: True),
    "chrt": (None, lambda _a: False),
    "doas": (None, lambda _a: False),
    "env": (
        lambda a: _scan(a, _env_token, frozenset({"--", "-"})),
        lambda a: not _env_uses_modifiers(a),
    ),
    "ionice": (None, lambda _a: False),
    "nice": (lambda a: _scan(a, _dash(_nice), _DD), lambda _a: True),
    "nohup": (lambda a: _scan(a, _nohup, _DD), lambda _a: True),
    "sandbox-exec": (lambda a: _scan(a, _dash(_sandbox_exec), _DD), lambda _a: True),
    "script": (lambda _argv: None, lambda _a: True),
    "setsid": (None, lambda _a: False),
    "stdbuf": (lambda a: _scan(a, _dash(_stdbuf), _DD), lambda _a: True),
    "sudo": (None, lambda _a: False),
    "taskset": (None, lambda _a: False),
    "time": (lambda a: _scan(a, _dash(_time), _DD), lambda _a: True),
    "timeout": (lambda a: _scan(a, _dash(_timeout), _DD, _timeout_adjust), lambda _a: True),
    "xcrun": (lambda _argv: None, lambda _a: False),
}


def _dispatch_unwrap(argv: Sequence[str]) -> tuple[str, str, list[str] | None]:
    """Return (kind, wrapper, argv): kind is "not-wrapper", "blocked" or "unwrapped"."""
    word0 = argv[0].strip() if argv else ""
    if not word0:
        return "not-wrapper", "", None
    wrapper = normalize_executable_token(word0)
    spec = _DISPATCH.get(wrapper)
    if spec is None:
        return "not-wrapper", "", None
    unwrap, _transparent = spec
    if unwrap is None:
        return "blocked", wrapper, None
    inner = unwrap(argv)
    if inner is None:
        return "blocked", wrapper, None
    return "unwrapped", wrapper, inner


def _multiplexer_unwrap(argv: Sequence[str]) -> tuple[str, str, list[str] | None]:
    word0 = argv[0].strip() if argv else ""
    if not word0:
        return "not-wrapper", "", None
    wrapper = normalize_executable_token(word0)
    if wrapper not in _MULTIPLEXERS:
        return "not-wrapper", "", None
    index = 1
    if len(argv) > index and argv[index].strip() == "--":
        index += 1
    applet = argv[index].strip() if len(argv) > index else ""
    if not applet or not is_shell_wrapper(applet):
        return "blocked", wrapper, None
    return "unwrapped", wrapper, list(argv[index:])


@attrs.frozen
class WrapperPlan:
    """
    What a segment really runs once wrappers are peeled off.

    Attributes:
        argv: The execution argv (after dispatch wrappers and busybox/toybox).
        policy_argv: The argv whose executable is matched against the allowlist
            (after dispatch wrappers, before busybox/toybox, as in OpenClaw 2026.4.1).
        wrappers: The wrapper names removed, outermost first.
        blocked_wrapper: The wrapper that could not be unwrapped safely, or ``None``.
        shell_wrapper: ``argv`` runs a shell.
        shell_inline_command: The ``-c`` payload of that shell, if any.
    """

    argv: tuple[str, ...]
    policy_argv: tuple[str, ...]
    wrappers: tuple[str, ...]
    blocked_wrapper: str | None
    shell_wrapper: bool
    shell_inline_command: str | None

    @property
    def blocked(self) -> bool:
        """A wrapper could not be unwrapped safely: the segment is a miss."""
        return self.blocked_wrapper is not None


# The plain (no wrapper) plan is built for nearly every segment: skip the frozen __init__.
_make_plan = positional_maker(WrapperPlan)


def _dispatch_plan(argv: list[str], max_depth: int) -> tuple[list[str], list[str], str | None]:
    current = argv
    wrappers: list[str] = []
    for _ in range(max_depth):
        kind, wrapper, inner = _dispatch_unwrap(current)
        if kind == "blocked":
            return current, wrappers, wrapper
        if kind != "unwrapped" or not inner:
            break
        wrappers.append(wrapper)
        if not _DISPATCH[wrapper][1](current):
            return current, wrappers, wrapper
        current = inner
    if len(wrappers) >= max_depth:
        kind, wrapper, _inner = _dispatch_unwrap(current)
        if kind in ("blocked", "unwrapped"):
            return current, wrappers, wrapper
    return current, wrappers, None


def wrapper_plan(argv: Sequence[str], max_depth: int = MAX_WRAPPER_DEPTH) -> WrapperPlan:
    """Peel dispatch wrappers and shell multiplexers off *argv* (OpenClaw's trust plan)."""
    head = argv[0].strip() if argv else ""
    name = normalize_executable_token(head) if head else ""
    if name not in _DISPATCH and name not in _MULTIPLEXERS:
        plain = tuple(argv)
        if name not in SHELL_WRAPPER_NAMES:
            return _make_plan(plain, plain, (), None, False, None)  # noqa: FBT003 - positional
        # A shell run directly: nothing to peel off; its -c payload, if any.
        return _make_plan(plain, plain, (), None, True, _shell_payload(plain))  # noqa: FBT003
    current = list(argv)
    policy_argv = current
    saw_multiplexer = False
    chain: list[str] = []

    def blocked(wrapper: str, at: list[str], policy: list[str]) -> WrapperPlan:
        return WrapperPlan(
            argv=tuple(at),
            policy_argv=tuple(policy),
            wrappers=tuple(chain),
            blocked_wrapper=wrapper or "unknown",
            shell_wrapper=False,
            shell_inline_command=None,
        )

    for _ in range(max_depth):
        inner, wrappers, blocked_by = _dispatch_plan(current, max_depth - len(chain))
        if blocked_by is not None:
            return blocked(blocked_by, inner, inner)
        if wrappers:
            chain.extend(wrappers)
            current = inner
            if not saw_multiplexer:
                policy_argv = current
            if len(chain) >= max_depth:
                break
            continue
        kind, wrapper, unwrapped = _multiplexer_unwrap(current)
        if kind == "blocked":
            return blocked(wrapper, current, policy_argv)
        if kind == "unwrapped" and unwrapped is not None:
            chain.append(wrapper)
            if not saw_multiplexer:
                policy_argv = current
                saw_multiplexer = True
            current = unwrapped
            if len(chain) >= max_depth:
                break
            continue
        break
    if len(chain) >= max_depth:
        kind, wrapper, _x = _dispatch_unwrap(current)
        if kind in ("blocked", "unwrapped"):
            return blocked(wrapper, current, policy_argv)
        kind, wrapper, _x = _multiplexer_unwrap(current)
        if kind in ("blocked", "unwrapped"):
            return blocked(wrapper, current, policy_argv)
    raw0 = current[0].strip() if current else ""
    shell = bool(raw0) and is_shell_wrapper(raw0)
    return WrapperPlan(
        argv=tuple(current),
        policy_argv=tuple(policy_argv),
        wrappers=tuple(chain),
        blocked_wrapper=None,
        shell_wrapper=shell,
        shell_inline_command=extract_shell_inline_command(current) if shell else None,
    )


_POSIX_INLINE_FLAGS = frozenset({"-lc", "-c", "--command"})
_POWERSHELL_INLINE_FLAGS = frozenset(
    {"-c", "-command", "--command", "-f", "-file", "-encodedcommand", "-enc", "-e"}
)


def _inline_by_flags(argv: Sequence[str], flags: frozenset[str], *, combined_c: bool) -> str | None:
    for i in range(1, len(argv)):
        word = argv[i].strip()
        if not word:
            continue
        lower = word.lower()
        if lower == "--":
            break
        if lower in flags:
            value = argv[i + 1].strip() if i + 1 < len(argv) else ""
            return value or None
        if combined_c and _COMBINED_C.match(word):
            inline = word[lower.index("c") + 1 :].strip()
            if inline:
                return inline
            value = argv[i + 1].strip() if i + 1 < len(argv) else ""
            return value or None
    return None


def _shell_payload(argv: Sequence[str]) -> str | None:
    base = normalize_executable_token(argv[0].strip())
    if base == "cmd":
        for idx, item in enumerate(argv):
            if item.strip().lower() in ("/c", "/k"):
                tail = " ".join(argv[idx + 1 :]).strip()
                return tail or None
        return None
    if base in ("powershell", "pwsh"):
        return _inline_by_flags(argv, _POWERSHELL_INLINE_FLAGS, combined_c=False)
    return _inline_by_flags(argv, _POSIX_INLINE_FLAGS, combined_c=True)


def extract_shell_inline_command(argv: Sequence[str], depth: int = 0) -> str | None:
    """The ``-c`` payload when *argv* (possibly behind wrappers) runs a shell, else ``None``."""
    if depth > MAX_WRAPPER_DEPTH or not argv or not argv[0].strip():
        return None
    kind, _w, inner = _dispatch_unwrap(argv)
    if kind == "blocked":
        return None
    if kind == "unwrapped" and inner is not None:
        return extract_shell_inline_command(inner, depth + 1)
    kind, _w, inner = _multiplexer_unwrap(argv)
    if kind == "blocked":
        return None
    if kind == "unwrapped" and inner is not None:
        return extract_shell_inline_command(inner, depth + 1)
    if not is_shell_wrapper(argv[0]):
        return None
    return _shell_payload(argv)


_SHELL_OPTIONS_WITH_VALUE = frozenset({"-c", "--command", "-o", "-O", "+O"})
_DISQUALIFYING = ("--rcfile", "--init-file", "--startup-file")


def shell_script_candidate(argv: Sequence[str], policy_name: str, cwd: str) -> str | None:
    """
    The script a shell segment without ``-c`` would run (``sh ./x.sh``), lexically resolved.

    Returns ``None`` for ``-c``/``-s`` forms, startup-file options, ``~`` paths
    (not expanded here: fail closed) or when no script operand is present.
    """
    if not (is_shell_wrapper(policy_name) or is_shell_wrapper(argv[0] if argv else "")):
        return None
    if len(argv) < 2:
        return None
    idx = 1
    while idx < len(argv):
        word = argv[idx].strip()
        if not word:
            idx += 1
            continue
        if word == "--":
            idx += 1
            break
        if word in ("-c", "--command") or _COMBINED_C.match(word):
            return None
        if word == "-s" or _COMBINED_S.match(word):
            return None
        if any(word == o or word.startswith(o + "=") for o in _DISQUALIFYING):
            return None
        if word in _SHELL_OPTIONS_WITH_VALUE:
            idx += 2
            continue
        if word.startswith(("-", "+")):
            idx += 1
            continue
        break
    script = argv[idx].strip() if idx < len(argv) else ""
    if not script or script.startswith("~"):
        return None
    parts = script.split("/")
    if ".." in parts or "." in parts[1:] or "//" in script:
        return None  # lexical and kernel resolution may disagree: fail closed
    joined = script if script.startswith("/") else posixpath.join(cwd, script)
    return posixpath.normpath(joined)
