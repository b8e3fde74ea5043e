"""
Escape attempts against each sandbox backend, with real programs on the real kernel.

Every attempt runs through :func:`openclaw_exec.guarded_run` with ``sandbox=required`` and
an allowlist of ``full`` security (so the analyser lets everything through and the sandbox
is the only wall), and must leave no trace outside the writable paths; the legitimate
work next to it (a build writing into cwd, ``git status``/``git commit``, ``python3 -c``)
must still succeed. Each backend is forced on its own.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from openclaw_exec import ExecGuard, ExecPolicy, guarded_run
from openclaw_exec.adapters.filestore import ApprovalsStore
from openclaw_exec.audit import read_audit_log, verify_audit_log
from openclaw_exec.policy import ApprovalsFile, Ask, PolicyDefaults, Sandbox, Security
from openclaw_exec.sandbox import Backend, BubblewrapBackend, LandlockBackend

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    # The sandbox sits below the event loop; the escape matrix runs once, on asyncio.
    # The tests marked BOTH_LOOPS also run on trio.
    return "asyncio"


BOTH_LOOPS = pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])

FULL = ExecPolicy(security="full", ask="off", ask_fallback="full", sandbox="required")
BACKENDS = {"bubblewrap": BubblewrapBackend, "landlock": LandlockBackend}


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest) -> Backend:
    made: Backend = BACKENDS[request.param]()
    probe = made.probe()
    if not probe.ok:
        pytest.skip(f"{made.name} does not work here: {probe.detail}")
    return made


class World:
    """A home, a repository (the cwd), a sibling folder and the guard's own files."""

    def __init__(self, root: Path, backend: Backend) -> None:
        self.root = root
        self.home = root / "home"
        self.repo = root / "home" / "repo"
        self.sibling = root / "home" / "sibling"
        self.state = root / "home" / ".openclaw"
        for folder in (self.repo, self.sibling, self.state, self.home / ".ssh"):
            folder.mkdir(parents=True)
        (self.home / ".bashrc").write_text("# rc\n")
        (self.home / ".ssh" / "authorized_keys").write_text("")
        (self.sibling / "notes").write_text("mine\n")
        env = self.env()
        git = ["git", "-c", "user.name=t", "-c", "user.email=t@e"]
        subprocess.run([*git[:1], "init", "-q", str(self.repo)], check=True, env=env)
        (self.repo / "a.txt").write_text("a\n")
        subprocess.run([*git, "-C", str(self.repo), "add", "a.txt"], check=True, env=env)
        subprocess.run([*git, "-C", str(self.repo), "commit", "-qm", "init"], check=True, env=env)
        self.approvals = self.state / "exec-approvals.json"
        store = ApprovalsStore(self.approvals)
        store.update(
            lambda _: ApprovalsFile(defaults=PolicyDefaults(security=Security.FULL, ask=Ask.OFF))
        )
        self.audit = self.state / "audit.jsonl"
        self.guard = ExecGuard(
            approvals=store, audit=self.audit, policy=FULL, sandbox_backends=[backend]
        )

    def hooks(self) -> list[str]:
        return sorted(p.name for p in (self.repo / ".git" / "hooks").iterdir())

    def env(self) -> dict[str, str]:
        return {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
        }

    async def run(self, command: str, **kw: object) -> tuple[int | None, str]:
        done = await guarded_run(
            self.guard,
            command,
            cwd=self.repo,
            env=self.env(),
            **kw,  # type: ignore[arg-type]
        )
        assert done.authorization.allowed, done.authorization.message
        assert done.authorization.sandbox == self.guard.sandbox_backends[0].name
        return done.returncode, (done.stdout + done.stderr).decode(errors="replace")

    def snapshot(self) -> dict[str, bytes]:
        """Every file outside the repository, but the audit log (the guard appends to it)."""
        files: dict[str, bytes] = {}
        for path in sorted(self.root.rglob("*")):
            if path == self.audit or path.is_relative_to(self.repo):
                continue
            if path.is_file() and not path.is_symlink():
                files[str(path)] = path.read_bytes()
        return files


@pytest.fixture
def world(tmp_path: Path, backend: Backend) -> World:
    return World(tmp_path, backend)


