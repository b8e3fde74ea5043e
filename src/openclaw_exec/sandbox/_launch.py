"""
The sandbox launcher: confine this process, then exec the approved argv.

Run as a file, not as a module of the package (``python3 -I -S _launch.py SPEC -- ARGV``),
so it starts in a few milliseconds and imports nothing but the standard library. SPEC is
JSON::

    {"limits": {"RLIMIT_NPROC": 256, ...},          # setrlimit, soft = hard
     "cgroup": "/sys/fs/cgroup/pids/…/run-…",        # join this pids cgroup (made by the parent)
     "namespaces": {"net": true, "mount": true},     # unshare (a user namespace if not root)
     "protect": ["/work/repo/.git/hooks", …],        # bind read-only over themselves
     "landlock": {"write": ["/work/repo", …], "net": true},
     "drop_caps": true}

Every step either succeeds or the launcher exits with status 126 and one line on
stderr starting with ``openclaw-exec sandbox:``; it never runs the command unconfined.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import sys
from typing import Any

_FAILED = 126

# Landlock (include/uapi/linux/landlock.h); the syscall numbers are the same on every
# architecture that has Landlock (the generic table).
_SYS_CREATE_RULESET, _SYS_ADD_RULE, _SYS_RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_FS_EXECUTE = 1 << 0
_FS_WRITE_FILE = 1 << 1
_FS_READ_FILE = 1 << 2
_FS_READ_DIR = 1 << 3
_FS_TRUNCATE = 1 << 14
_FS_IOCTL_DEV = 1 << 15
_FILE_RIGHTS = _FS_EXECUTE | _FS_WRITE_FILE | _FS_READ_FILE | _FS_TRUNCATE | _FS_IOCTL_DEV
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1
_SCOPE_ABSTRACT_UNIX, _SCOPE_SIGNAL = 1 << 0, 1 << 1
#: All filesystem rights a given ABI knows (ABI 1: 13 rights, 2: REFER, 3: TRUNCATE, 5: IOCTL_DEV).
_FS_ALL = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1}
_FS_ALL_LATEST = (1 << 16) - 1

_CLONE_NEWNS = 0x00020000
_CLONE_NEWUSER = 0x10000000
_CLONE_NEWNET = 0x40000000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 32, 4096, 16384, 1 << 18
_MS_NOATIME, _MS_NODIRATIME, _MS_RELATIME = 1024, 2048, 1 << 21
_PR_SET_NO_NEW_PRIVS, _PR_CAPBSET_DROP = 38, 24
_ST_FLAGS = {  # statvfs f_flag bits -> mount flags that must be kept when remounting
    1: _MS_RDONLY,
    2: _MS_NOSUID,
    4: _MS_NODEV,
    8: _MS_NOEXEC,
    1024: _MS_NOATIME,
    2048: _MS_NODIRATIME,
    4096: _MS_RELATIME,
}

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


class _RefusedError(Exception):
    """A confinement step failed: the command must not run."""


def _check(result: int, what: str) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise _RefusedError(f"{what}: {os.strerror(err)} (errno {err})")
    return result


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, or 0 when Landlock is off or missing."""
    abi = _libc.syscall(_SYS_CREATE_RULESET, None, ctypes.c_size_t(0), _CREATE_RULESET_VERSION)
    return max(int(abi), 0)


class _RulesetAttr(ctypes.Structure):
    _fields_ = (
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    )


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = (
        ("allowed_access", ctypes.c_uint64),
        ("parent_fd", ctypes.c_int32),
    )


