"""
Shell argv read the way each shell reads it.

Which words are options, which word is the ``-c`` command string, which is a script, and
which options run code that the command text does not show.

Each supported shell has a :class:`ShellGrammar` (data, checked against the real binaries
in ``tests/analysis/test_class_shell_options.py``): bash (also ``rbash``), dash, busybox
``ash``, ksh93, zsh, and ``sh``, whose grammar is the intersection of bash, dash and ash
because ``/bin/sh`` is any of them. A shell known by name but without a grammar here
(``fish``, ``mksh``, ``csh``, ``pwsh``...) is always refused.

What every grammar shares (measured on bash 5.2, dash 0.5.12, BusyBox 1.35 ash, ksh 93u+m,
zsh 5.9):

* options come in ``-`` and ``+`` clusters (``-cls``, ``+x``); ``c`` in either sign selects
  command mode and the command string is the **first operand after the options**, not the
  word after ``-c``; later operands become ``$0 $1 ...``;
* option parsing stops at the first word that is not an option (``bash x.sh -c ls`` runs
  ``x.sh``), and after ``--`` or a lone ``-``;
* ``-o NAME``/``+o NAME`` (and bash's ``-O``/``+O``) take an option name: from the next
  word, one per ``o`` in the cluster, in order (bash, dash, ash), or from the rest of the
  cluster if any (``-oerrexit``, ksh and zsh);
* ``-i`` (interactive) and ``-l``/``--login`` read rc and profile files, ``-s`` or no
  operand at all reads commands from standard input: refused.

What this module refuses beyond that, because the command text would not say what runs:
bash/ksh ``-k`` (``NAME=value`` words anywhere become environment assignments), bash
``--rcfile``/``--init-file``/``--debugger``/``-O extdebug``, history expansion, ksh ``-E``
and ``-o rc`` (read ``$ENV``/``~/.kshrc`` even when not interactive), zsh without ``-f``
(zsh reads ``$ZDOTDIR/.zshenv``, by default ``~/.zshenv``, before every command), bash's
long options after a short one (bash refuses them), and every option or option name
not in the tables (the shell would refuse it, or it does something not reviewed here).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence

import attrs

__all__ = [
    "SHELL_NAMES",
    "ShellCall",
    "ShellGrammar",
    "openclaw_payload",
    "parse_shell_argv",
    "shell_family",
]

_INTERACTIVE = "an interactive shell (-i) reads rc files that the command does not show"
_LOGIN = "a login shell (-l/--login) reads profile files that the command does not show"
_KEYWORD = "-k (keyword) turns NAME=value words anywhere into environment assignments"
_HISTORY = "history expansion rewrites the command text after analysis"
_DUMP = "-D prints the command's strings instead of running it"
_NO_RUN = "does not run a command"
_STDIN = "reads commands from standard input, which is not analysed"
_OPENCLAW_SCRIPT_ELSE = (
    "OpenClaw 2026.9.6 finds another script operand (or none); refused to stay as strict"
)
_OPENCLAW_READS_ELSE = (
    "OpenClaw 2026.9.6 reads another word as the command string; refused to stay as strict"
)


@attrs.frozen
class ShellGrammar:
    """
    How one shell reads its own argv.

    Attributes:
        family: The grammar's name (``bash``, ``dash``, ``ash``, ``ksh``, ``zsh``, ``sh``).
        flags: Option letters that are harmless in either sign (``-x``, ``+e``...).
        refused: Option letters that make the segment a miss, with the reason.
        value_letters: Letters that take an option name (``o``; bash also ``O``).
        attached_value: The name may be the rest of the cluster (``-oerrexit``).
        option_names: ``-o`` names -> ``(reason if set, reason if unset)``; ``None``
            means harmless. Names not listed are refused.
        shopt_names: bash ``-O``/``+O`` names that are harmless; others are refused.
        long_options: Exact long options -> reason (``None`` = harmless), for shells
            whose long options are not ``-o`` names. Listed with a trailing ``=``:
            the option takes the next word as its value.
        long_as_o: ``--NAME`` means ``-o NAME`` (ksh, zsh).
        long_first: Long options must precede short ones (bash refuses them after).
        negatable: ``noNAME`` is ``NAME`` unset (ksh, zsh option names).
        end_letter: A letter ending option processing after its cluster (zsh ``-b``).
        rc_letter: zsh: the letter whose ``-`` form turns startup files off (``f``).
        script_refusal: Why a script operand is refused (ksh93 runs an operand that is
            not a file as command text: ``ksh 'echo; touch x'`` runs both).
        plus_c: ``+c`` selects command mode as ``-c`` does (not in ksh93: refused there).
    """

    family: str
    flags: frozenset[str]
    refused: Mapping[str, str]
    value_letters: frozenset[str] = frozenset({"o"})
    attached_value: bool = False
    option_names: Mapping[str, tuple[str | None, str | None]] = attrs.field(factory=dict)
    shopt_names: frozenset[str] = frozenset()
    long_options: Mapping[str, str | None] = attrs.field(factory=dict)
    long_as_o: bool = False
    long_first: bool = False
    negatable: bool = False
    end_letter: str | None = None
    rc_letter: str | None = None
    script_refusal: str | None = None
    plus_c: bool = True


@attrs.frozen
class ShellCall:
    """
    What a shell argv runs: exactly one of ``payload``, ``script`` and ``refusal`` is set.

    Attributes:
        family: The grammar used.
        payload: The ``-c`` command string (analysed as shell text).
        script: The script operand (satisfied only by an entry for the script itself).
        refusal: Why the segment is a miss whatever the allowlist says.
    """

    family: str
    payload: str | None = None
    script: str | None = None
    refusal: str | None = None


def _harmless(*names: str) -> dict[str, tuple[str | None, str | None]]:
    return dict.fromkeys(names, (None, None))


# Option names every grammar below accepts as harmless (POSIX `set -o`); each shell adds
# its own. Names that change how the command text is read or that run files are refused.
_POSIX_NAMES = _harmless(
    "allexport", "errexit", "noclobber", "noexec", "noglob", "nounset", "verbose", "xtrace"
)  # fmt: skip

_BASH = ShellGrammar(
    family="bash",
    # -a -b -e -f -h -m -n -p -t -u -v -x -B -C -E -P -T -r: exports, job notices, errexit,
    # noglob, hashing, monitor, noexec, privileged, one command, nounset, traces, brace
    # expansion, noclobber, traps, physical cd, restricted. None reads a file or changes
    # which words are commands.
    flags=frozenset("abefhmnptuvxBCEPTr"),
    refused={"i": _INTERACTIVE, "l": _LOGIN, "k": _KEYWORD, "H": _HISTORY, "D": _DUMP},
    value_letters=frozenset("oO"),
    option_names={
        **_POSIX_NAMES,
        **_harmless(
            "braceexpand",
            "emacs",
            "errtrace",
            "functrace",
            "hashall",
            "ignoreeof",
            "interactive-comments",
            "monitor",
            "nolog",
            "notify",
            "onecmd",
            "physical",
            "pipefail",
            "posix",
            "privileged",
            "vi",
        ),
        "keyword": (_KEYWORD, None),
        "histexpand": (_HISTORY, None),
        "history": (_HISTORY, None),
    },
    shopt_names=frozenset(
        {
            "dotglob",
            "extglob",
            "failglob",
            "globasciiranges",
            "globstar",
            "inherit_errexit",
            "lastpipe",
            "nocaseglob",
            "nocasematch",
            "nullglob",
            "shift_verbose",
            "xpg_echo",
        }
    ),
    long_options={
        "--norc": None,
        "--noprofile": None,
        "--noediting": None,
        "--posix": None,
        "--restricted": None,
        "--verbose": None,
        "--login": _LOGIN,
        "--rcfile=": "--rcfile runs a startup file that the command does not show",
        "--init-file=": "--init-file runs a startup file that the command does not show",
        "--debugger": "--debugger runs the debugger profile before the command",
        "--dump-strings": _DUMP,
        "--dump-po-strings": _DUMP,
        "--help": _NO_RUN,
        "--version": _NO_RUN,
    },
    long_first=True,
)

_DASH = ShellGrammar(
    family="dash",
    flags=frozenset("aCefnuvxImVEbp"),
    refused={"i": _INTERACTIVE, "l": _LOGIN},
    option_names={
        **_POSIX_NAMES,
        **_harmless("ignoreeof", "monitor", "vi", "emacs", "notify", "nolog", "debug"),
    },
)

_ASH = ShellGrammar(
    family="ash",
    flags=frozenset("aCefnuvxImb"),
    refused={"i": _INTERACTIVE, "l": _LOGIN},
    option_names={
        **_POSIX_NAMES,
        **_harmless("ignoreeof", "monitor", "vi", "emacs", "notify", "pipefail"),
    },
    long_options={"--login": _LOGIN},
)

# /bin/sh may be dash, bash or busybox: only what all three read the same way.
_SH = ShellGrammar(
    family="sh",
    flags=_BASH.flags & _DASH.flags & _ASH.flags,
    refused={"i": _INTERACTIVE, "l": _LOGIN, "k": _KEYWORD},
    option_names=_POSIX_NAMES,
)

_KSH = ShellGrammar(
    family="ksh",
    flags=frozenset("abefhmnprtuvxBCG"),
    refused={
        "i": _INTERACTIVE,
        "l": _LOGIN,
        "k": _KEYWORD,
        "E": "-E reads $ENV (~/.kshrc) before the command",
        "D": _DUMP,
        "H": _HISTORY,
    },
    attached_value=True,
    option_names={
        **_POSIX_NAMES,
        **_harmless("pipefail", "bgnice", "markdirs", "monitor", "notify", "trackall"),
        "rc": ("-o rc reads $ENV (~/.kshrc) before the command", None),
        "login": (_LOGIN, None),
        "interactive": (_INTERACTIVE, None),
        "keyword": (_KEYWORD, None),
        "histexpand": (_HISTORY, None),
    },
    long_options={"--help": _NO_RUN, "--version": _NO_RUN, "--man": _NO_RUN},
    long_as_o=True,
    negatable=True,
    script_refusal="ksh93 runs a script operand that is not a file as command text",
    plus_c=False,
)

_ZSH_RC = "zsh reads ~/.zshenv ($ZDOTDIR) before the command unless started with -f"
_ZSH = ShellGrammar(
    family="zsh",
    # native zsh letters: -e ERR_EXIT, -n NO_EXEC, -u NO_UNSET, -v VERBOSE, -x XTRACE
    flags=frozenset("enuvx"),
    refused={"i": _INTERACTIVE, "l": _LOGIN},
    attached_value=True,
    option_names={
        **_harmless("errexit", "xtrace", "verbose", "unset", "exec", "pipefail", "glob"),
        **_harmless("clobber", "errreturn", "allexport"),
        "rcs": (None, None),  # tracked by the parser: the last setting wins
        "login": (_LOGIN, None),
        "interactive": (_INTERACTIVE, None),
    },
    long_options={"--help": _NO_RUN, "--version": _NO_RUN, "--emulate": "--emulate"},
    long_as_o=True,
    negatable=True,
    end_letter="b",
    rc_letter="f",
)

GRAMMARS: Mapping[str, ShellGrammar] = {g.family: g for g in (_BASH, _DASH, _ASH, _SH, _KSH, _ZSH)}

# Executable name (lower case, after the version suffix is dropped) -> grammar, or None for
# a shell without a grammar here (always refused).
_FAMILY_BY_NAME: Mapping[str, str | None] = {
    "bash": "bash",
    "rbash": "bash",
    "dash": "dash",
    "ash": "ash",
    "sh": "sh",
    "ksh": "ksh",
    "ksh93": "ksh",
    "zsh": "zsh",
    **dict.fromkeys(
        (
            "csh", "elvish", "es", "fish", "hush", "lksh", "loksh", "mksh", "nu", "oksh",
            "osh", "pdksh", "posh", "rc", "rksh", "rzsh", "sash", "tcsh", "xonsh", "yash",
            "ysh", "cmd", "powershell", "pwsh",
        ),
        None,
    ),
}  # fmt: skip

SHELL_NAMES = frozenset(_FAMILY_BY_NAME)
"""Executable names read as shells (version suffixes such as ``bash5.2`` also count)."""

# bash5.2, bash-5.2, ksh93, zsh-5.9, bash-static, bash.static, sh.distrib
_VERSIONED = re.compile(r"([a-z]+?)(?:[-_.]?\d[\d.]*|[-.]static|\.distrib)\Z")


@functools.lru_cache(maxsize=1024)
def shell_family(name: str) -> tuple[bool, str | None]:
    """``(is a shell, grammar family or None)`` for a normalised executable name."""
    if name in _FAMILY_BY_NAME:
        return True, _FAMILY_BY_NAME[name]
    m = _VERSIONED.match(name)
    if m is not None and m.group(1) in _FAMILY_BY_NAME:
        return True, _FAMILY_BY_NAME[m.group(1)]
    return False, None


class _Refused(Exception):  # noqa: N818 - control flow inside this module only
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _State:
    __slots__ = ("command", "rcs", "stdin")

    def __init__(self) -> None:
        self.command = False
        self.stdin = False
        self.rcs = True


def _option_name(g: ShellGrammar, raw: str, unset: bool, state: _State) -> None:
    """Apply ``-o raw`` (``unset``: ``+o raw``); raise :class:`_Refused` when not harmless."""
    name = raw
    if g.negatable:  # zsh and ksh: case and underscores do not matter, noNAME negates
        name = raw.lower().replace("_", "").replace("-", "")
        if name not in g.option_names and name.startswith("no") and name[2:] in g.option_names:
            name, unset = name[2:], not unset
    effect = g.option_names.get(name)
    if effect is None:
        raise _Refused(f"{g.family} option name {raw!r} is not known to be harmless")
    reason = effect[1] if unset else effect[0]
    if reason is not None:
        raise _Refused(reason)
    if name == "rcs":
        state.rcs = not unset


def _shopt_name(g: ShellGrammar, raw: str) -> None:
    if raw not in g.shopt_names:
        raise _Refused(f"bash shopt name {raw!r} is not known to be harmless")


def _long(g: ShellGrammar, word: str, i: int, state: _State) -> int:
    """Handle the long option at ``argv[i]``; return the index of the next word."""
    if word in g.long_options:
        reason = g.long_options[word]
        if reason is not None:
            raise _Refused(reason if reason != "--emulate" else f"{word} is not reviewed")
        return i + 1
    if word + "=" in g.long_options:
        raise _Refused(g.long_options[word + "="] or f"{word} is not reviewed")
    if g.long_as_o and "=" not in word:
        _option_name(g, word[2:], False, state)  # noqa: FBT003 - positional flag
        return i + 1
    raise _Refused(f"{g.family} long option {word!r} is not known to be harmless")


def _cluster(
    g: ShellGrammar, word: str, argv: Sequence[str], i: int, state: _State
) -> tuple[int, bool]:
    """Handle the option cluster at ``argv[i]``; return (next index, options ended)."""
    unset = word[0] == "+"
    letters = word[1:]
    pending: list[str] = []
    ended = False
    j = 0
    while j < len(letters):
        ch = letters[j]
        j += 1
        if ch in g.value_letters:
            if g.attached_value and j < len(letters):
                value, j = letters[j:], len(letters)
                _apply_value(g, ch, value, unset, state)
            else:
                pending.append(ch)
        elif ch == "c":
            if unset and not g.plus_c:
                raise _Refused(f"{g.family} +c does not select command mode")
            state.command = True
        elif ch == "s":
            state.stdin = True
        elif ch == g.rc_letter:
            state.rcs = unset  # -f: no startup files; +f: startup files again
        elif ch == g.end_letter and not unset:
            ended = True
        elif ch in g.refused:
            raise _Refused(g.refused[ch])
        elif ch not in g.flags:
            raise _Refused(f"{g.family} option {'+' if unset else '-'}{ch} is not known")
    i += 1
    for ch in pending:
        if i >= len(argv):
            raise _Refused(f"-{ch} without an option name lists or reads options")
        value = argv[i]
        if g.attached_value and value.startswith(("-", "+")):
            raise _Refused(f"-{ch} followed by an option: the shell reads it as a listing")
        _apply_value(g, ch, value, unset, state)
        i += 1
    return i, ended


def _apply_value(g: ShellGrammar, letter: str, value: str, unset: bool, state: _State) -> None:
    if letter == "O":
        _shopt_name(g, value)
    else:
        _option_name(g, value, unset, state)


def parse_shell_argv(
    family: str | None, name: str, argv: Sequence[str], *, openclaw_floor: bool = True
) -> ShellCall:
    """
    Read *argv* (``argv[0]`` is the shell) with the grammar of *family*.

    Args:
        family: A key of the grammar table, or ``None`` for a shell without a grammar.
        name: The shell's name, for messages.
        argv: The whole argv, words exactly as the shell receives them.
        openclaw_floor: Also refuse a payload that OpenClaw 2026.9.6 reads differently
            (the tests turn it off to check the grammar alone against the real shell).

    Returns:
        The payload, the script, or why the segment must be a miss.
    """
    g = GRAMMARS.get(family) if family is not None else None
    if g is None:
        return ShellCall(name, refusal=f"no option grammar for the shell {name!r}: fail closed")
    state = _State()
    try:
        i = _options(g, argv, state)
    except _Refused as refused:
        return ShellCall(g.family, refusal=f"{name}: {refused.reason}")
    if g.rc_letter is not None and state.rcs:
        return ShellCall(g.family, refusal=f"{name}: {_ZSH_RC}")
    if state.command:
        if i >= len(argv):
            return ShellCall(g.family, refusal=f"{name}: -c without a command string")
        payload = argv[i]
        if not payload.strip():
            return ShellCall(g.family, refusal=f"{name}: empty command string runs nothing")
        if openclaw_floor and openclaw_payload(argv) != _js_trim(payload):
            # Exact, but OpenClaw 2026.9.6 reads another word (`-c -- X`, `+c X`,
            # `-c -o x X`, `-oNAME`): never looser than OpenClaw, so a miss.
            return ShellCall(g.family, refusal=f"{name}: {_OPENCLAW_READS_ELSE}")
        return ShellCall(g.family, payload=payload)
    if state.stdin or i >= len(argv):
        return ShellCall(g.family, refusal=f"{name}: {_STDIN}")
    if g.script_refusal is not None:
        return ShellCall(g.family, refusal=f"{name}: {g.script_refusal}")
    if openclaw_floor and openclaw_script(argv) != argv[i]:
        # Exact, but OpenClaw 2026.9.6 finds no script or another one (`-C x.sh`,
        # `-oNAME x.sh`): never looser than OpenClaw, so a miss.
        return ShellCall(g.family, refusal=f"{name}: {_OPENCLAW_SCRIPT_ELSE}")
    return ShellCall(g.family, script=argv[i])


def _options(g: ShellGrammar, argv: Sequence[str], state: _State) -> int:
    """Walk the options; return the index of the first operand."""
    i = 1
    seen_short = False
    while i < len(argv):
        word = argv[i]
        if word in ("--", "-"):
            return i + 1
        if word == "+":  # an empty cluster in bash, dash, ksh and ash; the end in zsh
            raise _Refused("a lone + is read differently by each shell")
        if word.startswith("--"):
            if g.long_first and seen_short:
                raise _Refused(f"{g.family} refuses long option {word!r} after short ones")
            i = _long(g, word, i, state)
            continue
        if len(word) < 2 or word[0] not in "-+":
            return i
        seen_short = True
        i, ended = _cluster(g, word, argv, i, state)
        if ended:
            return i
    return i


# --- OpenClaw 2026.9.6's reading, kept as a floor -------------------------------------------
# A port of ``resolveInlineCommandMatch`` (``shell-inline-command.ts``) for POSIX shells:
# the word after ``-c``/``-lc``/``--command``, or after a ``-…c…`` cluster plus one word per
# ``o``/``O`` in it. Where it differs from the shell's own reading, the segment is a miss.

_JS_BLANKS = " \t\n\v\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
_JS_BLANKS += "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_OC_FLAGS = frozenset({"-lc", "-c", "--command", "--commands", "--cmdline"})
_OC_WITH_VALUE = frozenset({"--init-file", "--rcfile", "-O", "-o", "+O", "+o"})
_LETTERS = re.compile(r"[A-Za-z]+\Z")
_OC_SCRIPT_STOP = re.compile(r"-[^-]*[cs][^-]*\Z", re.IGNORECASE)
_OC_SCRIPT_VALUE = frozenset({"-c", "--command", "-o", "-O", "+O", "+o"})
_OC_STARTUP = ("--rcfile", "--init-file", "--startup-file")


def _js_trim(text: str) -> str:
    return text.strip(_JS_BLANKS)


def _oc_value_count(token: str) -> int:
    return sum(1 for ch in token[1:] if ch in "oO")


def openclaw_payload(argv: Sequence[str]) -> str | None:
    """The ``-c`` payload OpenClaw 2026.9.6 finds in a POSIX shell argv (``None``: none)."""
    i = 1
    while i < len(argv):
        word = _js_trim(argv[i])
        if not word:
            i += 1
            continue
        if word == "--":
            return None
        if word in _OC_FLAGS:
            value = _js_trim(argv[i + 1]) if i + 1 < len(argv) else ""
            return value or None
        body = word[1:]
        cluster = len(word) >= 2 and word[1] != "-" and "-" not in body
        if cluster and word[0] == "-" and "c" in body:
            suffix = body[body.index("c") + 1 :]
            if suffix and not _LETTERS.match(suffix):
                return _js_trim(suffix) or None
            k = i + 1 + _oc_value_count(word)
            value = _js_trim(argv[k]) if k < len(argv) else ""
            return value or None
        if not word.startswith(("-", "+")):
            return None
        count = _oc_value_count(word) if cluster else 0
        i += 1 + count if count else (2 if word in _OC_WITH_VALUE else 1)
    return None


def openclaw_script(argv: Sequence[str]) -> str | None:
    """
    The script operand OpenClaw 2026.9.6 finds in a POSIX shell argv without ``-c``.

    A port of ``resolveShellWrapperScriptCandidatePath``: any cluster holding ``c``, ``C``,
    ``s`` or ``S`` means "no script", and ``o``/``O`` letters skip one word each.
    """
    i = 1
    while i < len(argv):
        word = _js_trim(argv[i])
        if not word:
            i += 1
            continue
        if word == "--":
            i += 1
            break
        if word in _OC_FLAGS or _OC_SCRIPT_STOP.match(word):
            return None
        if any(word == o or word.startswith(o + "=") for o in _OC_STARTUP):
            return None
        if word in _OC_SCRIPT_VALUE:
            i += 2
            continue
        if not word.startswith(("-", "+")):
            break
        body = word[1:]
        cluster = len(word) >= 2 and word[1] != "-" and "-" not in body
        count = _oc_value_count(word) if cluster else 0
        i += 1 + count if count else (2 if word in _OC_WITH_VALUE else 1)
    return _js_trim(argv[i]) or None if i < len(argv) else None
