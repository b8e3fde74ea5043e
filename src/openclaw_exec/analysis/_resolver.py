"""
Executable resolution: the one place the analyser learns facts about the filesystem.

The analysis core never touches the filesystem itself. It asks an
:class:`ExecutableResolver`, which embedders and tests can replace (a virtual
filesystem lives in :mod:`openclaw_exec.testing`). :class:`OsResolver` is the small
default that asks the real operating system; it is the only class of
:mod:`openclaw_exec.analysis` that does I/O.

:class:`ResolutionCache` memoises PATH lookups per ``(PATH, cwd, name)``. Each cached
answer carries change stamps of every path that decided it (the candidate path in each
PATH folder searched, present or not, and the file found), and a hit is only used while
those stamps are unchanged, so a binary dropped into an earlier PATH folder, a
``chmod +x``/``chmod -x`` or a replaced file invalidates the entry.
:meth:`ResolutionCache.clear` drops everything.
"""

from __future__ import annotations

import abc
import functools
import os
import posixpath
import stat
import threading
from collections import OrderedDict
from collections.abc import Hashable

import attrs

from openclaw_exec._values import positional_maker
from openclaw_exec.analysis._host_env import MAX_PATH_ENTRIES
from openclaw_exec.analysis._openat2 import symlink_free

__all__ = [
    "ExecutableResolver",
    "OsResolver",
    "ResolutionCache",
    "ResolvedExecutable",
]


class ExecutableResolver(abc.ABC):
    """
    Answers the filesystem questions of command analysis.

    Contract: every method is total (returns a value, never raises for any string),
    answers for absolute, normalised POSIX paths, and is consistent with what the
    kernel would do when the command runs. Implementations must be safe to call from
    several threads.
    """

    @abc.abstractmethod
    def is_executable_file(self, path: str) -> bool:
        """Return whether *path* is a regular file (after symlinks) the caller may execute."""

    @abc.abstractmethod
    def realpath(self, path: str) -> str | None:
        """Return the canonical path of *path* with every symlink resolved, ``None`` if absent."""

    def has_symlink(self, folder: str) -> bool:
        """
        Whether any component of the absolute path *folder* is a symlink (or unreadable).

        The default compares :meth:`realpath`; implementations may answer faster.
        """
        return self.realpath(folder) != folder

    def is_symlink(self, path: str) -> bool:  # noqa: ARG002 - the conservative default
        """
        Whether the last component of the absolute path *path* is a symlink (or unknown).

        Only a ``False`` is acted on: the file's real name is then its own, so its real
        path need not be computed. The default answers ``True`` (always compute it).
        """
        return True

    @abc.abstractmethod
    def stamp(self, path: str) -> Hashable:
        """
        Return a change token for *path* (a file or folder), ``None`` if it does not exist.

        The token must change whenever the answer of :meth:`is_executable_file` for
        *path*, or a lookup of a name inside the folder *path*, could change (mtime,
        inode and mode are a good choice).
        """

    def stamp_changed(self, path: str, previous: Hashable) -> bool:
        """
        Whether :meth:`stamp` of *path* now differs from *previous*.

        The default asks :meth:`stamp`; implementations may answer with fewer calls
        (knowing whether the path existed before).
        """
        return self.stamp(path) != previous


class OsResolver(ExecutableResolver):
    """The default resolver: asks the real filesystem (``os.stat``, ``os.access``)."""

    def is_executable_file(self, path: str) -> bool:
        # access() first: most PATH candidates do not exist, and a False from access()
        # costs no stat result and no exception. Both checks must pass, in either order.
        try:
            if not os.access(path, os.X_OK):
                return False
            st = os.stat(path)  # noqa: PTH116 - the cheapest call on the hot path
        except (OSError, ValueError):
            return False
        return stat.S_ISREG(st.st_mode)

    def realpath(self, path: str) -> str | None:
        try:
            return os.path.realpath(path, strict=True)
        except (OSError, ValueError):
            return None

    def has_symlink(self, folder: str) -> bool:
        """
        Whether any component of *folder* is a symlink (or unreadable).

        One ``openat2(RESOLVE_NO_SYMLINKS)`` where the kernel offers it (see
        :func:`symlink_free`), else an ``lstat`` per component.
        """
        clean = symlink_free(folder)
        if clean is not None:
            return not clean
        current = ""
        for part in folder.split("/"):
            if not part:
                continue
            current += "/" + part
            try:
                st = os.lstat(current)
            except (OSError, ValueError):
                return True  # unknown: treat as symlinked (the caller then needs the real path)
            if stat.S_ISLNK(st.st_mode):
                return True
        return False

    def is_symlink(self, path: str) -> bool:
        """Whether *path* itself is a symlink (one ``lstat``; ``True`` when it fails)."""
        try:
            return stat.S_ISLNK(os.lstat(path).st_mode)
        except (OSError, ValueError):
            return True

    def stamp(self, path: str) -> Hashable:
        try:
            # A missing path (the usual PATH candidate) answers None without an exception.
            if not os.access(path, os.F_OK):
                return None
            st = os.stat(path)  # noqa: PTH116 - the cheapest call on the hot path
        except (OSError, ValueError):
            return None
        return _stamp_of(st)

    def stamp_changed(self, path: str, previous: Hashable) -> bool:
        if previous is None:  # was missing: the cheap existence test first, as stamp() does
            return self.stamp(path) is not None
        try:  # was present: stat directly (no access() first)
            st = os.stat(path)  # noqa: PTH116 - the cheapest call on the hot path
        except (OSError, ValueError):
            return True
        return previous != _stamp_of(st)