def _landlock(write: list[str], *, net: bool) -> None:
    abi = landlock_abi()
    if abi < 1:
        raise _RefusedError("Landlock is not available in this kernel")
    handled = _FS_ALL.get(abi, _FS_ALL_LATEST)
    attr = _RulesetAttr(handled, 0, 0)
    size = 8
    if net:
        if abi < 4:
            raise _RefusedError(f"Landlock ABI {abi} cannot restrict the network (needs 4)")
        attr.handled_access_net = _NET_BIND_TCP | _NET_CONNECT_TCP
        size = 16
    if abi >= 6:
        attr.scoped = _SCOPE_ABSTRACT_UNIX | _SCOPE_SIGNAL
        size = 24
    ruleset = _check(
        _libc.syscall(_SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0),
        "landlock_create_ruleset",
    )
    read = _FS_EXECUTE | _FS_READ_FILE | _FS_READ_DIR
    rules: list[tuple[str, int]] = [("/", read)]
    rules += [(p, handled) for p in write]
    # Terminals and the null devices are written by ordinary programs.
    dev_rw = _FS_READ_FILE | _FS_WRITE_FILE | (_FS_IOCTL_DEV if abi >= 5 else 0)
    rules += [(d, dev_rw) for d in ("/dev/null", "/dev/zero", "/dev/full", "/dev/tty")]
    rules += [("/dev/pts", dev_rw | _FS_READ_DIR), ("/dev/ptmx", dev_rw)]
    for path, access in rules:
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            if path.startswith("/dev/"):
                continue  # a device this system lacks
            raise _RefusedError(f"cannot open {path!r} for a Landlock rule") from None
        try:
            rights = access if os.path.isdir(f"/proc/self/fd/{fd}") else access & _FILE_RIGHTS  # noqa: PTH112
            beneath = _PathBeneath(rights & handled, fd)
            _check(
                _libc.syscall(_SYS_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(beneath), 0),
                f"landlock_add_rule {path!r}",
            )
        finally:
            os.close(fd)
    _check(_libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")
    _check(_libc.syscall(_SYS_RESTRICT_SELF, ruleset, 0), "landlock_restrict_self")
    os.close(ruleset)


def _write(path: str, text: str) -> None:
    with open(path, "w", encoding="ascii") as handle:  # noqa: PTH123
        handle.write(text)


def _namespaces(spec: dict[str, Any]) -> None:
    flags = 0
    if spec.get("net"):
        flags |= _CLONE_NEWNET
    if spec.get("mount"):
        flags |= _CLONE_NEWNS
    if not flags:
        return
    uid, gid = os.getuid(), os.getgid()
    if uid != 0:
        flags |= _CLONE_NEWUSER
    _check(_libc.unshare(flags), "unshare")
    if uid != 0:
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"{uid} {uid} 1")
        _write("/proc/self/gid_map", f"{gid} {gid} 1")
    if spec.get("mount"):
        _check(
            _libc.mount(b"none", b"/", None, _MS_REC | _MS_PRIVATE, None), "mount --make-rprivate /"
        )


def _protect(paths: list[str]) -> None:
    for path in paths:
        raw = path.encode()
        _check(_libc.mount(raw, raw, None, _MS_BIND, None), f"bind {path!r}")
        # A remount must keep the flags the kernel locked on the original mount.
        kept = 0
        for bit, flag in _ST_FLAGS.items():
            if os.statvfs(path).f_flag & bit:
                kept |= flag
        flags = _MS_REMOUNT | _MS_BIND | _MS_RDONLY | kept
        _check(_libc.mount(raw, raw, None, flags, None), f"remount read-only {path!r}")


def _drop_capabilities() -> None:
    # Root keeps every capability across exec unless the bounding set is emptied.
    last = int(open("/proc/sys/kernel/cap_last_cap").read())  # noqa: PTH123, SIM115
    for cap in range(last + 1):
        _check(_libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0), f"drop capability {cap}")


def _limits(limits: dict[str, int]) -> None:
    for name, value in limits.items():
        which = getattr(resource, name) if name.startswith("RLIMIT_") else None
        if not isinstance(which, int):
            raise _RefusedError(f"unknown resource limit {name!r}")
        try:
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError) as exc:
            raise _RefusedError(f"setrlimit {name}={value}: {exc}") from None


def _join_cgroup(folder: str) -> None:
    try:
        _write(os.path.join(folder, "cgroup.procs"), str(os.getpid()))  # noqa: PTH118
    except OSError as exc:
        raise _RefusedError(f"cannot join {folder}: {exc}") from None


def confine(spec: dict[str, Any]) -> None:
    """Apply *spec* to this process (see the module docstring)."""
    unknown = set(spec) - {"cgroup", "limits", "namespaces", "protect", "landlock", "drop_caps"}
    if unknown:
        raise _RefusedError(f"unknown spec keys {sorted(unknown)}")
    if spec.get("cgroup"):
        _join_cgroup(spec["cgroup"])
    _limits(spec.get("limits", {}))
    _namespaces(spec.get("namespaces", {}))
    _protect(spec.get("protect", []))
    landlock = spec.get("landlock")
    if landlock is not None:
        _landlock(list(landlock.get("write", [])), net=bool(landlock.get("net")))
    else:
        _check(_libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")
    if spec.get("drop_caps") and os.getuid() == 0:
        _drop_capabilities()


def main(argv: list[str]) -> int:
    """``_launch.py SPEC -- ARGV...``: confine, then exec ARGV (never returns on success)."""
    if len(argv) < 3 or argv[1] != "--":
        sys.stderr.write("openclaw-exec sandbox: usage: _launch.py SPEC -- ARGV...\n")
        return _FAILED
    try:
        spec = json.loads(argv[0])
        confine(spec if isinstance(spec, dict) else {"invalid": spec})
    except Exception as exc:  # noqa: BLE001 - any failure means: do not run unconfined
        sys.stderr.write(f"openclaw-exec sandbox: {type(exc).__name__}: {exc}\n")
        return _FAILED
    try:
        os.execvp(argv[2], argv[2:])  # noqa: S606 - the approved argv, by design
    except OSError as exc:
        sys.stderr.write(f"openclaw-exec sandbox: exec {argv[2]!r}: {exc}\n")
    return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
