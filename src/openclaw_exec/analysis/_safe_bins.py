"""
Safe bins: stdin-only filters that run without an allowlist entry, as data.

A port of OpenClaw 2026.9.6's ``exec-safe-bin-policy-profiles.ts``,
``exec-safe-bin-policy-validator.ts`` and ``exec-safe-bin-semantics.ts``: each default safe
bin has a profile (value flags, boolean flags, denied flags, how many operands); an argv
passes only when every token is known to the profile and every operand or value is a plain
literal (no glob, no path, no ``$`` expansion). ``jq``, the awk family and ``sed`` are never
safe bins whatever profile is configured (they read the environment, load code or run
commands). Where the executable comes from is checked by the caller
(:func:`safe_bin_trusted`): its exact resolved name, and its real path in a trusted folder.
"""

from __future__ import annotations

import functools
import posixpath
import re
from collections.abc import Container, Iterable, Mapping, Sequence

import attrs

__all__ = [
    "ALWAYS_DENIED_SAFE_BINS",
    "DEFAULT_SAFE_BINS",
    "DEFAULT_SAFE_BIN_PROFILES",
    "DEFAULT_SAFE_BIN_TRUSTED_DIRS",
    "OPENCLAW_2026_9_SAFE_BIN_PROFILES",
    "SafeBinProfile",
    "safe_bin_trusted",
    "validate_safe_bin_argv",
]

DEFAULT_SAFE_BINS = frozenset({"cut", "uniq", "head", "tail", "tr", "wc"})
"""OpenClaw's default safe bins (stdin-only filters)."""
DEFAULT_SAFE_BIN_TRUSTED_DIRS = ("/bin", "/usr/bin")
"""The only folders a safe bin may come from unless more are configured."""
ALWAYS_DENIED_SAFE_BINS = frozenset({"jq", "awk", "gawk", "mawk", "nawk", "sed", "gsed"})
"""Names that are never safe bins (OpenClaw 2026.9.6's ``SAFE_BIN_SEMANTIC_RULES``)."""


def _flag_set(flags: Iterable[str]) -> frozenset[str]:
    return frozenset(f.strip() for f in flags if f.strip())


@attrs.frozen
class SafeBinProfile:
    """
    The argv shape a safe bin may be called with.

    Attributes:
        min_positional: Fewest positional operands.
        max_positional: Most positional operands (``None``: unbounded).
        allowed_value_flags: Flags that take a (literal) value.
        denied_flags: Flags that reject the call.
        allowed_boolean_flags: Flags without a value that are harmless (``wc -l``).
    """

    min_positional: int = 0
    max_positional: int | None = None
    allowed_value_flags: frozenset[str] = attrs.field(default=frozenset(), converter=_flag_set)
    denied_flags: frozenset[str] = attrs.field(default=frozenset(), converter=_flag_set)
    allowed_boolean_flags: frozenset[str] = attrs.field(default=frozenset(), converter=_flag_set)

    @functools.cached_property
    def _long_prefixes(self) -> Mapping[str, str | None]:
        known = [
            f
            for f in (*self.allowed_value_flags, *self.allowed_boolean_flags, *self.denied_flags)
            if f.startswith("--") and len(f) > 2
        ]
        table: dict[str, str | None] = {}
        for flag in sorted(set(known)):
            for length in range(3, len(flag) + 1):
                prefix = flag[:length]
                if prefix not in table:
                    table[prefix] = flag
                elif table[prefix] != flag:
                    table[prefix] = None
        table.update({flag: flag for flag in known})
        return table

    def canonical_long(self, flag: str) -> str | None:
        """The known long flag *flag* abbreviates unambiguously, else ``None``."""
        if not flag.startswith("--") or len(flag) <= 2:
            return None
        return self._long_prefixes.get(flag)


def _profile(
    max_positional: int | None = None,
    *,
    min_positional: int = 0,
    allowed: Iterable[str] = (),
    boolean: Iterable[str] = (),
    denied: Iterable[str] = (),
) -> SafeBinProfile:
    return SafeBinProfile(
        min_positional=min_positional,
        max_positional=max_positional,
        allowed_value_flags=frozenset(allowed),
        allowed_boolean_flags=frozenset(boolean),
        denied_flags=frozenset(denied),
    )


