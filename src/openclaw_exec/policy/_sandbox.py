"""
``Sandbox``: what a confined command may touch (a pure value).

Confining lives in :mod:`openclaw_exec.sandbox`. The analyser decides *which program*
runs; it cannot know what an allowlisted program will do with its features (``git -c
core.pager=…``, ``find -fprintf ~/.bashrc``, ``tar --to-command``). A sandbox is the
second wall: the filesystem is read-only except the command's working directory, a
private temporary folder and the folders named here; the network is off unless asked
for; processes, memory, CPU time and file sizes are capped.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from typing import Any

import attrs

__all__ = ["Sandbox"]


def _paths(value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise TypeError(f"writable must be a list of absolute paths, got {value!r}")
    out: list[str] = []
    for item in value:
        if not isinstance(item, str) or not item.startswith("/") or "\x00" in item:
            raise ValueError(f"writable paths must be absolute, got {item!r}")
        out.append(posixpath.normpath(item))
    return tuple(dict.fromkeys(out))


def _limit(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if type(value) is not int or value < 1:
        raise ValueError(f"{attribute.name} must be a positive integer or None, got {value!r}")


@attrs.frozen(kw_only=True)
class Sandbox:
    """
    What a confined command may touch.

    Whatever is listed here, the approvals file, the audit log, shell start-up files,
    ``~/.ssh`` and a repository's ``.git/hooks`` and ``.git/config`` are never writable
    from inside (the runtime adds them; see :mod:`openclaw_exec.sandbox`).

    Attributes:
        writable: Absolute folders (or files) writable besides the working directory
            and the private temporary folder.
        network: Whether the command may use the network (``False``: a fresh network
            namespace with nothing in it).
        max_processes: Processes (and threads) the command may have at once.
        max_memory_bytes: Address space per process.
        max_cpu_seconds: CPU time per process.
        max_file_bytes: Largest file a process may write.
        max_open_files: Open file descriptors per process.
    """

    writable: tuple[str, ...] = attrs.field(default=(), converter=_paths)
    network: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))
    max_processes: int | None = attrs.field(default=256, validator=_limit)
    max_memory_bytes: int | None = attrs.field(default=8 << 30, validator=_limit)
    max_cpu_seconds: int | None = attrs.field(default=None, validator=_limit)
    max_file_bytes: int | None = attrs.field(default=None, validator=_limit)
    max_open_files: int | None = attrs.field(default=4096, validator=_limit)

    def to_json(self) -> dict[str, Any]:
        """A plain dict (stable keys) of every field."""
        return {
            "writable": list(self.writable),
            "network": self.network,
            "maxProcesses": self.max_processes,
            "maxMemoryBytes": self.max_memory_bytes,
            "maxCpuSeconds": self.max_cpu_seconds,
            "maxFileBytes": self.max_file_bytes,
            "maxOpenFiles": self.max_open_files,
        }

    def digest(self) -> str:
        """16 hex digits of SHA-256 over :meth:`to_json`: what an approval binds to."""
        text = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]
