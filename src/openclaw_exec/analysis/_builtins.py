r"""
Shell builtins: which command words are not the file of the same name, and what they may do.

When a shell runs the text (``guarded_run`` runs ``sh -c``: dash on Debian, bash
elsewhere; a ``bash -c``/``zsh -c``/``ksh -c`` payload runs in that shell), a command word
without a slash names a *builtin* before any file on ``PATH``. ``printf -v 'a[$(id)]' x``
with ``/usr/bin/printf`` allowlisted runs ``id`` in bash (array subscripts evaluate
command substitutions), ``read PATH`` changes where later commands are found, ``jobs -x``
runs a command. So every builtin of bash, dash, zsh, ksh93 and busybox ash is modelled
here as data (:data:`BUILTINS`), in one of four kinds:

* ``harmless``: no argument shape runs code or changes shell state (``echo``, ``true``,
  ``false``, ``:``, ``pwd``). The segment then goes on to the allowlist like any other:
  a file entry for ``/usr/bin/echo`` satisfies builtin ``echo``.
* ``shaped``: harmless only for argument shapes a checker proves harmless (``printf``
  without ``-v`` and with numeric literals where a numeric conversion reads an argument,
  ``test``/``[`` without ``-v``/``-R`` and with integer literals around ``-eq``..., ``kill``
  with plain signal/pid words, ``sleep`` with durations, ``which``/``type``/``whence``/
  ``where`` with plain names). Those shapes go on to the allowlist; any other shape
  **fails analysis** (it runs code or changes lookup), and no file entry can satisfy it.
* ``code``: the builtin evaluates text, defines or changes lookup, or assigns to names
  that may carry subscripts (``eval``, ``read``, ``mapfile``, ``compgen``, ``jobs``...):
  every shape **fails analysis**.
* ``state``: the builtin runs no code but changes the shell's state for the segments that
  follow or ends it (``cd``, ``umask``, ``shift``, ``exit``...), or is a builtin only in
  zsh where the name is harmless but not the file (``log``, ``echotc``): every shape is
  a **miss**, whatever the allowlist says (a human may still approve the exact text).

Builtins apply only to a command word without a slash (``/usr/bin/printf`` is the file in
every shell), after quote removal (``'printf'`` and ``\printf`` are the builtin), and
after the ``time`` keyword (``time printf -v ...`` runs the builtin in bash, zsh and ksh).
Other wrappers (``env``, ``nice``, ``timeout``...) exec a program, so a builtin name after
them is a file. ``[[``, ``((``, ``!``, ``coproc``/``function`` bodies and redirections are
parser failures already (``_shell.py``).

The union of the shells is modelled because which shell runs the text depends on the host
(``sh`` is dash or bash) and on the payload's wrapper; the classification of each name is
the strictest over the shells that have it. The real-shell tests in
``tests/analysis/test_class_builtins.py`` check each claim with bash and dash (and zsh,
ksh, busybox where the shape is theirs).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable, Mapping, Sequence

import attrs

__all__ = [
    "BUILTINS",
    "BuiltinFinding",
    "BuiltinKind",
    "BuiltinSpec",
    "builtin_spec",
    "check_builtin",
]


class BuiltinKind(enum.StrEnum):
    """How a builtin is treated (see the module docstring)."""

    HARMLESS = "harmless"  # every shape goes on to the allowlist
    SHAPED = "shaped"  # harmless shapes go on to the allowlist; others fail analysis
    CODE = "code"  # every shape fails analysis
    STATE = "state"  # every shape is a miss


_Checker = Callable[[Sequence[str]], "str | None"]


@attrs.frozen
class BuiltinSpec:
    """
    One builtin name.

    Attributes:
        name: The command word.
        shells: The shells where it is a builtin (or keyword/precommand modifier).
        kind: How it is treated.
        why: What it can do, in words (used in failure and miss reasons).
        check: For ``shaped`` builtins: given ``argv[1:]``, why the shape is not proven
            harmless, or ``None`` when it is.
    """

    name: str
    shells: frozenset[str]
    kind: BuiltinKind
    why: str
    check: _Checker | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen
class BuiltinFinding:
    """
    A segment whose command word is a builtin that is not proven harmless.

    Attributes:
        name: The builtin.
        fails_analysis: ``True``: the shape runs code or changes lookup (analysis fails);
            ``False``: the segment is a miss.
        reason: Why, in words (for a failure: the construct the parser reports).
    """

    name: str
    fails_analysis: bool
    reason: str


# --------------------------------------------------------------------------- checkers

_INTEGER = re.compile(r"[+-]?[0-9]+\Z")
# A numeric literal that no shell's arithmetic evaluates to anything but its value
# (ksh and zsh evaluate printf's numeric arguments and test's -eq operands as arithmetic
# expressions: ``PATH=0`` assigns, ``a[$(id)]`` runs id).
_NUMBER = re.compile(
    r"[+-]?(?:0[xX][0-9a-fA-F]+|[0-9]+\.?[0-9]*(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?)\Z"
)
_PLAIN_WORD = re.compile(r"[A-Za-z0-9_.+/,:@%-]+\Z")
_SIGNAL_WORD = re.compile(r"-?[A-Za-z0-9+]+\Z")
_DURATION = re.compile(r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)[smhd]?\Z|inf(?:inity)?\Z")
_TEST_ARITH_OPS = frozenset({"-eq", "-ne", "-lt", "-le", "-gt", "-ge"})
# test/[ operators that take a variable *name* (bash -v, -R): the name's subscript is
# evaluated, and a nameref test reads through it.
_TEST_NAME_OPS = frozenset({"-v", "-R"})
# printf conversions that read their argument as a string; every other conversion (and a
# '*' width or precision) reads a number, which ksh and zsh evaluate arithmetically.
_STRING_CONVERSIONS = frozenset("sbqHPRZ")
_CONVERSION = re.compile(
    r"%(?:(?P<pct>%)|(?P<time>\([^)]*\))?(?P<pos>[0-9]+\$)?[-+ #0']*"
    r"(?P<width>\*|[0-9]+)?(?:\.(?P<prec>\*|[0-9]*))?[hlLqjzt]*(?P<conv>[A-Za-z]))"
)


def _printf_slots(fmt: str) -> tuple[list[bool], bool] | None:
    """Numeric-ness of each argument slot of *fmt*, and whether it uses ``n$``; None: unknown."""
    slots: list[bool] = []
    positional = False
    i = 0
    while True:
        at = fmt.find("%", i)
        if at < 0:
            return slots, positional
        m = _CONVERSION.match(fmt, at)
        if m is None:
            return None
        i = m.end()
        if m.group("pct"):
            continue
        if m.group("pos"):
            positional = True
        if m.group("width") == "*":
            slots.append(True)
        if m.group("prec") == "*":
            slots.append(True)
        conv = m.group("conv")
        slots.append(bool(m.group("time")) or conv not in _STRING_CONVERSIONS)


def _check_printf(args: Sequence[str]) -> str | None:
    if not args:
        return None
    if args[0].startswith("-"):
        # bash -v NAME assigns (NAME may be 'a[$(id)]', 'PATH', 'BASH_CMDS[ls]'); zsh too.
        return "printf with an option (-v assigns to a variable)"
    slots = _printf_slots(args[0])
    if slots is None:
        return "printf format not understood"
    numeric, positional = slots
    rest = args[1:]
    if not rest or not any(numeric):
        return None
    if positional:
        bad = [a for a in rest if not _NUMBER.match(a)]
    else:
        # The format is reused until the arguments run out: argument i fills slot i % n.
        bad = [a for k, a in enumerate(rest) if numeric[k % len(numeric)] and not _NUMBER.match(a)]
    if bad:
        return f"printf numeric argument {bad[0]!r} is not a number literal (ksh/zsh evaluate it)"
    return None


def _check_test(args: Sequence[str]) -> str | None:
    for k, word in enumerate(args):
        if word in _TEST_NAME_OPS:
            return f"test {word} evaluates a variable name (its subscript runs code in bash)"
        if word in _TEST_ARITH_OPS:
            for side in (args[k - 1] if k > 0 else "", args[k + 1] if k + 1 < len(args) else ""):
                if side and not _INTEGER.match(side):
                    return (
                        f"test {word} operand {side!r} is not an integer literal "
                        "(ksh evaluates it arithmetically)"
                    )
    return None


def _check_bracket(args: Sequence[str]) -> str | None:
    return _check_test(args[:-1] if args and args[-1] == "]" else args)


def _check_kill(args: Sequence[str]) -> str | None:
    for word in args:
        if word != "--" and not _SIGNAL_WORD.match(word):
            return f"kill argument {word!r} is not a plain signal or process number"
    return None


def _check_sleep(args: Sequence[str]) -> str | None:
    for word in args:
        if not _DURATION.match(word):
            return f"sleep argument {word!r} is not a plain duration"
    return None


def _check_names(args: Sequence[str]) -> str | None:
    for word in args:
        if not _PLAIN_WORD.match(word):
            return f"argument {word!r} is not a plain name"
    return None


# --------------------------------------------------------------------------- the table

_B = "bash"
_D = "dash"
_Z = "zsh"
_K = "ksh"
_A = "ash"  # busybox ash (busybox sh)
_ALL = frozenset({_B, _D, _Z, _K, _A})

_EVAL = "evaluates text as shell code"
_ASSIGN = "assigns to variables whose names may carry subscripts that run code (bash, zsh)"
_LOOKUP = "changes how later command words are looked up"
_DEFINE = "defines or changes shell functions, aliases, options or traps"
_RUNS = "runs another command or builtin the allowlist never sees"
_SHELL_STATE = "changes the shell's state for the commands that follow"
_CONTROL = "ends or redirects the shell's control flow"
_JOBS = "acts on the shell's jobs"
_ZSH_KSH = "is a zsh/ksh builtin (the file of the same name is not what runs)"


def _spec(
    name: str,
    shells: Iterable[str],
    kind: BuiltinKind,
    why: str,
    check: _Checker | None = None,
) -> BuiltinSpec:
    return BuiltinSpec(name=name, shells=frozenset(shells), kind=kind, why=why, check=check)


_H, _S, _C, _T = BuiltinKind.HARMLESS, BuiltinKind.SHAPED, BuiltinKind.CODE, BuiltinKind.STATE

_TABLE: tuple[BuiltinSpec, ...] = (
    # ---- harmless in every shape, every shell
    _spec(":", _ALL, _H, "does nothing"),
    _spec("true", _ALL, _H, "does nothing"),
    _spec("false", _ALL, _H, "does nothing"),
    _spec("echo", _ALL, _H, "prints its arguments"),
    _spec("pwd", _ALL, _H, "prints the working folder"),
    # ---- harmless only in proven shapes
    _spec("printf", _ALL, _S, "prints, or assigns with -v", _check_printf),
    _spec("test", _ALL, _S, "tests files and strings, or variable names with -v", _check_test),
    _spec("[", _ALL, _S, "tests files and strings, or variable names with -v", _check_bracket),
    _spec("kill", _ALL, _S, "sends signals", _check_kill),
    _spec("sleep", {_K}, _S, "waits", _check_sleep),
    _spec("which", {_Z}, _S, "prints where a command is", _check_names),
    _spec("type", {_B, _D, _Z, _K, _A}, _S, "prints what a command word is", _check_names),
    _spec("whence", {_Z, _K}, _S, "prints what a command word is", _check_names),
    _spec("where", {_Z}, _S, "prints what a command word is", _check_names),
    # ---- evaluate text / run something the allowlist never sees
    _spec("eval", _ALL, _C, _EVAL),
    _spec(".", _ALL, _C, "runs a file as shell code"),
    _spec("source", {_B, _Z, _K, _A}, _C, "runs a file as shell code"),
    _spec("exec", _ALL, _C, "replaces the shell with another command (or redirects it)"),
    _spec("command", _ALL, _C, _RUNS),
    _spec("builtin", {_B, _Z, _K}, _C, _RUNS),
    _spec("coproc", {_B}, _C, _RUNS),
    _spec("noglob", {_Z}, _C, _RUNS),
    _spec("nocorrect", {_Z}, _C, _RUNS),
    _spec("-", {_Z}, _C, _RUNS),
    _spec("jobs", {_B, _D, _Z, _K, _A}, _C, "runs a command with -x (bash); " + _JOBS),
    _spec("trap", _ALL, _C, "runs shell code on a signal or at exit"),
    _spec("fc", {_B, _Z, _K}, _C, "re-runs or edits history as shell code"),
    _spec("r", {_Z, _K}, _C, "re-runs history as shell code (zsh/ksh)"),
    _spec("hist", {_K}, _C, "re-runs history as shell code (ksh)"),
    _spec("history", {_B, _Z, _A}, _C, "changes the history later re-run by fc"),
    _spec("let", {_B, _Z, _K, _A}, _C, "evaluates arithmetic (subscripts run code)"),
    _spec("emulate", {_Z}, _C, _EVAL + " with -c"),
    _spec("sched", {_Z}, _C, "runs shell code later"),
    _spec("zstyle", {_Z}, _C, _EVAL + " with -e"),
    _spec("zle", {_Z}, _C, _EVAL),
    _spec("bind", {_B}, _C, _DEFINE),
    _spec("bindkey", {_Z}, _C, _DEFINE),
    # ---- complete/compgen run functions and commands (-C, -F, -W expands words)
    _spec("complete", {_B}, _C, "registers or runs completion commands (-C, -F)"),
    _spec("compgen", {_B}, _C, "runs completion commands (-C, -F) and expands -W words"),
    _spec("compopt", {_B}, _C, _DEFINE),
    _spec("compctl", {_Z}, _C, "registers completion commands (-K)"),
    # ---- assign to names (subscripts run code; PATH/BASH_CMDS change lookup)
    _spec("read", _ALL, _C, _ASSIGN),
    _spec("mapfile", {_B}, _C, _ASSIGN + "; runs -C callbacks"),
    _spec("readarray", {_B}, _C, _ASSIGN + "; runs -C callbacks"),
    _spec("getopts", _ALL, _C, _ASSIGN),
    _spec("vared", {_Z}, _C, _ASSIGN),
    _spec("getln", {_Z}, _C, _ASSIGN),
    _spec("print", {_Z, _K}, _C, "prints, or assigns with -v (zsh)"),
    _spec("zparseopts", {_Z}, _C, _ASSIGN),
    _spec("zregexparse", {_Z}, _C, _ASSIGN),
    _spec("zformat", {_Z}, _C, _ASSIGN),
    _spec("wait", _ALL, _C, _ASSIGN + " (-p, bash); " + _JOBS),
    _spec("declare", {_B, _Z}, _C, _ASSIGN + "; defines functions"),
    _spec("typeset", {_B, _Z, _K}, _C, _ASSIGN + "; defines functions"),
    _spec("local", {_B, _D, _Z, _A}, _C, _ASSIGN),
    _spec("readonly", _ALL, _C, _ASSIGN),
    _spec("export", _ALL, _C, _ASSIGN + "; " + _LOOKUP + " (PATH)"),
    _spec("integer", {_Z, _K}, _C, _ASSIGN),
    _spec("float", {_Z, _K}, _C, _ASSIGN),
    _spec("private", {_Z}, _C, _ASSIGN),
    _spec("nameref", {_K}, _C, _ASSIGN),
    _spec("compound", {_K}, _C, _ASSIGN),
    _spec("enum", {_K}, _C, _DEFINE),
    _spec("unset", _ALL, _C, _ASSIGN + "; " + _LOOKUP),
    # ---- change lookup, options, aliases, functions, loaded code
    _spec("alias", _ALL, _C, _DEFINE),
    _spec("unalias", _ALL, _C, _DEFINE),
    _spec("hash", _ALL, _C, _LOOKUP + " (hash -p)"),
    _spec("rehash", {_Z}, _C, _LOOKUP),
    _spec("unhash", {_Z}, _C, _LOOKUP),
    _spec("enable", {_B, _Z}, _C, _LOOKUP + " (enable -f loads a shared object)"),
    _spec("disable", {_Z}, _C, _LOOKUP),
    _spec("zmodload", {_Z}, _C, "loads shared objects into the shell"),
    _spec("autoload", {_Z, _K}, _C, _DEFINE),
    _spec("functions", {_Z, _K}, _C, _DEFINE),
    _spec("unfunction", {_Z}, _C, _DEFINE),
    _spec("set", _ALL, _C, _DEFINE),
    _spec("shopt", {_B}, _C, _DEFINE),
    _spec("setopt", {_Z}, _C, _DEFINE),
    _spec("unsetopt", {_Z}, _C, _DEFINE),
    _spec("redirect", {_K}, _C, "redirects the shell itself (ksh exec)"),
    _spec("zcompile", {_Z}, _C, "writes compiled shell code"),
    # ---- change state for later segments / control flow / jobs: a miss
    _spec("cd", _ALL, _T, "changes the folder later segments run and resolve in"),
    _spec("chdir", {_D, _Z, _A}, _T, "changes the folder later segments run and resolve in"),
    _spec("pushd", {_B, _Z}, _T, "changes the folder later segments run and resolve in"),
    _spec("popd", {_B, _Z}, _T, "changes the folder later segments run and resolve in"),
    _spec("dirs", {_B, _Z}, _T, _SHELL_STATE),
    _spec("umask", _ALL, _T, _SHELL_STATE),
    _spec("ulimit", _ALL, _T, _SHELL_STATE),
    _spec("limit", {_Z}, _T, _SHELL_STATE),
    _spec("unlimit", {_Z}, _T, _SHELL_STATE),
    _spec("shift", _ALL, _T, _SHELL_STATE),
    _spec("exit", _ALL, _T, _CONTROL),
    _spec("logout", {_B, _Z}, _T, _CONTROL),
    _spec("bye", {_Z}, _T, _CONTROL),
    _spec("return", _ALL, _T, _CONTROL),
    _spec("break", _ALL, _T, _CONTROL),
    _spec("continue", _ALL, _T, _CONTROL),
    _spec("times", _ALL, _T, "prints the shell's times"),
    _spec("caller", {_B}, _T, "prints the call stack"),
    _spec("help", {_B, _A}, _T, "prints builtin help"),
    _spec("bg", _ALL, _T, _JOBS),
    _spec("fg", _ALL, _T, _JOBS),
    _spec("disown", {_B, _Z, _K}, _T, _JOBS),
    _spec("suspend", {_B, _Z, _K}, _T, _JOBS),
    _spec("stop", {_K}, _T, _JOBS),
    _spec("log", {_Z}, _T, _ZSH_KSH),
    _spec("pushln", {_Z}, _T, _ZSH_KSH),
    _spec("echotc", {_Z}, _T, _ZSH_KSH),
    _spec("echoti", {_Z}, _T, _ZSH_KSH),
    _spec("ttyctl", {_Z}, _T, _ZSH_KSH),
)

BUILTINS: Mapping[str, BuiltinSpec] = {spec.name: spec for spec in _TABLE}
"""Every builtin name of bash, dash, zsh, ksh93 and busybox ash, with how it is treated."""

# zsh's completion-system builtins (compadd, compset...) work only inside completion
# widgets but are still builtins of that name: the whole family is code.
_ZSH_COMP_PREFIX = "comp"
_ZSH_COMP_SPEC = BuiltinSpec(
    name="comp*", shells=frozenset({_Z}), kind=BuiltinKind.CODE, why="zsh completion builtin"
)

# Keywords that run the next words as a command in the same shell (so a builtin there is
# still the builtin): bash/zsh/ksh ``time`` (dash runs /usr/bin/time, which execs a file).
_TIME_OPTIONS = frozenset({"-p", "--"})


def _command_words(argv: Sequence[str]) -> Sequence[str]:
    i = 0
    while i < len(argv) and argv[i] == "time":
        i += 1
        while i < len(argv) and argv[i] in _TIME_OPTIONS:
            i += 1
    return argv[i:] if i else argv


def builtin_spec(word: str) -> BuiltinSpec | None:
    """The builtin *word* names as a command word, or ``None``."""
    spec = BUILTINS.get(word)
    if spec is None and word.startswith(_ZSH_COMP_PREFIX) and word.isalpha() and len(word) > 4:
        # compadd, compcall, compdescribe, compfiles, compgroups, compquote, compset,
        # comptags, comptry, compvalues, comparguments (zsh), compgen/complete (bash).
        return _ZSH_COMP_SPEC
    return spec


def check_builtin(argv: Sequence[str]) -> BuiltinFinding | None:
    """
    Whether *argv*, run by a shell, is a builtin shape the allowlist must not decide.

    Args:
        argv: The segment's words after quote removal (assignments excluded).

    Returns:
        ``None`` when the command word is no builtin, or a builtin whose shape is proven
        harmless (the allowlist then decides as for the file of that name); otherwise a
        finding that fails analysis or makes the segment a miss.
    """
    words = _command_words(argv)
    if not words:
        return None  # a bare ``time`` times nothing
    name = words[0]
    spec = builtin_spec(name)
    if spec is None:
        return None
    kind = spec.kind
    if kind is BuiltinKind.HARMLESS:
        return None
    if kind is BuiltinKind.SHAPED:
        why = spec.check(words[1:]) if spec.check is not None else "no checker"
        if why is None:
            return None
        return BuiltinFinding(name, fails_analysis=True, reason=f"shell builtin {name!r} ({why})")
    if kind is BuiltinKind.CODE:
        # The construct keeps the bare form the parser has always reported for eval & co.
        return BuiltinFinding(name, fails_analysis=True, reason=f"shell builtin {name!r}")
    return BuiltinFinding(
        name,
        fails_analysis=False,
        reason=f"shell builtin {name!r} {spec.why}; no file entry covers a builtin",
    )
