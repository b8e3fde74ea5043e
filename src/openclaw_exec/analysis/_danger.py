"""
Argument-level danger profiles: what makes an allowlisted program run code or write.

Allowlisting ``/usr/bin/git`` is meant to allow ``git status``, not ``git -c
core.pager='sh -c …' log``; allowlisting ``sort`` a filter, not ``sort -o ~/.bashrc``. The
table (:data:`DANGER_ROWS`, data in :mod:`._danger_table`) lists, for the programs agents
are most often allowed to run, the options, config keys, script commands and write targets
that run a program or write a file. A segment with one of them is not satisfied by a plain
allowlist entry (it asks), unless an entry whose ``argPattern`` matched the arguments
allowed it explicitly.

The grammar of each program is read well enough not to be fooled: clustered short options
(``sort -uo FILE``), ``--opt=value`` and ``--opt value``, GNU abbreviations of long options
(``--compress-prog``), options after operands, ``--``. Where a word could abbreviate a
dangerous long option, or a script cannot be read, the row fires (fail closed).

Writes are checked against *protected paths* (:func:`protected_reason`): dot-files and
dot-folders in a home folder (shell rc files, ``~/.ssh``, ``~/.openclaw`` with the
approvals file, ``~/.config``, ``~/.local/bin``…), anything inside ``.git`` (hooks,
config), system folders, the folders of ``PATH``, and files other programs run without
being named (``Makefile``, ``.envrc``, ``.npmrc``, ``*.pth``…). Paths are taken both
lexically and as the kernel resolves them now (symlinks), through the injected resolver.
"""

from __future__ import annotations

import functools
import posixpath
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence

import attrs

from openclaw_exec.analysis._resolver import ExecutableResolver

__all__ = [
    "MAX_PATH_CHECKS",
    "PROFILES",
    "DangerHit",
    "DangerRow",
    "Grammar",
    "PathContext",
    "TooManyPaths",
    "profile_name",
    "protected_reason",
]

RUNS = "runs a program"
WRITES = "writes a file named on the command line"
PROTECTED = "writes a protected path"
READS_CODE = "reads commands from a file or config not shown"
UNREADABLE = "script the analyser cannot read"


@attrs.frozen
class DangerRow:
    """
    One row of the danger table.

    Attributes:
        program: The profile it belongs to (``git``, ``find``, ``tar``…).
        key: The option, config key or script command, as shown (``-c core.pager``).
        effect: What it does, in words (``runs a program``).
        example: An argv that fires this row (``argv[0]`` is the program); the tests run
            every example.
    """

    program: str
    key: str
    effect: str
    example: tuple[str, ...]

    @property
    def label(self) -> str:
        """``program key``: how explain names the row."""
        return f"{self.program} {self.key}"

    def describe(self) -> str:
        """``git -c core.pager (runs a program)``."""
        return f"{self.label} ({self.effect})"


@attrs.frozen
class DangerHit:
    """
    A danger row that fired on a segment.

    Attributes:
        row: The row.
        detail: The words that fired it, or the protected path and why it is protected.
    """

    row: DangerRow
    detail: str

    def describe(self) -> str:
        """``danger: git -c core.pager (runs a program): -c core.pager=less``."""
        return f"danger: {self.row.describe()}: {self.detail}"


# --------------------------------------------------------------------------- programs

PROFILES = frozenset(
    [
        "git",
        "find",
        "tar",
        "sed",
        "awk",
        "sort",
        "zip",
        "ssh",
        "scp",
        "sftp",
        "rsync",
        "curl",
        "wget",
        "less",
        "man",
        "vim",
        "make",
        "npm",
        "pip",
        "docker",
        "kubectl",
        "xargs",
        "tee",
        "cp",
        "mv",
        "install",
        "ln",
        "rm",
        "chmod",
        "chown",
        "chgrp",
        "dd",
    ]
)
"""The programs that have a danger profile."""