ESCAPES = {
    "bashrc": "echo 'touch /tmp/pwned' >> ~/.bashrc",
    "ssh-keys": "echo key >> ~/.ssh/authorized_keys",
    "approvals-file": "echo '{}' > ~/.openclaw/exec-approvals.json",
    "audit-log": "echo '{}' >> ~/.openclaw/audit.jsonl",
    "etc": "echo x > /etc/openclaw-exec-escape",
    "sibling": "echo stolen > ../sibling/notes",
    "git-hooks": "printf '#!/bin/sh\\ntouch /tmp/pwned\\n' > .git/hooks/pre-commit",
    "git-config": "git config core.fsmonitor 'touch /tmp/pwned'",
    "symlink-planted": "ln -s ~/.bashrc link && echo x >> link",
    "symlink-dir": "ln -s ~ h && echo x > h/new-file",
    "find-fprintf": "find . -maxdepth 0 -fprintf ~/.bashrc 'x'",
    "sed-w": "sed -n 'w ../sibling/notes' a.txt",
    "git-alias": "git -c alias.x='!echo x >> ../sibling/notes' x",
    "git-fsmonitor": "git -c core.fsmonitor='echo x >> ~/.bashrc; false' status",
    "tar-to-command": "tar -cf x.tar a.txt && "
    "tar -xf x.tar --to-command='sh -c \"echo x > ../sibling/notes\"'",
    "sed-e": "echo 'echo x > ../sibling/notes' | sed e",
    "python-write": "python3 -c \"open('../sibling/notes', 'w').write('x')\"",
    "rename-over": "mv a.txt ../sibling/notes",
}


@pytest.mark.parametrize("name", sorted(ESCAPES))
async def test_escape_leaves_no_trace_outside_the_writable_paths(world: World, name: str) -> None:
    outside_before = world.snapshot()
    hooks_before = world.hooks()
    config_before = (world.repo / ".git" / "config").read_bytes()
    await world.run(ESCAPES[name])
    assert world.snapshot() == outside_before
    audit = verify_audit_log(world.audit)
    assert audit.ok, audit.error
    assert [r.command for r in read_audit_log(world.audit)] == [ESCAPES[name]]
    assert world.hooks() == hooks_before
    assert (world.repo / ".git" / "config").read_bytes() == config_before
    assert not await anyio.Path("/etc/openclaw-exec-escape").exists()
    assert not await anyio.Path("/tmp/pwned").exists()


@pytest.mark.parametrize("name", sorted(ESCAPES))
def test_each_escape_is_real_without_a_sandbox(tmp_path: Path, name: str) -> None:
    # The same shape, run unconfined in the same world, does change something outside the
    # writable paths: the test above would notice a sandbox that stopped working.
    world = World(tmp_path, LandlockBackend())
    before = world.snapshot()
    hooks = world.hooks()
    config = (world.repo / ".git" / "config").read_bytes()
    etc = Path("/etc/openclaw-exec-escape")
    world.audit.write_bytes(b"")
    try:
        subprocess.run(["sh", "-c", ESCAPES[name]], cwd=world.repo, env=world.env(), check=False)
        escaped = (
            world.snapshot() != before
            or world.hooks() != hooks
            or (world.repo / ".git" / "config").read_bytes() != config
            or etc.exists()
            or world.audit.read_bytes() != b""
        )
    finally:
        etc.unlink(missing_ok=True)
    assert escaped, f"{name}: the shape changed nothing outside the writable paths"


@BOTH_LOOPS
async def test_legitimate_work_still_runs(world: World) -> None:
    code, out = await world.run("echo built > out.txt && cat out.txt")
    assert (code, out) == (0, "built\n")
    code, out = await world.run(
        "git status --short && git add out.txt && "
        "git -c user.name=t -c user.email=t@e commit -qm build && git log --oneline | wc -l"
    )
    assert code == 0, out
    assert out.strip().endswith("2")
    code, out = await world.run("python3 -c 'print(6 * 7)'")
    assert (code, out) == (0, "42\n")
    code, out = await world.run('echo tmp > "$TMPDIR/t" && cat "$TMPDIR/t"')
    assert (code, out) == (0, "tmp\n")
    code, out = await world.run("mkdir -p build/obj && echo o > build/obj/x.o && ls build/obj")
    assert (code, out) == (0, "x.o\n")


