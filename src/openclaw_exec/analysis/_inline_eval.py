"""
Inline eval: an interpreter asked to run code that is not a file an entry names.

A port of OpenClaw 2026.9.6's ``command-analysis/inline-eval.ts`` (its flag table, short
clusters such as ``-Ic``/``-pe``/``-lne``, attached and ``--flag=`` forms, abbreviations
and version-suffixed names such as ``python3.11``/``node22``), extended with forms it does
not see (listed in ``docs/analysis.md``, "Inline eval"):

* module runners: ``python3 -m timeit '…'``, ``perl -M'…'``/``-m``/``-d:``;
* programs on stdin: ``… | python3``, ``python3 -``, ``node``, ``perl``, ``ruby``,
  ``php``, ``lua``, ``tclsh``/``wish``/``expect``, ``osascript`` without a script operand,
  ``ex`` and ``vim -e``/``-es`` (ex commands on stdin);
* ``sed --expression=…``, ``vim``/``nvim``/``ex`` ``-c``/``--cmd``/``+cmd``/``-S``,
  ``gdb --ex``, ``deno eval``, ``node --import data:…``;
* more names: ``py``, ``pythonw``, ``ipython``, ``micropython``, ``jython``, ``graalpy``,
  ``ts-node``, ``tclsh``, ``wish``, ``jimsh``, the ``vim`` family, and ``-dbg`` / ``.tiny``
  style suffixes.

Under ``strict_inline_eval`` every hit needs a human even with the interpreter allowlisted,
and allow-always persists nothing for the request; :func:`is_interpreter_like` keeps an
interpreter path out of allow-always in every mode.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

import attrs

from openclaw_exec.analysis._inline_eval_table import (
    FLAG_SPECS,
    INTERPRETER_NAMES,
    POSITIONAL_SPECS,
    Cluster,
    FlagSpec,
    PositionalSpec,
    StdinSpec,
)
from openclaw_exec.analysis._wrappers import normalize_executable_token

__all__ = [
    "INTERPRETER_NAMES",
    "STDIN",
    "InlineEvalHit",
    "detect_carried_inline_eval",
    "detect_inline_eval",
    "has_inline_eval_spec",
    "interpreter_name_variants",
    "is_interpreter_like",
]

STDIN = "<stdin>"
"""The flag of a hit whose program comes from standard input."""


@attrs.frozen
class InlineEvalHit:
    """
    An interpreter asked to run code given on its command line (or on stdin).

    Attributes:
        executable: ``argv[0]`` as typed.
        normalized_executable: Its normalised basename (``python3``).
        flag: The flag (``-c``), or ``<program>`` / ``<command>`` for positional forms,
            or ``<stdin>`` for a program read from standard input.
    """

    executable: str
    normalized_executable: str
    flag: str

    def describe(self) -> str:
        """OpenClaw's wording: ``python3 -c``, ``awk inline program``..."""
        if self.flag == "<command>":
            return f"{self.normalized_executable} inline command"
        if self.flag == "<program>":
            return f"{self.normalized_executable} inline program"
        if self.flag == STDIN:
            return f"{self.normalized_executable} program on stdin"
        return f"{self.normalized_executable} {self.flag}"


# --------------------------------------------------------------------------- names

# OpenClaw's version suffix (python3.11 -> python, node22 -> node), after our own
# build suffixes (python3.11-dbg, vim.tiny, perl5.36-x86_64-linux-gnu).
_VERSION_SUFFIX = re.compile(r"-?\d+(?:\.\d+)*\Z")
_BUILD_SUFFIX = re.compile(
    r"(?:-dbg|-debug|\.(?:tiny|basic|nox|gtk3?|athena|motif|gnome)"
    r"|-(?:x86_64|i[3-6]86|aarch64|arm\w*|riscv64|ppc64\w*|s390x|mips\w*)-linux-gnu\w*)\Z"
)


@functools.lru_cache(maxsize=2048)
def interpreter_name_variants(name: str) -> tuple[str, ...]:
    """*name*, and *name* without a build and version suffix (``python3.11-dbg``)."""
    out = [name]
    base = _BUILD_SUFFIX.sub("", name)
    if base and base != name:
        out.append(base)
    stripped = _VERSION_SUFFIX.sub("", base)
    if len(stripped) >= 2 and stripped != base:
        out.append(stripped)
    return tuple(out)