_ALIASES = {
    "gtar": "tar",
    "gsed": "sed",
    "gawk": "awk",
    "mawk": "awk",
    "nawk": "awk",
    "original-awk": "awk",
    "busybox-awk": "awk",
    "gmake": "make",
    "vi": "vim",
    "nvim": "vim",
    "view": "vim",
    "vimdiff": "vim",
    "ex": "vim",
    "gvim": "vim",
    "rvim": "vim",
    "npx": "npm",
    "pnpm": "npm",
    "pnpx": "npm",
    "yarn": "npm",
    "yarnpkg": "npm",
    "bunx": "npm",
    "pip3": "pip",
    "podman": "docker",
    "nerdctl": "docker",
    "docker-compose": "docker",
    "ginstall": "install",
}
_VERSIONED = re.compile(r"(?:[-.]?\d+(?:\.\d+)*|\.basic|\.tiny|\.gtk3|\.nox)\Z")


def profile_name(word: str) -> str | None:
    """The profile for an executable word or path (``/usr/bin/pip3.11`` -> ``pip``)."""
    if len(word) > 256:  # no program name is this long; keeps the cache small
        return _profile_name(word[-256:])
    return _profile_name(word)


@functools.lru_cache(maxsize=1024)
def _profile_name(word: str) -> str | None:
    base = word.rsplit("/", 1)[-1].strip().lower().removesuffix(".exe")
    for candidate in (base, _VERSIONED.sub("", base)):
        name = _ALIASES.get(candidate, candidate)
        if name in PROFILES:
            return name
    return None


# --------------------------------------------------------------------------- option grammar

Token = tuple[str, str, str | None]
"""``("opt", "--output", value)`` or ``("arg", word, None)``."""


@attrs.frozen
class Grammar:
    """
    A program's option grammar, as much of it as deciding danger needs.

    Attributes:
        short_value: Short option letters that take a value (attached or the next word).
        short_optional: Short letters whose value may only be attached (``sed -i.bak``).
        long_value: Long options (without ``--``) that take a value (``=`` or next word).
        long_optional: Long options whose value may only follow ``=``.
        long_flags: Other known long options (for resolving abbreviations).
        abbreviations: Whether unique prefixes of long options are accepted (GNU).
    """

    short_value: str = ""
    short_optional: str = ""
    long_value: frozenset[str] = frozenset()
    long_optional: frozenset[str] = frozenset()
    long_flags: frozenset[str] = frozenset()
    abbreviations: bool = True

    known: frozenset[str] = attrs.field(init=False, repr=False, eq=False)
    """Every long option named by the grammar (computed once)."""

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "known", self.long_value | self.long_optional | self.long_flags)

    def resolve_long(self, name: str) -> tuple[str, ...]:
        """
        The long options *name* may stand for.

        The exact option, else (with abbreviations) every known option it is a prefix
        of; an ambiguous prefix is refused by the real program, and naming every
        candidate keeps a dangerous one visible. An unknown name stands for itself.
        """
        known = self.known
        if name in known:
            return (name,)
        if self.abbreviations and name:
            return _abbreviated(known, name)
        return (name,)


@functools.lru_cache(maxsize=4096)
def _abbreviated(known: frozenset[str], name: str) -> tuple[str, ...]:
    # Every known option *name* is a prefix of (the same answer for the same grammar and
    # word every time: a scan of the whole option set per word was most of git's cost).
    return tuple(sorted(k for k in known if k.startswith(name))) or (name,)


def scan(args: Sequence[str], grammar: Grammar) -> list[Token]:
    """
    Split *args* (``argv[1:]``) into options and operands, GNU style.

    Options may follow operands (GNU permutes them: reading every word as a possible
    option only over-approximates what a stricter parser sees); ``--`` ends options.
    A short option not known to take a value is read as a flag, so the next word is
    still examined (fail closed); a value is only skipped when the grammar says so.
    """
    out: list[Token] = []
    i = 0
    n = len(args)
    while i < n:
        word = args[i]
        i += 1
        if word == "--":
            out.extend(("arg", rest, None) for rest in args[i:])
            break
        if word.startswith("--"):
            name, eq, value = word[2:].partition("=")
            names = grammar.resolve_long(name)
            if eq:
                out.extend(("opt", "--" + nm, value) for nm in names)
            elif len(names) == 1 and names[0] in grammar.long_value and i < n:
                out.append(("opt", "--" + names[0], args[i]))
                i += 1
            else:
                out.extend(("opt", "--" + nm, None) for nm in names)
            continue
        if word.startswith("-") and len(word) > 1:
            j = 1
            while j < len(word):
                letter = word[j]
                if letter in grammar.short_value:
                    rest = word[j + 1 :]
                    if rest:
                        out.append(("opt", "-" + letter, rest))
                    elif i < n:
                        out.append(("opt", "-" + letter, args[i]))
                        i += 1
                    else:
                        out.append(("opt", "-" + letter, None))
                    break
                if letter in grammar.short_optional:
                    out.append(("opt", "-" + letter, word[j + 1 :] or None))
                    break
                out.append(("opt", "-" + letter, None))
                j += 1
            continue
        out.append(("arg", word, None))
    return out


