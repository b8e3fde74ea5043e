"""
:func:`symlink_free`: "is any component of this path a symlink?" in one system call.

``openat2(2)`` with ``RESOLVE_NO_SYMLINKS`` answers it where an ``lstat`` per component
takes one call each. Python has no wrapper for it, so it is called through libc's
``syscall()`` with :mod:`ctypes`; kept in its own module so that the rest of the analysis
core stays free of :mod:`ctypes` (the mypyc prototype, ``prototypes/mypyc``, compiles
every other module and leaves this one interpreted).
"""

from __future__ import annotations

import ctypes
import errno
import os
import sys

__all__ = ["symlink_free"]


# About 2.8 us instead of 8 us for the three lstat calls of /usr/local/bin on the CI
# machine, on the path of every allowlisted program. Since Linux 5.1 new system calls
# have one number on every architecture but alpha.
_SYS_OPENAT2 = 437
_AT_FDCWD = -100
_RESOLVE_NO_SYMLINKS = 0x04


class _OpenHow(ctypes.Structure):
    _fields_ = (
        ("flags", ctypes.c_uint64),
        ("mode", ctypes.c_uint64),
        ("resolve", ctypes.c_uint64),
    )


def _openat2_caller() -> tuple[object, ...] | None:
    if not sys.platform.startswith("linux") or os.uname().machine.startswith("alpha"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        syscall = libc.syscall
    except (OSError, AttributeError):
        return None
    syscall.restype = ctypes.c_long
    how = _OpenHow(os.O_PATH | os.O_CLOEXEC, 0, _RESOLVE_NO_SYMLINKS)
    return (syscall, ctypes.byref(how), ctypes.sizeof(how), how)


_OPENAT2: tuple[object, ...] | None = _openat2_caller()


def symlink_free(path: str) -> bool | None:
    """
    Whether no component of the absolute path *path* (the last one included) is a symlink.

    ``True``: *path* exists and the kernel followed no symlink to reach it; ``False``: it
    met one. ``None`` (ask per component instead) for anything else: no ``openat2`` here
    (not Linux, a kernel before 5.6, a seccomp filter), a path that does not exist or
    cannot be searched, a relative path or one with ``..``, ``.`` or a NUL byte (the
    C string would end there). Magic links (``/proc/self/...``) count as symlinks, as
    ``lstat`` reports them.
    """
    global _OPENAT2  # noqa: PLW0603 - switched off once if the kernel refuses the call
    caller = _OPENAT2
    if caller is None or not path.startswith("/") or "\x00" in path:
        return None
    if "//" in path or "/./" in path or "/../" in path or path.endswith(("/.", "/..")):
        # Only normalised paths: the kernel resolves ".." after symlinks, lstat-ing
        # components lexically does not, so the two would answer different questions.
        return None
    try:
        raw = os.fsencode(path)
    except UnicodeError:
        return None
    syscall, how, size, _keep = caller
    fd = syscall(_SYS_OPENAT2, _AT_FDCWD, raw, how, size)  # type: ignore[operator]
    if fd >= 0:
        os.close(fd)
        return True
    err = ctypes.get_errno()
    if err == errno.ELOOP:
        return False
    if err in {errno.ENOSYS, errno.EPERM, errno.E2BIG, errno.EINVAL}:
        # No openat2 (or a filter refuses it): the lstat loop from now on.
        _OPENAT2 = None
    return None