# First spec per name (OpenClaw's order: the first spec naming a variant wins).
_FLAG_BY_NAME: dict[str, FlagSpec] = {}
for _spec in FLAG_SPECS:
    for _name in _spec.names:
        _FLAG_BY_NAME.setdefault(_name, _spec)
_POSITIONAL_BY_NAME = {name: pspec for pspec in POSITIONAL_SPECS for name in pspec.names}


def has_inline_eval_spec(normalized: str) -> bool:
    """Whether any name variant of *normalized* has an inline-eval spec (flag or positional)."""
    return _find_flag_spec(normalized) is not None or _find_positional_spec(normalized) is not None


def _find_flag_spec(normalized: str) -> FlagSpec | None:
    for variant in interpreter_name_variants(normalized):
        found = _FLAG_BY_NAME.get(variant)
        if found is not None:
            return found
    return None


def _find_positional_spec(normalized: str) -> PositionalSpec | None:
    for variant in interpreter_name_variants(normalized):
        found = _POSITIONAL_BY_NAME.get(variant)
        if found is not None:
            return found
    return None


# --------------------------------------------------------------------------- matching


def _cluster_prefix_ok(cluster: Cluster, prefix: str) -> bool:
    i = 0
    while i < len(prefix):
        ch = prefix[i]
        if ch in cluster.prefix_chars:
            if ch in cluster.numeric_value_chars:
                while i + 1 < len(prefix) and prefix[i + 1].isdigit():
                    i += 1
            i += 1
            continue
        if cluster.numeric_record_separator and ch == "0":
            while i + 1 < len(prefix) and prefix[i + 1].isdigit():
                i += 1
            i += 1
            continue
        return False
    return True


def _match_flag(spec: FlagSpec, token: str) -> str | None:
    """The label of the inline-eval flag *token* is, or None (OpenClaw's order)."""
    label = spec.raw_exact.get(token)
    if label is not None:
        return label
    joined_raw = spec.raw_exact if spec.joined_raw is None else spec.joined_raw
    for flag, lab in joined_raw.items():
        if len(flag) == 2 and flag[1].isalpha() and token.startswith(flag) and len(token) > 2:
            return lab
    for lab, prefix in spec.raw_prefixes:
        if token.startswith(prefix) and len(token) > len(prefix):
            if lab == "+cmd" and token[1:].isdigit():
                continue  # +N only moves the cursor; +/pattern is an ex command too
            return lab
    lower = token.lower()
    option = lower.split("=", 1)[0]
    for ab in spec.abbreviated:
        if len(option) >= len(ab.min) and ab.full.startswith(option):
            return ab.label
    if lower in spec.exact:
        return lower
    if lower not in spec.joined_deny_exact and not lower.startswith(spec.joined_deny_prefixes):
        for flag in spec.exact:
            if (
                flag.startswith("--")
                and lower.startswith(flag + "=")
                and len(lower) > len(flag) + 1
            ):
                return flag
        joined = spec.exact if spec.joined is None else spec.joined
        for flag in joined:
            if len(flag) == 2 and flag[1].isalpha() and token.startswith(flag) and len(token) > 2:
                return flag.lower()
    if token.startswith("-") and not token.startswith("--"):
        for cluster in spec.clusters:
            idx = token.find(cluster.flag, 2)
            if idx >= 2 and _cluster_prefix_ok(cluster, token[1:idx]):
                return cluster.label
    for lab, prefix in spec.prefixes:
        if lower.startswith(prefix) and len(lower) > len(prefix):
            return lab
    return None


def _code_value(spec: FlagSpec, argv: Sequence[str], idx: int) -> str | None:
    token = argv[idx].strip()
    flag, eq, value = token.partition("=")
    want = spec.code_values.get(flag)
    if want is None:
        return None
    if not eq:
        value = argv[idx + 1].strip() if idx + 1 < len(argv) else ""
    return flag if value.lower().startswith(want) else None


