"""
Sandbox backends: the argv that runs an approved argv confined.

Each backend turns an approved argv and a :class:`~openclaw_exec.policy.Sandbox` into
what to spawn.

Two backends, chosen at run time:

* ``bubblewrap``: Debian's ``bwrap`` builds a private mount tree (everything read-only
  but the writable folders, a private ``/tmp``, its own ``/proc`` and ``/dev``), a
  private network namespace when the network is off, a private PID namespace, and drops
  every capability;
* ``landlock``: this package's launcher (``_launch.py``) restricts itself with Landlock
  (read-only everywhere but the writable folders, TCP denied when the network is off),
  a private network namespace, read-only bind mounts over the protected paths, then
  execs the command.

Both set the resource limits first (``setrlimit``; for root, whom the kernel exempts
from the process limit, a ``pids`` cgroup when one can be made). Each backend is probed
once by running ``/bin/true`` confined; a backend whose probe fails is never used.
"""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import shutil
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import attrs

from openclaw_exec.policy import Sandbox

__all__ = [
    "BACKEND_NAMES",
    "Backend",
    "BubblewrapBackend",
    "Confinement",
    "LandlockBackend",
    "Probe",
    "default_backends",
    "protected_paths",
]

BACKEND_NAMES = ("bubblewrap", "landlock")

_LAUNCHER = str(Path(__file__).with_name("_launch.py"))
_CGROUP_ROOT = "/sys/fs/cgroup/pids"
#: Start-up files of the usual shells and the folders whose contents run code later.
_HOME_PROTECTED = (
    ".bashrc",
    ".bash_profile",
    ".bash_login",
    ".bash_logout",
    ".profile",
    ".zshrc",
    ".zshenv",
    ".zprofile",
    ".zlogin",
    ".kshrc",
    ".mkshrc",
    ".inputrc",
    ".ssh",
    ".config/fish",
    ".gitconfig",
    ".config/git",
)


@attrs.frozen
class Probe:
    """
    Whether a backend works here.

    Attributes:
        backend: Its name.
        ok: It confined ``/bin/true`` successfully.
        detail: Why not (or the version found).
    """

    backend: str
    ok: bool
    detail: str


@attrs.frozen(kw_only=True)
class Confinement:
    """
    One prepared confined run: spawn :attr:`argv` with :attr:`env` in :attr:`cwd`.

    Call :meth:`cleanup` after the process has exited (it removes the private
    temporary folder and the cgroup, if any).

    Attributes:
        backend: The backend's name.
        argv: What to spawn.
        env: The environment to spawn it with (the approved one plus ``TMPDIR``).
        cwd: The working directory.
        protected: The paths shielded from writes.
        temp_dir: The private temporary folder.
    """

    backend: str
    argv: tuple[str, ...]
    env: Mapping[str, str]
    cwd: str
    protected: tuple[str, ...]
    temp_dir: str
    cgroup: str | None = None

    def cleanup(self) -> None:
        """Remove the private temporary folder and the cgroup (best effort)."""
        shutil.rmtree(self.temp_dir, ignore_errors=True)
        if self.cgroup is not None:
            with contextlib.suppress(OSError):
                os.rmdir(self.cgroup)  # noqa: PTH106


def protected_paths(
    *, cwd: str, home: str | None, extra: Iterable[str] = (), writable: Iterable[str] = ()
) -> tuple[str, ...]:
    """
    The paths that are never writable from inside, whatever the policy lists.

    Shell start-up files, ``~/.ssh``, git's user config, the ``.git/hooks`` and
    ``.git/config`` of every writable folder that is a repository, and *extra* (the
    approvals file, the audit log ...).
    """
    found: list[str] = [posixpath.normpath(p) for p in extra if p.startswith("/")]
    if home and home.startswith("/"):
        found += [posixpath.join(home, name) for name in _HOME_PROTECTED]
    for root in (cwd, *writable):
        git = posixpath.join(root, ".git")
        if os.path.isdir(git):  # noqa: PTH112
            found += [posixpath.join(git, "hooks"), posixpath.join(git, "config")]
    return tuple(dict.fromkeys(posixpath.normpath(p) for p in found))