def options(tokens: Iterable[Token]) -> Iterator[tuple[str, str | None]]:
    """The ``(name, value)`` of every option token."""
    for kind, name, value in tokens:
        if kind == "opt":
            yield name, value


def operands(tokens: Iterable[Token]) -> list[str]:
    """The operand words, in order."""
    return [name for kind, name, _ in tokens if kind == "arg"]


# --------------------------------------------------------------------------- protected paths

_SYSTEM_FOLDERS = (
    "/etc",
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/boot",
    "/opt",
    "/root",
    "/var/spool",
    "/var/lib",
    "/sys",
    "/proc",
    "/dev",
)
_HARMLESS_DEVICES = frozenset(
    {"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty", "/dev/fd/1", "/dev/fd/2"}
)
# Files that another program runs or loads without being named on its command line.
_IMPLICIT_FILES = frozenset(
    {
        "makefile",
        "gnumakefile",
        ".envrc",
        ".npmrc",
        ".yarnrc",
        ".yarnrc.yml",
        ".pnpmfile.cjs",
        "sitecustomize.py",
        "usercustomize.py",
    }
)
_VCS_FOLDERS = frozenset({".git", ".hg"})


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


MAX_PATH_CHECKS = 64
"""Write targets checked per segment; a segment with more fires (bounded file-system calls)."""


class TooManyPaths(Exception):  # noqa: N818 - a signal, caught by find_danger
    """More write targets than :data:`MAX_PATH_CHECKS` in one segment."""


class PathContext:
    """Where relative paths start and what the environment says (HOME, PATH), for one check."""

    __slots__ = ("_homes", "_path_dirs", "budget", "cwd", "env", "real_paths", "resolver")

    def __init__(
        self, cwd: str, env: Mapping[str, str], resolver: ExecutableResolver | None
    ) -> None:
        self.cwd = cwd
        self.env = env
        self.resolver = resolver
        # Path checks cost file-system calls: a segment gets MAX_PATH_CHECKS of them, and
        # the answers are shared within it (many targets share their folders).
        self.budget = MAX_PATH_CHECKS
        self.real_paths: dict[str, str | None] = {}
        # Most profiles never look at a path: HOME and PATH are read on first use.
        self._homes: tuple[str, ...] | None = None
        self._path_dirs: tuple[str, ...] | None = None

    @property
    def homes(self) -> tuple[str, ...]:
        """``/root`` and ``$HOME`` (normalised, when absolute and not ``/``)."""
        if self._homes is None:
            home = self.env.get("HOME")
            homes = ["/root"]
            if isinstance(home, str) and home.startswith("/"):
                normalized = posixpath.normpath(home)
                if normalized != "/":
                    homes.append(normalized)
            self._homes = tuple(homes)
        return self._homes

    @property
    def path_dirs(self) -> tuple[str, ...]:
        """The folders of ``PATH``, absolute (empty and relative entries from the cwd)."""
        if self._path_dirs is None:
            path_env: object = self.env.get("PATH", "")
            entries = path_env.split(":") if isinstance(path_env, str) else []
            dirs = [posixpath.normpath(posixpath.join(self.cwd, entry)) for entry in entries]
            self._path_dirs = tuple(dict.fromkeys(dirs))
        return self._path_dirs

    def absolute(self, path: str) -> str:
        """*path* made absolute against the cwd and normalised lexically."""
        return posixpath.normpath(posixpath.join(self.cwd, path))

    def real(self, path: str) -> str | None:
        """
        *path* as the kernel resolves it now (``None`` without a resolver).

        The real path of its deepest existing ancestor, with the rest appended.
        """
        if self.resolver is None:
            return None
        current = self.absolute_raw(path)
        rest: list[str] = []
        for _ in range(current.count("/") + 1):
            # A path under a folder already known to be missing is missing: no call.
            parent = posixpath.dirname(current)
            known_missing = parent != current and self.real_paths.get(parent, "") is None
            found = None if known_missing else self._realpath(current)
            if found is not None:
                return posixpath.normpath(posixpath.join(found, *reversed(rest)))
            head, tail = posixpath.split(current)
            if not tail:
                return None
            rest.append(tail)
            current = head
        return None

    def absolute_raw(self, path: str) -> str:
        """*path* joined to the cwd without resolving ``..`` (the kernel's order)."""
        joined = path if path.startswith("/") else posixpath.join(self.cwd, path)
        # Collapse '//' and '.' only; '..' must be resolved after symlinks.
        parts = [p for p in joined.split("/") if p not in ("", ".")]
        return "/" + "/".join(parts)

    def exists(self, path: str) -> bool:
        """Whether *path* exists now (through the resolver; ``False`` without one)."""
        if self.resolver is None or self.real_paths.get(posixpath.dirname(path), "") is None:
            return False  # no resolver, or a folder already known to be missing
        return self._realpath(path) is not None

    def _realpath(self, path: str) -> str | None:
        if path in self.real_paths:
            return self.real_paths[path]
        assert self.resolver is not None
        found = self.resolver.realpath(path)
        self.real_paths[path] = found
        return found

    def spend(self) -> None:
        """Count one path check; past the budget the segment's paths cannot be proven."""
        self.budget -= 1
        if self.budget < 0:
            raise TooManyPaths


