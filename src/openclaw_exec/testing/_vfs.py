"""A virtual filesystem resolver for tests and embedders: no disk access at all."""

from __future__ import annotations

import posixpath
from collections.abc import Hashable

from openclaw_exec.analysis import ExecutableResolver

__all__ = ["VirtualResolver"]

_MAX_LINKS = 40


class VirtualResolver(ExecutableResolver):
    """
    An in-memory filesystem of files, folders and symlinks for command analysis.

    Every change bumps a generation counter that feeds :meth:`stamp`, so a
    :class:`~openclaw_exec.analysis.ResolutionCache` notices it.

    Example::

        vfs = VirtualResolver()
        vfs.add_file("/usr/bin/ls")
        vfs.add_symlink("/usr/local/bin/ll", "/usr/bin/ls")
    """

    def __init__(self) -> None:
        self._files: dict[str, bool] = {}  # path -> executable
        self._dirs: set[str] = {"/"}
        self._links: dict[str, str] = {}
        self._generation = 0
        self._stamps: dict[str, int] = {}

    def _touch(self, path: str) -> None:
        self._generation += 1
        self._stamps[path] = self._generation
        parent = posixpath.dirname(path)
        self._stamps[parent] = self._generation

    def _mkdirs(self, folder: str) -> None:
        while folder not in self._dirs:
            self._dirs.add(folder)
            self._touch(folder)
            folder = posixpath.dirname(folder)

    def add_file(self, path: str, *, executable: bool = True) -> None:
        """Create (or replace) a regular file; folders above it are created."""
        path = posixpath.normpath(path)
        self._mkdirs(posixpath.dirname(path))
        self._links.pop(path, None)
        self._files[path] = executable
        self._touch(path)

    def add_symlink(self, path: str, target: str) -> None:
        """Create a symlink *path* -> *target* (relative targets are relative to its folder)."""
        path = posixpath.normpath(path)
        self._mkdirs(posixpath.dirname(path))
        self._files.pop(path, None)
        self._links[path] = target
        self._touch(path)

    def add_dir(self, path: str) -> None:
        """Create a folder (and its parents)."""
        self._mkdirs(posixpath.normpath(path))

    def remove(self, path: str) -> None:
        """Remove a file or symlink (missing paths are ignored)."""
        path = posixpath.normpath(path)
        self._files.pop(path, None)
        self._links.pop(path, None)
        self._touch(path)

    def chmod_executable(self, path: str, *, executable: bool) -> None:
        """Set or clear the execute bit of an existing file."""
        path = posixpath.normpath(path)
        if path in self._files:
            self._files[path] = executable
            self._touch(path)

    def _real(self, path: str) -> str | None:
        if not path.startswith("/"):
            return None
        current = "/"
        pending = [p for p in path.split("/") if p]
        hops = 0
        while pending:
            part = pending.pop(0)
            if part == ".":
                continue
            if part == "..":
                current = posixpath.dirname(current)
                continue
            candidate = posixpath.join(current, part)
            if candidate in self._links:
                hops += 1
                if hops > _MAX_LINKS:
                    return None
                target = self._links[candidate]
                base = "/" if target.startswith("/") else current
                pending = [p for p in target.split("/") if p] + pending
                current = base if target.startswith("/") else current
                continue
            if candidate in self._dirs or (candidate in self._files and not pending):
                current = candidate
                continue
            return None
        return current

    def is_executable_file(self, path: str) -> bool:
        real = self._real(path)
        return real is not None and self._files.get(real, False)

    def realpath(self, path: str) -> str | None:
        return self._real(path)

    def stamp(self, path: str) -> Hashable:
        real = self._real(posixpath.normpath(path)) if path.startswith("/") else None
        return (self._stamps.get(path), self._stamps.get(real) if real else None, real)