def _reads_stdin(stdin: StdinSpec, argv: Sequence[str]) -> bool:
    """No script operand (or ``-``): the interpreter runs what stdin holds."""
    i = 1
    while i < len(argv):
        word = argv[i].strip()
        if word == "-":
            return True
        if word == "--":
            return i + 1 >= len(argv)
        if word in stdin.info_flags or word in stdin.script_flags:
            return False
        if word.startswith("-") and len(word) > 1:
            name = word.split("=", 1)[0]
            if word in stdin.value_flags and "=" not in word:
                i += 2
                continue
            if name.startswith("--") or name in stdin.value_flags:
                i += 1
                continue
            letters = word[1:]
            skip = 1
            for k, ch in enumerate(letters):
                if ch in stdin.value_letters:
                    skip = 2 if k == len(letters) - 1 else 1
                    break
            i += skip
            continue
        return False  # a script operand
    return stdin.bare_reads_stdin


def detect_inline_eval(argv: Sequence[str]) -> InlineEvalHit | None:
    """
    Detect ``python -c``, ``node -e``, ``awk 'prog'``, ``find -exec``, ``… | python3``...

    Returns:
        The first hit, or ``None``.
    """
    if not argv:
        return None
    executable = argv[0].strip()
    if not executable:
        return None
    normalized = normalize_executable_token(executable)
    spec = _find_flag_spec(normalized)
    if spec is not None:
        if spec.always:
            return InlineEvalHit(executable, normalized, STDIN)
        for idx in range(1, len(argv)):
            token = argv[idx].strip()
            if not token:
                continue
            if token == "--":  # noqa: S105 - the end of options, not a secret
                if spec.scan_past_double_dash:
                    continue
                break
            label = _match_flag(spec, token)
            if label is None and spec.code_values:
                label = _code_value(spec, argv, idx)
            if label is not None:
                return InlineEvalHit(executable, normalized, label)
        if spec.subcommands:
            first = next((w.strip() for w in argv[1:] if not w.strip().startswith("-")), "")
            if first in spec.subcommands:
                return InlineEvalHit(executable, normalized, first)
        if spec.stdin is not None and _reads_stdin(spec.stdin, argv):
            return InlineEvalHit(executable, normalized, STDIN)
    pspec = _find_positional_spec(normalized)
    if pspec is None:
        return None
    idx = 1
    while idx < len(argv):
        word = argv[idx].strip()
        if not word:
            idx += 1
            continue
        if word == "--":
            nxt = argv[idx + 1].strip() if idx + 1 < len(argv) else ""
            return InlineEvalHit(executable, normalized, pspec.flag) if nxt else None
        if word in pspec.file_flags:
            return None
        if any(word.startswith(p) and len(word) > len(p) for p in pspec.file_prefixes):
            return None
        if word in pspec.value_flags:
            idx += 2
            continue
        if word in pspec.optional_value_flags:
            idx += 1
            continue
        if any(word.startswith(p) and len(word) > len(p) for p in pspec.value_prefixes):
            idx += 1
            continue
        if word.startswith("-"):
            idx += 1
            continue
        return InlineEvalHit(executable, normalized, pspec.flag)
    return None


def detect_carried_inline_eval(argv: Sequence[str]) -> InlineEvalHit | None:
    """
    An inline eval behind a wrapper that could not be unwrapped (``sudo python3 -c …``).

    Every later word that names an interpreter is tried as the start of the command, so a
    blocked wrapper's options cannot hide the hit (a false hit only makes strict mode ask).
    """
    for i in range(1, len(argv)):
        name = normalize_executable_token(argv[i].strip())
        if any(v in INTERPRETER_NAMES for v in interpreter_name_variants(name)):
            hit = detect_inline_eval(argv[i:])
            if hit is not None:
                return hit
    return None


_GLOB_CHARS = re.compile(r"[*?\[\]{}()]")


def is_interpreter_like(path_or_pattern: str) -> bool:
    """Whether a path or pattern names an interpreter (``/usr/bin/python3.11``, ``node*``)."""
    trimmed = path_or_pattern.strip().lower()
    if not trimmed:
        return False
    if any(
        v in INTERPRETER_NAMES
        for v in interpreter_name_variants(normalize_executable_token(trimmed))
    ):
        return True
    base = trimmed.replace("\\", "/").rsplit("/", 1)[-1]
    base = base.removesuffix(".exe")
    base = _GLOB_CHARS.sub("", base).rstrip(".-")
    return any(v in INTERPRETER_NAMES for v in interpreter_name_variants(base))