def protected_reason(path: str, ctx: PathContext) -> str | None:
    """
    Why writing *path* is dangerous, or ``None``.

    Checked for the lexical absolute path and for the path as the kernel resolves it now.
    """
    ctx.spend()
    candidates = [ctx.absolute(path)]
    real = ctx.real(path)
    if real is not None and real not in candidates:
        candidates.append(real)
    for candidate in candidates:
        reason = _protected_absolute(candidate, ctx)
        if reason is not None:
            return f"{path} ({reason})"
    return None


def _protected_absolute(path: str, ctx: PathContext) -> str | None:
    parts = [p for p in path.split("/") if p]
    if any(p.lower() in _VCS_FOLDERS for p in parts):
        return "inside a .git or .hg folder: hooks and config run programs"
    homes = list(ctx.homes)
    if len(parts) >= 2 and parts[0] == "home":
        homes.append("/home/" + parts[1])
    for home in homes:
        if path != home and _under(path, home):
            first = path[len(home.rstrip("/")) + 1 :].split("/", 1)[0]
            if first.startswith("."):
                return "a dot-file in a home folder: shell rc files, ~/.ssh, approvals, config"
    if path in _HARMLESS_DEVICES or path.startswith("/proc/self/fd/"):
        return None
    for folder in _SYSTEM_FOLDERS:
        if _under(path, folder):
            return f"a system folder ({folder})"
    for folder in ctx.path_dirs:
        if _under(path, folder) and path != folder:
            return f"in a PATH folder ({folder}): plants a command"
    base = parts[-1].lower() if parts else ""
    if base in _IMPLICIT_FILES or base.endswith(".pth"):
        return "a file other programs run without naming it"
    return None


def contains_protected(path: str, ctx: PathContext) -> str | None:
    """
    Why writing a whole tree at *path* (names chosen elsewhere) is dangerous, or ``None``.

    The tree root is protected, or holds a home folder, a system or PATH folder, or a
    ``.git`` folder (a repository root).
    """
    own = protected_reason(path, ctx)  # counts one check
    if own is not None:
        return own
    candidates = [ctx.absolute(path)]
    real = ctx.real(path)
    if real is not None and real not in candidates:
        candidates.append(real)
    for root in candidates:
        for inner in (*ctx.homes, "/home", *_SYSTEM_FOLDERS, *ctx.path_dirs):
            if _under(inner, root):
                return f"{path} (holds {inner})"
        for vcs in _VCS_FOLDERS:
            if ctx.exists(posixpath.join(root, vcs)):
                return f"{path} (holds a {vcs} folder: hooks and config run programs)"
    return None


_SETID_SYMBOLIC = re.compile(r"[ugoa]*[-+=][rwxXst]*[st]")