#: Protected names that are folders (the others are files).
_PROTECTED_FOLDERS = frozenset({".ssh", "hooks", "fish", "git"})


def _placeholder(path: str) -> None:
    """
    Create an empty *path* (and its missing parents) so it can be shielded read-only.

    A protected path that does not exist yet inside a writable folder (``~/.bashrc`` when
    the command runs in the home folder) could otherwise be created from inside; an empty
    start-up file or folder changes nothing. Best effort: what cannot be made is not
    shielded, and that folder's other protections stay.
    """
    if os.path.lexists(path):
        return
    with contextlib.suppress(OSError):
        if posixpath.basename(path) in _PROTECTED_FOLDERS:
            os.makedirs(path, mode=0o700)  # noqa: PTH103
        else:
            os.makedirs(posixpath.dirname(path), mode=0o700, exist_ok=True)  # noqa: PTH103
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600))


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _real(path: str) -> str:
    return os.path.realpath(path)


def _limits(spec: Sandbox) -> dict[str, int]:
    limits: dict[str, int] = {}
    if spec.max_processes is not None:
        limits["RLIMIT_NPROC"] = spec.max_processes
    if spec.max_memory_bytes is not None:
        limits["RLIMIT_AS"] = spec.max_memory_bytes
    if spec.max_cpu_seconds is not None:
        limits["RLIMIT_CPU"] = spec.max_cpu_seconds
    if spec.max_file_bytes is not None:
        limits["RLIMIT_FSIZE"] = spec.max_file_bytes
    if spec.max_open_files is not None:
        limits["RLIMIT_NOFILE"] = spec.max_open_files
    return limits


def _make_cgroup(spec: Sandbox) -> str | None:
    # The kernel does not apply RLIMIT_NPROC to root: a pids cgroup caps root's fork bombs.
    if spec.max_processes is None or os.getuid() != 0 or not os.path.isdir(_CGROUP_ROOT):  # noqa: PTH112
        return None
    folder = posixpath.join(_CGROUP_ROOT, f"openclaw-exec-{uuid.uuid4().hex[:12]}")
    try:
        os.mkdir(folder)  # noqa: PTH102
        Path(folder, "pids.max").write_text(str(spec.max_processes))
    except OSError:
        return None
    return folder


@attrs.frozen(kw_only=True)
class _Plan:
    """What one confined run may touch, resolved on the real filesystem."""

    spec: Sandbox
    cwd: str
    writable: tuple[str, ...]
    protected: tuple[str, ...]
    cgroup: str | None


class Backend:
    """A way to confine a command. Subclasses implement :meth:`_wrap` and :meth:`_probe`."""

    name: str = ""

    def __init__(self) -> None:
        self._probed: Probe | None = None
        self._lock = threading.Lock()

    def probe(self) -> Probe:
        """Whether this backend works here (probed once, then remembered)."""
        with self._lock:
            if self._probed is None:
                self._probed = self._probe()
            return self._probed

    def _probe(self) -> Probe:
        # Confine /bin/true in a scratch folder: the backend works only if that succeeds.
        with tempfile.TemporaryDirectory() as folder:
            conf = self.prepare(
                ["/bin/true"], spec=Sandbox(), cwd=folder, env={"PATH": "/usr/bin:/bin"}
            )
            try:
                return _run_probe(self.name, conf.argv, conf.env)
            finally:
                conf.cleanup()

    def _wrap(self, argv: Sequence[str], plan: _Plan) -> tuple[str, ...]:
        raise NotImplementedError

    def prepare(
        self,
        argv: Sequence[str],
        *,
        spec: Sandbox,
        cwd: str,
        env: Mapping[str, str],
        protect: Iterable[str] = (),
    ) -> Confinement:
        """
        Build the confined run of *argv* in *cwd* (nothing is started).

        Raises:
            ValueError: *cwd* is not an absolute existing folder.
        """
        if not cwd.startswith("/") or not os.path.isdir(cwd):  # noqa: PTH112
            raise ValueError(f"cwd must be an existing absolute folder, got {cwd!r}")
        cwd = _real(cwd)
        home = env.get("HOME")
        temp_dir = tempfile.mkdtemp(prefix="openclaw-exec-sandbox-")
        writable = [cwd, temp_dir, *(_real(p) for p in spec.writable if os.path.exists(p))]  # noqa: PTH110
        candidates = protected_paths(
            cwd=cwd, home=_real(home) if home else None, extra=protect, writable=writable
        )
        # A protected path is never writable: it is dropped from the writable list when it
        # is one of them, and shielded read-only when it lies inside one.
        writable = [w for w in writable if not any(_inside(w, _real(p)) for p in candidates)]
        inside = [p for p in candidates if any(_inside(_real(p), w) for w in writable)]
        for path in inside:
            _placeholder(path)
        shielded = tuple(_real(p) for p in inside if os.path.lexists(p))
        cgroup = _make_cgroup(spec)
        plan = _Plan(
            spec=spec, cwd=cwd, writable=tuple(writable), protected=shielded, cgroup=cgroup
        )
        wrapped = self._wrap(argv, plan)
        return Confinement(
            backend=self.name,
            argv=wrapped,
            env={**env, "TMPDIR": temp_dir},
            cwd=cwd,
            protected=shielded,
            temp_dir=temp_dir,
            cgroup=cgroup,
        )


