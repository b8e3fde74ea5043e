"""
What one evaluation carries besides the segment: options, and per-call filesystem answers.

A :class:`Context` is built per :func:`~openclaw_exec.analysis.evaluate_command` call and
never shared: every segment of one command line sees the same filesystem answer for the
same word or folder, and nothing is remembered from one call to the next.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping

from openclaw_exec.analysis._allowlist import CompiledAllowlist
from openclaw_exec.analysis._openat2 import symlink_free
from openclaw_exec.analysis._resolver import (
    ExecutableResolver,
    OsResolver,
    ResolutionCache,
    ResolvedExecutable,
    resolve_executable,
)
from openclaw_exec.analysis._safe_bins import SafeBinProfile
from openclaw_exec.analysis._shell import AnalysisFailure

__all__ = ["Abort", "Context"]

_UNSET = object()


class Context:
    """What one evaluation needs besides the segment (a plain class: built per call)."""

    __slots__ = (
        "allowlist",
        "cache",
        "clean",
        "cwd",
        "danger_env",
        "links",
        "path_env",
        "profiles",
        "resolved",
        "resolver",
        "safe_bins",
        "skills",
        "symlinked",
        "trusted_dirs",
        "trusted_real",
    )

    def __init__(  # noqa: PLR0917 - one field each
        self,
        cwd: str,
        path_env: str,
        allowlist: CompiledAllowlist,
        safe_bins: frozenset[str],
        profiles: Mapping[str, SafeBinProfile],
        trusted_dirs: frozenset[str],
        skills: Mapping[str, frozenset[str]] | None,
        resolver: ExecutableResolver,
        cache: ResolutionCache | None,
    ) -> None:
        self.cwd = cwd
        self.path_env = path_env
        self.allowlist = allowlist
        self.safe_bins = safe_bins
        self.profiles = profiles
        self.trusted_dirs = trusted_dirs
        self.skills = skills
        self.resolver = resolver
        self.cache = cache
        # Per evaluation only (never shared between calls): the same word, or two
        # executables in the same folder, are looked up once per command line, so every
        # segment of one command sees the same filesystem answer.
        self.resolved: dict[str, ResolvedExecutable | None] = {}
        self.symlinked: dict[str, bool] = {}
        self.links: dict[str, bool] = {}
        self.clean: dict[str, bool] = {}
        # The environment for danger profiles, None when they are off.
        self.danger_env: Mapping[str, str] | None = None
        self.trusted_real: frozenset[str] | None = None

    def resolve(self, raw: str) -> ResolvedExecutable | None:
        found = self.resolved.get(raw, _UNSET)
        if found is not _UNSET:
            return found  # type: ignore[return-value]
        if not raw.strip():
            value = None
        elif self.cache is not None:
            value = self.cache.resolve(self.resolver, raw, cwd=self.cwd, path_env=self.path_env)
        else:
            value = resolve_executable(self.resolver, raw, cwd=self.cwd, path_env=self.path_env)
        self.resolved[raw] = value
        return value

    def real_trusted_dirs(self) -> frozenset[str]:
        """The trusted safe-bin folders and their real paths (``/bin`` is ``/usr/bin``)."""
        if self.trusted_real is None:
            real = (self.resolver.realpath(d) for d in self.trusted_dirs)
            self.trusted_real = self.trusted_dirs | {r for r in real if r is not None}
        return self.trusted_real

    def __contains__(self, folder: object) -> bool:
        """
        Whether *folder* is a trusted safe-bin folder or the real path of one.

        The folders as given answer first, without a filesystem call; their real paths
        are asked only when that fails (``in real_trusted_dirs()``, lazily).
        """
        return folder in self.trusted_dirs or folder in self.real_trusted_dirs()

    def real_name_path(self, resolved: ResolvedExecutable) -> str | None:
        """
        A path whose last component is the real path's (``None`` when that is unknown).

        The path itself when its last component is not a symlink (folders that are
        symlinks change the folder, never the name): one ``lstat`` instead of resolving
        every component.
        """
        path = resolved.path
        if path is None:
            return None
        link = self.links.get(path)
        if link is None:
            link = False if self._symlink_free(path) else self.resolver.is_symlink(path)
            self.links[path] = link
        if not link:
            return path
        return resolved.real_path

    def through_symlinked_folder(self, resolved: ResolvedExecutable) -> bool:
        if self.cache is not None or resolved.path is None:
            # A cached value keeps its own answer (revalidated with the value's stamps).
            return resolved.through_symlinked_folder
        if self._symlink_free(resolved.path):
            return False
        folder = posixpath.dirname(resolved.path)
        found = self.symlinked.get(folder)
        if found is None:
            found = self.resolver.has_symlink(folder)
            self.symlinked[folder] = found
        return found

    def _symlink_free(self, path: str) -> bool:
        """
        Whether no component of the executable's *path* is a symlink, in one system call.

        Both questions asked of a matched executable (is its folder symlinked, is the file
        itself a link) are answered ``False`` by one ``openat2`` of the whole path when it
        meets no symlink. Its answer is kept apart from theirs, for this evaluation only:
        "the file is no link" says nothing of its folder. Only for the default
        :class:`OsResolver` itself (a subclass or another resolver may answer otherwise);
        ``False`` means "ask each question the usual way".
        """
        if type(self.resolver) is not OsResolver:
            return False
        clean = self.clean.get(path)
        if clean is None:
            clean = self.clean[path] = symlink_free(path) is True
        return clean


class Abort(Exception):  # noqa: N818 - internal control flow
    def __init__(self, failure: AnalysisFailure) -> None:
        super().__init__(failure.message)
        self.failure = failure