def _stamps_changed(resolver: ExecutableResolver, stamps: tuple[tuple[str, Hashable], ...]) -> bool:
    """Whether any of *stamps* changed: ``resolver.stamp_changed`` over each, in order."""
    if type(resolver) is not OsResolver:  # a subclass may answer otherwise: ask it
        return any(resolver.stamp_changed(p, s) for p, s in stamps)
    # OsResolver.stamp_changed inlined: a hit checks every PATH candidate searched (a
    # dozen on a long PATH), and the method calls cost as much as the system calls.
    access, exists, stat_of = os.access, os.F_OK, os.stat
    for path, previous in stamps:
        try:
            if previous is None:  # was missing: changed only if it now stats
                if access(path, exists):
                    stat_of(path)
                    return True
            elif previous != _stamp_of(stat_of(path)):
                return True
        except (OSError, ValueError):
            if previous is not None:
                return True  # was present, now unreadable or gone
    return False


def _stamp_of(st: os.stat_result) -> Hashable:
    """:meth:`OsResolver.stamp`'s token: what changes when a file is replaced or chmod-ed."""
    return (st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_mode, st.st_size)


@attrs.frozen
class ResolvedExecutable:
    """
    Where a command word leads.

    Attributes:
        raw: The word as typed (``argv[0]``).
        path: The resolved executable path as the shell would find it (not the
            realpath), or ``None`` when nothing executable was found.
        via_path_lookup: The word was a bare name looked up through ``PATH``.
        traversal: The typed path goes through ``..`` across a symlink, so the
            lexically normalised ``path`` is not what the kernel would run.
        real_path: ``path`` with every symlink resolved, or ``None`` (asked from the
            resolver on first access, then kept).
    """

    raw: str
    path: str | None
    via_path_lookup: bool
    traversal: bool = False
    _known_real: str | None = attrs.field(default=None, eq=False, repr=False, alias="real_path")
    _resolver: ExecutableResolver | None = attrs.field(
        default=None, eq=False, repr=False, alias="resolver"
    )

    @functools.cached_property
    def real_path(self) -> str | None:
        """``path`` with every symlink resolved (computed lazily: it is not on the hot path)."""
        if self._known_real is not None:
            return self._known_real
        if self.path is None or self._resolver is None:
            return None
        return self._resolver.realpath(self.path)

    @functools.cached_property
    def through_symlinked_folder(self) -> bool:
        """Whether ``path`` is reached through a symlinked folder."""
        if self.path is None or self._resolver is None:
            return False
        return self._resolver.has_symlink(posixpath.dirname(self.path))

    @property
    def name(self) -> str:
        """The basename of the resolved path, else the raw word."""
        return posixpath.basename(self.path) if self.path else self.raw


