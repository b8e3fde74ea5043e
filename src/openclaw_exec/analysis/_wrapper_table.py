"""
The table of programs that run other programs ("dispatch wrappers"), as data.

Each row is a :class:`WrapperSpec`: either an option grammar that finds the inner command
(``timeout 5 ls`` runs ``ls``) and says when the wrapper is transparent, or no grammar
and the reason the segment is always a miss. A transparent wrapper is removed and the
inner command is matched and analysed as if it stood alone (OpenClaw's semantics); a
wrapper used with modifiers (``env X=1``, ``time -o FILE``), with options outside its
grammar, or without an inner command blocks the segment. A wrapper's own allowlist
entry never satisfies a segment: either its inner command is analysed, or it is a miss.

The unwrapping grammars are OpenClaw 2026.9.6's (``exec-wrapper-resolution``); every
program that 2026.9.6 blocks is blocked here too, and the rows it does not know
(``strace``, ``prlimit``, ``parallel``, ``ssh-agent``...) are blocked as well, so this
table is never looser than OpenClaw's. Tests: ``tests/analysis/test_class_wrappers.py``
(one per row).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

import attrs

__all__ = ["DISPATCH", "MULTIPLEXERS", "SUBCOMMAND_RUNNERS", "WrapperSpec"]

_Unwrap = Callable[[Sequence[str]], "list[str] | None"]
_Directive = str  # "continue" | "stop" | "invalid" | "consume-next"


@attrs.frozen
class WrapperSpec:
    """
    One program that runs another.

    Attributes:
        name: The executable name (lower case, no directory, no ``.exe``).
        unwrap: Returns the inner argv, or ``None`` when the options are not understood
            or no command follows; ``None`` here means the program is always blocked.
        transparent: Whether this use of the wrapper leaves the inner command's
            meaning alone (``env`` without assignments, ``time`` without ``-o``).
        reason: Why a blocked use is a miss (shown as the segment's miss reason).
        applies: Whether this argv uses the program as a wrapper at all (``ip addr`` does
            not, ``ip netns exec`` does); when not, it is an ordinary command.
    """

    name: str
    unwrap: _Unwrap | None
    transparent: Callable[[Sequence[str]], bool]
    reason: str
    applies: Callable[[Sequence[str]], bool] = attrs.field(factory=lambda: _always)


def _always(_argv: Sequence[str]) -> bool:
    return True


_IP_BATCH = re.compile(r"--?b(?:a(?:t(?:ch?)?)?)?\Z")


def _ip_runs_commands(argv: Sequence[str]) -> bool:
    """
    ``ip netns exec NS CMD``, ``ip vrf exec VRF CMD``, ``ip -batch FILE``.

    iproute2 accepts any prefix of a keyword (``ip netns e``) and ``-b`` for ``-batch``
    (``-br`` is ``-brief``).
    """
    return any(w in ("e", "ex", "exe", "exec") or _IP_BATCH.match(w) for w in argv[1:])


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


# --- env ---------------------------------------------------------------------------------

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
_ENV_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")


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


def _env_plain(argv: Sequence[str]) -> bool:
    """``env`` without assignments or options (anything else changes the environment)."""
    idx = 1
    expects_value = False
    while idx < len(argv):
        word = argv[idx].strip()
        if not word:
            idx += 1
            continue
        if expects_value:
            return False
        if word in ("--", "-"):
            break
        if _ENV_ASSIGNMENT.match(word):
            return False
        if not word.startswith("-"):
            break
        lower = word.lower()
        flag = lower.split("=", 1)[0]
        if flag in _ENV_FLAG_OPTIONS:
            return False
        if flag in _ENV_OPTIONS_WITH_VALUE:
            if "=" in lower:
                return False
            expects_value = True
            idx += 1
            continue
        return False
    return True


# --- dash-option wrappers (OpenClaw's grammars) ------------------------------------------


def _dash(on_flag: Callable[[str, str], _Directive]) -> Callable[[str, str], _Directive]:
    def on_token(word: str, lower: str) -> _Directive:
        if not word.startswith("-") or word == "-":
            return "stop"
        return on_flag(lower.split("=", 1)[0], lower)

    return on_token


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


_NICE_NUMBER = re.compile(r"-\d+\Z")


def _nice(flag: str, lower: str) -> _Directive:
    if _NICE_NUMBER.match(lower):
        return "continue"
    if flag in ("-n", "--adjustment", "--priority"):
        return "continue" if ("=" in lower or lower != flag) else "consume-next"
    if lower.startswith("-n") and len(lower) > 2:
        return "continue"
    return "invalid"


def _caffeinate(flag: str, lower: str) -> _Directive:
    if flag in ("-d", "-i", "-m", "-s", "-u"):
        return "continue"
    if flag in ("-t", "-w"):
        return "continue" if (lower != flag or "=" in lower) else "consume-next"
    return "invalid"


def _sandbox_exec(flag: str, lower: str) -> _Directive:
    if flag in ("-f", "-p", "-d"):
        return "continue" if (lower != flag or "=" in lower) else "consume-next"
    return "invalid"


def _nohup(word: str, lower: str) -> _Directive:
    if not word.startswith("-") or word == "-":
        return "stop"
    return "continue" if lower in ("--help", "--version") else "invalid"


_TIME_WITH_VALUE = frozenset({"-f", "--format", "-o", "--output"})
_time = _flags_and_values(
    frozenset(
        {"-a", "--append", "-h", "--help", "-l", "-p", "-q", "--quiet"}
        | {"-v", "--verbose", "-V", "--version"}
    ),
    _TIME_WITH_VALUE,
)
_stdbuf = _flags_and_values(
    frozenset(), frozenset({"-i", "--input", "-o", "--output", "-e", "--error"})
)
_timeout = _flags_and_values(
    frozenset({"--foreground", "--preserve-status", "-v", "--verbose"}),
    frozenset({"-k", "--kill-after", "-s", "--signal"}),
)


def _time_without_output(argv: Sequence[str]) -> bool:
    """``time -o FILE`` writes a file: not transparent (as OpenClaw 2026.9.6)."""
    expects_value = False
    for raw in argv[1:]:
        word = raw.strip()
        if not word:
            continue
        if expects_value:
            expects_value = False
            continue
        if word in ("--", "-") or not word.startswith("-"):
            return True
        flag = word.lower().split("=", 1)[0]
        if flag in ("-o", "--output"):
            return False
        if flag in _TIME_WITH_VALUE and "=" not in word:
            expects_value = True
    return True


def _after_first_operand(index: int, argv: Sequence[str]) -> int | None:
    """``timeout DURATION CMD``: the command is the operand after the first."""
    return index + 1 if index + 1 < len(argv) else None


# flock [options] FILE|DIR CMD [ARG...] (``flock FILE -c CMD`` and ``flock -c`` run
# $SHELL -c: blocked). util-linux stops at the first operand; the word after it is the
# command, and a command starting with '-' is ``-c``/``--command`` or an error.
_FLOCK_FLAGS = frozenset("eFnsxo")
_FLOCK_LONG_FLAGS = frozenset(
    {"--close", "--exclusive", "--nb", "--no-fork", "--nonblock", "--shared", "--verbose"}
)
_FLOCK_LONG_WITH_VALUE = frozenset({"--conflict-exit-code", "--timeout", "--wait"})


def _flock_token(word: str, lower: str) -> _Directive:
    if not word.startswith("-") or word == "-":
        return "stop"
    if word.startswith("--"):
        flag = lower.split("=", 1)[0]
        if flag in _FLOCK_LONG_FLAGS:
            return "continue"
        if flag in _FLOCK_LONG_WITH_VALUE:
            return "continue" if "=" in word else "consume-next"
        return "invalid"
    if word in ("-E", "-w"):
        return "consume-next"
    # a cluster of flags only: OpenClaw 2026.9.6 refuses -w5, -nw 5 and the like
    return "continue" if all(ch in _FLOCK_FLAGS for ch in word[1:]) else "invalid"


def _flock_command(index: int, argv: Sequence[str]) -> int | None:
    command = index + 1
    if command >= len(argv):
        return None
    word = argv[command].strip()
    return command if word and (not word.startswith("-") or word == "-") else None


def _grammar(
    on_token: Callable[[str, str], _Directive],
    adjust: Callable[[int, Sequence[str]], int | None] | None = None,
) -> _Unwrap:
    dd = frozenset({"--"})
    return lambda argv: _scan(argv, on_token, dd, adjust)


# --- reasons for the blocked rows --------------------------------------------------------

_PRIVILEGE = (
    "runs its command as another user or with other privileges: always a miss (approve it once)"
)
_ISOLATION = "runs its command in another root, namespace or sandbox, where paths differ"
_SCHEDULING = "runs its command with other scheduling, limits or personality"
_TRACER = "runs its command under a tracer or debugger whose options run or change code"
_SHELL_STRING = "runs its command through a shell string or repeatedly"
_FANOUT = "runs commands built from its arguments or input"
_DETACHED = "runs its command detached, later or in another terminal"
_PRELOAD = "runs its command with a preloaded library or a changed environment"
_AGENT = "runs its command as the child of an agent or bus it starts"
_RUNNER = "runs a command (or package) named on its command line"
_MACOS = "is a macOS wrapper; not unwrapped on this platform"
_IP_EXEC = "ip netns/vrf exec and ip -batch run commands"

_BLOCKED: dict[str, str] = {
    **dict.fromkeys(
        (
            "sudo", "sudoedit", "doas", "su", "runuser", "pkexec", "run0", "sg", "newgrp",
            "setpriv", "gosu", "su-exec", "chpst", "setuidgid", "envuidgid", "capsh",
            "ksu", "calife", "super", "userv",
        ),
        _PRIVILEGE,
    ),
    **dict.fromkeys(
        (
            "unshare", "nsenter", "chroot", "bwrap", "firejail", "proot", "fakechroot",
            "fakeroot", "schroot", "systemd-nspawn", "systemd-run", "lxc-attach",
            "lxc-execute", "cgexec",
        ),
        _ISOLATION,
    ),
    **dict.fromkeys(
        (
            "chrt", "ionice", "taskset", "numactl", "cpulimit", "prlimit", "setarch",
            "linux32", "linux64", "i386", "x86_64", "uname26", "softlimit", "timelimit",
            "systemd-inhibit", "nocache", "chronic", "ifne", "lckdo", "with-lock-ex",
        ),
        _SCHEDULING,
    ),
    **dict.fromkeys(
        (
            "strace", "ltrace", "valgrind", "catchsegv", "rr", "uftrace", "heaptrack",
            "perf", "gdb", "lldb", "ktrace", "dtruss",
        ),
        _TRACER,
    ),
    **dict.fromkeys(("watch", "script", "pee", "hyperfine", "entr", "expect"), _SHELL_STRING),
    **dict.fromkeys(("parallel", "sem", "env_parallel", "run-parts", "xjobs"), _FANOUT),
    **dict.fromkeys(
        (
            "setsid", "daemonize", "start-stop-daemon", "at", "batch", "tmux", "screen",
            "dtach", "abduco", "xvfb-run", "unbuffer",
        ),
        _DETACHED,
    ),
    **dict.fromkeys(
        (
            "eatmydata", "trickle", "torify", "torsocks", "tsocks", "proxychains",
            "proxychains4", "faketime",
        ),
        _PRELOAD,
    ),
    **dict.fromkeys(("ssh-agent", "gpg-agent", "dbus-launch", "dbus-run-session"), _AGENT),
    **dict.fromkeys(
        (
            "uvx", "pipx", "nix-shell", "flatpak-spawn",
            "distrobox-enter", "systemd-cat", "xinit", "startx", "tsp", "setlock", "envdir",
            "fghack", "pgrphack", "please", "sudo-rs",
        ),
        _RUNNER,
    ),
    **dict.fromkeys(("arch", "xcrun"), _MACOS),
}  # fmt: skip


def _build() -> dict[str, WrapperSpec]:
    unwrapping: list[WrapperSpec] = [
        WrapperSpec(
            "env",
            lambda a: _scan(a, _env_token, frozenset({"--", "-"})),
            _env_plain,
            "env with assignments or options changes the command's environment",
        ),
        WrapperSpec("nice", _grammar(_dash(_nice)), _always, "nice options not understood"),
        WrapperSpec("nohup", _grammar(_nohup), _always, "nohup options not understood"),
        WrapperSpec("stdbuf", _grammar(_dash(_stdbuf)), _always, "stdbuf options not understood"),
        WrapperSpec(
            "time",
            _grammar(_dash(_time)),
            _time_without_output,
            "time -o writes a file, or its options are not understood",
        ),
        WrapperSpec(
            "timeout",
            _grammar(_dash(_timeout), _after_first_operand),
            _always,
            "timeout options not understood, or no command",
        ),
        WrapperSpec(
            "flock",
            _grammar(_flock_token, _flock_command),
            _always,
            "flock -c/--command runs $SHELL -c, or its options are not understood",
        ),
        WrapperSpec(
            "caffeinate",
            _grammar(_dash(_caffeinate)),
            _always,
            "caffeinate options not understood",
        ),
        WrapperSpec(
            "sandbox-exec",
            _grammar(_dash(_sandbox_exec)),
            _always,
            "sandbox-exec options not understood",
        ),
    ]
    table = {spec.name: spec for spec in unwrapping}
    for name, reason in _BLOCKED.items():
        table[name] = WrapperSpec(name, None, _always, reason)
    table["ip"] = WrapperSpec("ip", None, _always, _IP_EXEC, _ip_runs_commands)
    for name, words in SUBCOMMAND_RUNNERS.items():
        reason = f"{name} {'/'.join(sorted(words))} runs a command given on its command line"
        table[name] = WrapperSpec(name, None, _always, reason, _has_word(words))
    return table


def _has_word(words: frozenset[str]) -> Callable[[Sequence[str]], bool]:
    # Any word, not only the first operand: an option value (`npm --prefix x exec`) must not
    # hide the subcommand; a false match (`npm install exec`) only asks a human.
    return lambda argv: any(w in words for w in argv[1:])


SUBCOMMAND_RUNNERS: Mapping[str, frozenset[str]] = {
    name: frozenset(words.split())
    for name, words in {
        "yarn": "exec dlx",
        "bun": "x",
        "poetry": "run shell",
        "pipenv": "run shell",
        "uv": "run",
        "pdm": "run",
        "rye": "run",
        "hatch": "run shell",
        "pixi": "run exec shell",
        "conda": "run",
        "mamba": "run",
        "micromamba": "run",
        "bundle": "exec",
        "bundler": "exec",
        "opam": "exec",
        "stack": "exec",
        "cabal": "exec",
        "nix": "run shell develop",
        "guix": "shell environment",
        "flatpak": "run",
        "lxc": "exec",
        "incus": "exec",
        "toolbox": "run enter",
        "machinectl": "shell",
    }.items()
}
"""
Programs whose subcommand runs a command given on the command line (``uv run CMD``).

``npm exec``/``npx``/``pnpm dlx``/``bunx`` are rows of the danger profiles
(:mod:`._danger_rows`), which refuse them with their own reasons.
"""


DISPATCH: Mapping[str, WrapperSpec] = _build()
"""Every program that runs another, by normalised name."""

MULTIPLEXERS = frozenset({"busybox", "toybox"})
"""Multi-call binaries: unwrapped only to a shell applet with an option grammar."""