_QUIET = ("--quiet", "--silent", "--verbose", "--zero-terminated", "-q", "-v", "-z")

OPENCLAW_2026_9_SAFE_BIN_PROFILES: Mapping[str, SafeBinProfile] = {
    "jq": _profile(
        1,
        allowed=("--arg", "--argjson", "--argstr"),
        denied=(
            "--argfile",
            "--rawfile",
            "--slurpfile",
            "--from-file",
            "--library-path",
            "-L",
            "-f",
        ),
    ),
    "grep": _profile(
        0,
        allowed=(
            "--regexp",
            "--max-count",
            "--after-context",
            "--before-context",
            "--context",
            "--devices",
            "--binary-files",
            "--exclude",
            "--include",
            "--label",
            "-e",
            "-m",
            "-A",
            "-B",
            "-C",
            "-D",
        ),
        denied=(
            "--file",
            "--exclude-from",
            "--dereference-recursive",
            "--directories",
            "--recursive",
            "-f",
            "-d",
            "-r",
            "-R",
        ),
    ),
    "cut": _profile(
        0,
        allowed=(
            "--bytes",
            "--characters",
            "--fields",
            "--delimiter",
            "--output-delimiter",
            "-b",
            "-c",
            "-f",
            "-d",
        ),
        boolean=("--complement", "--only-delimited", "--zero-terminated", "-n", "-s", "-z"),
    ),
    "sort": _profile(
        0,
        allowed=(
            "--key",
            "--field-separator",
            "--buffer-size",
            "--parallel",
            "--batch-size",
            "-k",
            "-t",
            "-S",
        ),
        denied=(
            "--compress-program",
            "--files0-from",
            "--output",
            "--random-source",
            "--temporary-directory",
            "-T",
            "-o",
        ),
    ),
    "uniq": _profile(
        0,
        allowed=("--skip-fields", "--skip-chars", "--check-chars", "--group", "-f", "-s", "-w"),
        boolean=(
            "--count",
            "--repeated",
            "--unique",
            "--ignore-case",
            "--zero-terminated",
            "-c",
            "-d",
            "-u",
            "-i",
            "-z",
        ),
    ),
    "head": _profile(0, allowed=("--lines", "--bytes", "-n", "-c"), boolean=_QUIET),
    "tail": _profile(
        0,
        allowed=(
            "--lines",
            "--bytes",
            "--sleep-interval",
            "--max-unchanged-stats",
            "--pid",
            "-n",
            "-c",
        ),
        boolean=_QUIET,
        denied=("--follow", "--retry", "-F", "-f"),
    ),
    "tr": _profile(
        2,
        min_positional=1,
        boolean=(
            "--complement",
            "--delete",
            "--squeeze-repeats",
            "--truncate-set1",
            "-C",
            "-c",
            "-d",
            "-s",
            "-t",
        ),
    ),
    "wc": _profile(
        0,
        boolean=(
            "--bytes",
            "--chars",
            "--lines",
            "--max-line-length",
            "--words",
            "-L",
            "-c",
            "-l",
            "-m",
            "-w",
        ),
        denied=("--files0-from",),
    ),
}
"""OpenClaw 2026.9.6's built-in safe-bin profiles (``SAFE_BIN_PROFILES``), boolean flags too."""

DEFAULT_SAFE_BIN_PROFILES: Mapping[str, SafeBinProfile] = {
    name: attrs.evolve(profile, allowed_boolean_flags=frozenset())
    for name, profile in OPENCLAW_2026_9_SAFE_BIN_PROFILES.items()
}
"""
The profiles used unless others are given: 2026.9.6's without its boolean flags.

A flag the profile does not name is refused, so ``wc -l`` or ``head -q`` ask (or need an
entry), as in OpenClaw 2026.4.1 (``docs/differences.md``, ``safe-bin-flags``). Pass
``safe_bin_profiles=OPENCLAW_2026_9_SAFE_BIN_PROFILES`` to accept them as 2026.9.6 does.
"""

