"""
The working directory of a guarded command: resolved once, and the same folder at the start.

:func:`checked_cwd` resolves the folder the command is checked for; :func:`cwd_identity`
takes that folder's identity (device and inode) when the command is checked, and
:func:`cwd_drift` tells, just before the process starts, whether the path still reaches
that very folder without a symlink. While a human decides (seconds to minutes), a process
that can rename folders on the path could otherwise swap a component for a symlink, and
the approved command would run somewhere nobody checked (OpenClaw 2026.9.6 refuses that:
``SYSTEM_RUN_DENIED: approval cwd changed before execution``).
"""

from __future__ import annotations

import os

from openclaw_exec.analysis._openat2 import symlink_free
from openclaw_exec.exceptions import AnalysisError

__all__ = ["checked_cwd", "cwd_drift", "cwd_identity"]

CwdIdentity = tuple[int, int]
"""A folder's ``(st_dev, st_ino)``."""


def checked_cwd(cwd: str | os.PathLike[str] | None = None) -> str:
    """
    The working directory a command is checked for and run in: resolved once.

    ``None`` means the process's. An absolute path is resolved through the real
    filesystem (every symlink followed, ``..`` applied after them as the kernel does), so
    the folder the analysis sees is the folder the command runs in even when a symlink
    in the path changes later. A relative path is returned as it is (the analysis
    refuses it as misuse).
    """
    where: object = os.getcwd() if cwd is None else os.fspath(cwd)  # noqa: PTH109 (a str)
    if not isinstance(where, str):
        raise AnalysisError(f"cwd must be a str path, got {where!r}")
    if not where.startswith("/"):
        return where
    # A normalised path the kernel reaches without meeting a symlink is its own real path:
    # one openat2 answers that, where realpath lstat-s every component in Python.
    # Anything else (a symlink on the way, a missing folder, "..", no openat2): realpath.
    if (where == "/" or not where.endswith("/")) and symlink_free(where) is True:
        return where
    return os.path.realpath(where)


def cwd_identity(where: str) -> CwdIdentity | None:
    """The identity of the folder *where* reaches now, or ``None`` if it reaches none."""
    try:
        st = os.stat(where)  # noqa: PTH116 - one system call, no Path object
    except (OSError, ValueError):
        return None
    return (st.st_dev, st.st_ino)


def cwd_drift(where: str, identity: CwdIdentity | None) -> str | None:
    """
    Why *where* is no longer the folder that was checked (identity *identity*), or ``None``.

    The path must still reach a folder without meeting a symlink (:func:`checked_cwd`
    gives it back unchanged), and that folder must be the same object (device and inode).
    A folder that did not exist when the command was checked must still not exist.
    """
    if not where.startswith("/"):
        return None  # never checked as a folder: the analysis refused it as misuse
    if identity is not None and checked_cwd(where) != where:
        return f"approval cwd changed before execution: {where} now passes through a symlink"
    if cwd_identity(where) != identity:
        return f"approval cwd changed before execution: {where} is not the folder that was checked"
    return None