class ResolutionCache:
    """
    A bounded cache of executable lookups, revalidated by change stamps.

    Args:
        max_entries: Entries kept (least recently used are evicted).
        validate: Check stamps on every hit (default). With ``False`` a hit is
            trusted until :meth:`clear`: only safe when the command that runs is the
            rebuilt one with absolute paths (:attr:`Evaluation.enforced_argvs`).
    """

    def __init__(self, max_entries: int = 4096, *, validate: bool = True) -> None:
        self._entries: OrderedDict[
            tuple[int, str, str, str],
            tuple[ExecutableResolver, ResolvedExecutable, tuple[tuple[str, Hashable], ...]],
        ] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_entries
        self._validate = validate
        self.hits = 0
        self.misses = 0

    def clear(self) -> None:
        """Drop every cached lookup."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def resolve(
        self,
        resolver: ExecutableResolver,
        raw: str,
        *,
        cwd: str,
        path_env: str,
    ) -> ResolvedExecutable:
        """Resolve *raw* like :func:`resolve_executable`, using and filling the cache."""
        key = (id(resolver), raw, cwd, path_env)
        found = self._entries.get(key)
        if found is not None:
            owner, value, stamps = found
            if owner is resolver and (not self._validate or not _stamps_changed(resolver, stamps)):
                # One C call, atomic under the GIL; the key may be gone (evicted or
                # cleared by another thread since the lookup), which is fine.
                try:  # noqa: SIM105 - contextlib.suppress costs more on this hot path
                    self._entries.move_to_end(key)
                except KeyError:
                    pass
                self.hits += 1
                return value
        self.misses += 1
        value, consulted = _resolve(resolver, raw, cwd=cwd, path_env=path_env)
        stamps_now = tuple((p, resolver.stamp(p)) for p in consulted) if self._validate else ()
        # Resolve again after stamping: if anything changed in between, do not cache.
        if self._validate and _resolve(resolver, raw, cwd=cwd, path_env=path_env)[0] != value:
            return value
        with self._lock:
            self._entries[key] = (resolver, value, stamps_now)
            if len(self._entries) > self._max:
                self._entries.popitem(last=False)
        return value


# Built for every PATH lookup: skip the frozen __init__ (the parts are checked above).
_make_resolved = positional_maker(ResolvedExecutable)


def resolve_executable(
    resolver: ExecutableResolver, raw: str, *, cwd: str, path_env: str
) -> ResolvedExecutable:
    """
    Resolve a command word the way the shell would.

    A word with a slash is taken relative to *cwd* (a leading ``~`` never resolves); a
    bare name is searched in the folders of *path_env* in order (the search stops
    unresolved at an empty or relative entry, an entry with ``..`` or past
    :data:`~openclaw_exec.analysis.MAX_PATH_ENTRIES` entries: fail closed) and must be an
    executable regular file.
    """
    return _resolve(resolver, raw, cwd=cwd, path_env=path_env)[0]


def _resolve(
    resolver: ExecutableResolver, raw: str, *, cwd: str, path_env: str
) -> tuple[ResolvedExecutable, list[str]]:
    word = raw
    # The shell runs the word exactly as written: " ls" is not "ls" (OpenClaw trims).
    if not word or word != word.strip() or "\x00" in word:
        return ResolvedExecutable(raw=raw, path=None, via_path_lookup=False), []
    if word.startswith("~"):
        # Neither exec nor a quoted shell word expands "~"; OpenClaw does. Fail closed.
        return ResolvedExecutable(raw=raw, path=None, via_path_lookup=False), []
    expanded = word
    if "/" in expanded:
        joined = expanded if expanded.startswith("/") else posixpath.join(cwd, expanded)
        candidate = posixpath.normpath(joined)
        if candidate.startswith("//"):
            candidate = "/" + candidate.lstrip("/")
        consulted = [candidate]
        if not resolver.is_executable_file(candidate):
            return ResolvedExecutable(raw=raw, path=None, via_path_lookup=False), consulted
        traversal = False
        real = None
        if "/.." in joined or joined.startswith(".."):
            # The kernel resolves ".." after symlinks; the lexical normpath does not.
            real = resolver.realpath(candidate)
            traversal = _kernel_realpath(resolver, joined) != real
        return (
            ResolvedExecutable(
                raw=raw,
                path=candidate,
                via_path_lookup=False,
                traversal=traversal,
                real_path=real,
                resolver=resolver,
            ),
            consulted,
        )
    consulted = []
    for prefix in _path_prefixes(path_env):
        candidate = prefix + expanded
        # The stamp of every candidate (present or not) catches a file created, replaced
        # or made executable in an earlier folder, not only the one found.
        consulted.append(candidate)
        if resolver.is_executable_file(candidate):
            return _make_resolved(raw, candidate, True, False, None, resolver), consulted  # noqa: FBT003
    return _make_resolved(raw, None, True, False, None, None), consulted  # noqa: FBT003


@functools.lru_cache(maxsize=256)
def _path_prefixes(path_env: str) -> tuple[str, ...]:
    """
    The ``folder/`` prefixes to search, up to the first entry we cannot vouch for.

    The search stops (fail closed: the name stays unresolved) at an empty or relative
    entry (the shell would search a cwd-dependent folder), at an entry with a ``..``
    component (the kernel resolves ``..`` after following symlinks, so a lexical
    ``normpath`` can name another folder than the one searched: ``/w/sym/../../usr/bin``
    runs ``/tmp/evil/ls`` when ``sym`` points into ``/tmp/evil/x``), and after
    :data:`MAX_PATH_ENTRIES` entries. ``.`` components and doubled slashes are removed
    lexically, which the kernel agrees with.
    """
    out: list[str] = []
    for count, entry in enumerate(path_env.split(":")):
        if count >= MAX_PATH_ENTRIES or not entry.startswith("/"):
            # Past the cap, or an empty or relative entry: we cannot say what runs from
            # here on, so stop (fail closed).
            break
        if ".." in entry.split("/"):
            break
        folder = posixpath.normpath(entry)
        if folder.startswith("//"):
            folder = "/" + folder.lstrip("/")
        out.append(folder if folder.endswith("/") else folder + "/")
    return tuple(out)


def _kernel_realpath(resolver: ExecutableResolver, joined: str) -> str | None:
    """Resolve *joined* component by component, symlinks before ``..`` (as the kernel does)."""
    parts = [p for p in joined.split("/") if p and p != "."]
    current = "/"
    for part in parts:
        if part == "..":
            current = posixpath.dirname(current) or "/"
            continue
        nxt = posixpath.join(current, part)
        real = resolver.realpath(nxt)
        if real is None:
            return None
        current = real
    return current