_GLOB_CHARS = re.compile(r"[*?\[\]]")
_DRIVE = re.compile(r"[A-Za-z]:[\\/]")
# A '$' the shell (or a later rebuild) could expand: $NAME, $1, $@, ${...}, $(...), $[...].
_EXPANSION = re.compile(r"\$(?:[A-Za-z0-9_@*?!$#-]|\{|\(|\[)")


def _path_like(value: str) -> bool:
    trimmed = value.strip()
    if not trimmed or trimmed == "-":
        return False
    return trimmed.startswith(("./", "../", "~", "/")) or _DRIVE.match(trimmed) is not None


def _literal(value: str) -> bool:
    if not value or value == "-":
        return True
    return (
        _GLOB_CHARS.search(value) is None
        and _EXPANSION.search(value) is None
        and not _path_like(value)
    )


def validate_safe_bin_argv(args: Sequence[str], profile: SafeBinProfile, *, bin_name: str) -> bool:
    """
    Check a safe bin's arguments (``argv[1:]``) against its profile.

    Positionals and flag values must be literal (no glob characters, no ``$`` expansion,
    not path-like); long options must be known (or unambiguous prefixes) and not denied;
    every letter of a short cluster must be an allowed boolean flag until an allowed value
    flag takes the rest (or the next word) as its value: ``tail -fn 1`` is refused since
    ``-f`` is not allowed, whatever follows.
    """
    if posixpath.basename(bin_name) in ALWAYS_DENIED_SAFE_BINS:
        return False
    positional: list[str] = []
    i = 0
    n = len(args)
    while i < n:
        raw = args[i]
        if not raw or raw == "-":
            i += 1
            continue
        if raw == "--":
            for rest in args[i + 1 :]:
                if not rest or rest == "-":
                    continue
                if not _literal(rest):
                    return False
                positional.append(rest)
            break
        if not raw.startswith("-"):
            if not _literal(raw):
                return False
            positional.append(raw)
            i += 1
            continue
        i = _long(args, i, profile) if raw.startswith("--") else _cluster(args, i, profile)
        if i < 0:
            return False
    if len(positional) < profile.min_positional:
        return False
    return profile.max_positional is None or len(positional) <= profile.max_positional


def _long(args: Sequence[str], i: int, profile: SafeBinProfile) -> int:
    raw = args[i]
    eq = raw.find("=")
    flag, inline = (raw[:eq], raw[eq + 1 :]) if eq > 0 else (raw, None)
    canonical = profile.canonical_long(flag)
    if canonical is None or canonical in profile.denied_flags:
        return -1
    expects_value = canonical in profile.allowed_value_flags
    if inline is not None:
        return i + 1 if expects_value and _literal(inline) else -1
    if not expects_value:
        return i + 1
    nxt = args[i + 1] if i + 1 < len(args) else ""
    return i + 2 if nxt and _literal(nxt) else -1


def _cluster(args: Sequence[str], i: int, profile: SafeBinProfile) -> int:
    cluster = args[i][1:]
    for j, letter in enumerate(cluster):
        flag = "-" + letter
        if flag in profile.denied_flags:
            return -1
        if flag in profile.allowed_value_flags:
            inline = cluster[j + 1 :]
            if inline:
                return i + 1 if _literal(inline) else -1
            nxt = args[i + 1] if i + 1 < len(args) else ""
            return i + 2 if nxt and _literal(nxt) else -1
        if flag not in profile.allowed_boolean_flags:
            return -1
    return i + 1


def safe_bin_trusted(
    name: str,
    path: str,
    real_path: str | None,
    safe_bins: frozenset[str],
    trusted_dirs: Container[str],
) -> bool:
    """
    Whether the executable at *path* may act as the safe bin *name*.

    Its resolved name must be the safe-bin name exactly (``/usr/bin/HEAD``, libwww-perl's
    HTTP client, is not ``head``; OpenClaw compares lower-cased), and so must the name of
    its real path (a ``head`` symlink to another program is not ``head``); the real path's
    folder must be trusted (*trusted_dirs* holds the trusted folders and their real paths),
    so a symlink in a trusted folder into another tree does not count.
    """
    if name not in safe_bins or posixpath.basename(path) != name:
        return False
    if real_path is None or posixpath.basename(real_path) != name:
        return False
    return posixpath.dirname(real_path) in trusted_dirs