@pytest.fixture
def listener() -> Iterator[int]:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            conn.sendall(b"hello\n")
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    server.close()


CONNECT = (
    "python3 -c \"import socket,sys; s=socket.create_connection(('127.0.0.1', {port}), 3); "
    'sys.stdout.write(str(s.recv(5)))"'
)


@BOTH_LOOPS
async def test_network_off_cannot_reach_a_loopback_listener(world: World, listener: int) -> None:
    code, out = await world.run(CONNECT.format(port=listener))
    assert code != 0
    assert "hello" not in out
    # The listener is really there: the same client, unconfined, gets its greeting.
    done = await anyio.run_process(
        [sys.executable, "-c", CONNECT.format(port=listener).split('"')[1]], check=False
    )
    assert done.stdout.decode() == "b'hello'"


async def test_network_on_reaches_the_listener(world: World, listener: int) -> None:
    code, out = await world.run(CONNECT.format(port=listener), sandbox=Sandbox(network=True))
    assert (code, out) == (0, "b'hello'")


async def test_fork_bomb_is_contained(world: World) -> None:
    spec = Sandbox(max_processes=64)
    bomb = (
        'python3 -c "import os, time\nn = 0\nfor _ in range(400):\n'
        "    try:\n        pid = os.fork()\n    except OSError:\n        break\n"
        '    if pid == 0:\n        time.sleep(3)\n        os._exit(0)\n    n += 1\nprint(n)"'
    )
    with anyio.fail_after(60):
        code, out = await world.run(bomb, sandbox=spec)
    assert code == 0, out
    assert int(out.strip()) < 64


async def test_memory_limit_is_enforced(world: World) -> None:
    spec = Sandbox(max_memory_bytes=256 << 20)
    code, out = await world.run(
        "python3 -c \"b = bytearray(1 << 30); print('allocated')\"", sandbox=spec
    )
    assert code != 0
    assert "MemoryError" in out
    code, out = await world.run("python3 -c \"b = bytearray(16 << 20); print('ok')\"", sandbox=spec)
    assert (code, out) == (0, "ok\n")


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")
def test_bubblewrap_backend_uses_the_bwrap_binary() -> None:
    assert BubblewrapBackend().executable == shutil.which("bwrap")


HOME_ESCAPES = {
    "bashrc": "echo 'touch /tmp/pwned' >> .bashrc",
    "profile": "echo 'touch /tmp/pwned' > .profile",
    "zshenv": "echo 'touch /tmp/pwned' > .zshenv",
    "ssh": "mkdir -p .ssh && echo key > .ssh/authorized_keys",
    "fish": "mkdir -p .config/fish && echo 'touch /tmp/pwned' > .config/fish/config.fish",
    "gitconfig": "printf '[core]\\n\\tpager = touch /tmp/pwned\\n' > .gitconfig",
}


@pytest.mark.parametrize("name", sorted(HOME_ESCAPES))
async def test_start_up_files_that_do_not_exist_yet_cannot_be_planted_from_home(
    tmp_path: Path, backend: Backend, name: str
) -> None:
    # The command runs in the home folder itself, where no start-up file exists yet.
    home = tmp_path / "h"
    home.mkdir()
    guard = ExecGuard(approvals_file=ApprovalsFile(), policy=FULL, sandbox_backends=[backend])
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home)}
    run = await guarded_run(guard, HOME_ESCAPES[name], cwd=home, env=env)
    assert run.authorization.sandbox == backend.name
    planted = [
        str(p.relative_to(home)) for p in home.rglob("*") if p.is_file() and p.stat().st_size > 0
    ]
    assert planted == [], f"{name}: {planted} written"
    # Unconfined, the same command does plant it (the shape is real).
    bare = tmp_path / "bare"
    bare.mkdir()
    await anyio.run_process(["sh", "-c", HOME_ESCAPES[name]], cwd=bare, check=False)
    assert any(p.is_file() and p.stat().st_size > 0 for p in bare.rglob("*"))
