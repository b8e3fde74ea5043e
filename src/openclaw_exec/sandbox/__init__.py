"""
Kernel sandboxes for approved commands: the second wall behind command analysis.

Analysis decides *which program* runs; a sandbox limits what that program can reach. With
``sandbox`` set to ``preferred`` or ``required`` in the policy, :func:`openclaw_exec.guarded_run`
runs the approved command through the first working backend:

* ``bubblewrap`` (Debian's ``bwrap``) and
* ``landlock`` (this package's launcher: Landlock, namespaces, limits, no capabilities).

The filesystem is read-only except the command's working directory, a private temporary
folder and the folders :class:`~openclaw_exec.policy.Sandbox` names; the approvals file, the
audit log, shell start-up files, ``~/.ssh`` and a repository's ``.git/hooks`` and
``.git/config`` are never writable. The network is off unless the sandbox asks for it.

**Fail closed:** with ``required`` and no working backend, nothing runs and the
authorization says why. The approval binds the confinement too (see :func:`binding_argv`),
so an approval given for a confined run is never spent by an unconfined one.

Linux only; this is the outer layer (it probes the kernel and spawns processes).
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from openclaw_exec.policy import Sandbox, SandboxMode
from openclaw_exec.sandbox._backends import (
    BACKEND_NAMES,
    Backend,
    BubblewrapBackend,
    Confinement,
    LandlockBackend,
    Probe,
    default_backends,
    protected_paths,
)

__all__ = [
    "BACKEND_NAMES",
    "Backend",
    "BubblewrapBackend",
    "Confinement",
    "LandlockBackend",
    "Probe",
    "Sandbox",
    "SandboxChoice",
    "binding_argv",
    "choose_backend",
    "default_backends",
    "protected_paths",
]


@attrs.frozen
class SandboxChoice:
    """
    Which backend a run uses, and why.

    Attributes:
        mode: The effective sandbox mode.
        backend: The backend to confine with, or ``None`` (unconfined).
        refused: Nothing may run (``required`` and no working backend).
        detail: Why, in words (each backend's probe result when none works).
    """

    mode: SandboxMode
    backend: Backend | None
    refused: bool
    detail: str


def choose_backend(mode: SandboxMode, backends: Sequence[Backend]) -> SandboxChoice:
    """
    Pick the first backend whose probe succeeds, as *mode* requires.

    ``off`` never probes; ``preferred`` runs unconfined when none works; ``required``
    refuses then. A backend whose probe failed is never used.
    """
    if mode is SandboxMode.OFF:
        return SandboxChoice(mode, None, refused=False, detail="sandbox off")
    failures: list[str] = []
    for backend in backends:
        probe = backend.probe()
        if probe.ok:
            return SandboxChoice(mode, backend, refused=False, detail=f"confined by {backend.name}")
        failures.append(f"{probe.backend}: {probe.detail}")
    why = "; ".join(failures) or "no sandbox backend configured"
    if mode is SandboxMode.REQUIRED:
        return SandboxChoice(mode, None, refused=True, detail=f"no working sandbox backend ({why})")
    return SandboxChoice(
        mode, None, refused=False, detail=f"unconfined: no working backend ({why})"
    )


def binding_argv(argv: Sequence[str], backend: str | None, spec: Sandbox | None) -> tuple[str, ...]:
    """
    The argv an approval binds to: *argv* itself, or a marked form when confined.

    ``("openclaw-exec-sandbox", "<backend>:<digest>", "--", *argv)`` names the backend and
    the :meth:`~openclaw_exec.policy.Sandbox.digest` of the spec, so a decision for a
    confined run cannot be consumed by an unconfined run or a looser sandbox.
    """
    if backend is None or spec is None:
        return tuple(argv)
    return ("openclaw-exec-sandbox", f"{backend}:{spec.digest()}", "--", *argv)