def _launcher(spec: Mapping[str, object]) -> list[str]:
    return [sys.executable, "-I", "-S", _LAUNCHER, json.dumps(spec, separators=(",", ":")), "--"]


def _run_probe(name: str, argv: Sequence[str], env: Mapping[str, str]) -> Probe:
    try:
        done = subprocess.run(  # noqa: S603 - our own launcher / bwrap
            list(argv),
            env=dict(env),
            capture_output=True,
            timeout=20,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Probe(name, ok=False, detail=f"probe failed: {exc}")
    if done.returncode != 0:
        why = done.stderr.decode(errors="replace").strip().splitlines()
        return Probe(name, ok=False, detail=(why[-1] if why else f"exit {done.returncode}"))
    return Probe(name, ok=True, detail="confined /bin/true")


class BubblewrapBackend(Backend):
    """Confinement with Debian's ``bwrap`` (bubblewrap); limits set by the launcher first."""

    name = "bubblewrap"

    def __init__(self, executable: str | None = None) -> None:
        super().__init__()
        self.executable = executable or shutil.which("bwrap")

    def _probe(self) -> Probe:
        if self.executable is None:
            return Probe(self.name, ok=False, detail="bwrap is not installed")
        return super()._probe()

    def _wrap(self, argv: Sequence[str], plan: _Plan) -> tuple[str, ...]:
        assert self.executable is not None
        bw = [self.executable, "--die-with-parent", "--new-session", "--unshare-pid"]
        # A private /tmp (inside the new mount tree; the S108 warning is about host paths).
        bw += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]  # noqa: S108
        for path in plan.writable:
            bw += ["--bind", path, path]
        for path in plan.protected:
            bw += ["--ro-bind", path, path]
        if not plan.spec.network:
            bw.append("--unshare-net")
        bw += ["--cap-drop", "ALL", "--chdir", plan.cwd, "--"]
        outer = {"limits": _limits(plan.spec), "cgroup": plan.cgroup}
        return (*_launcher(outer), *bw, *argv)


class LandlockBackend(Backend):
    """Confinement by this package's launcher: Landlock, namespaces, limits, no capabilities."""

    name = "landlock"

    def _wrap(self, argv: Sequence[str], plan: _Plan) -> tuple[str, ...]:
        launch = {
            "limits": _limits(plan.spec),
            "cgroup": plan.cgroup,
            "namespaces": {"net": not plan.spec.network, "mount": bool(plan.protected)},
            "protect": list(plan.protected),
            "landlock": {"write": list(plan.writable), "net": not plan.spec.network},
            "drop_caps": True,
        }
        return (*_launcher(launch), *argv)


def default_backends() -> tuple[Backend, ...]:
    """The backends tried in order: bubblewrap, then Landlock."""
    return (BubblewrapBackend(), LandlockBackend())
