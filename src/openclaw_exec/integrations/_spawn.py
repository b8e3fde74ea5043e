"""
Start a checked command and collect it: :func:`anyio.run_process` with less machinery.

On asyncio (Python 3.11) :func:`anyio.run_process` builds a subprocess transport and
three pipe protocols and starts a child-watcher thread per child; on trio it starts the
child from a worker thread. Together that is about 0.3-0.5 ms per command, a quarter of
spawning ``sh -c true``, and more than the guard's whole decision is allowed to cost.
:func:`spawn` starts the child with :class:`subprocess.Popen` on the calling thread (as
asyncio's own ``subprocess_exec`` does: ``vfork`` then ``exec``), reads its pipes as
they become readable (all of them watched through one ``epoll`` descriptor, so one task
waits once per wake-up) and learns of its exit from a pidfd (Linux 5.3+), both through
anyio's ``wait_readable``, so it behaves the same on asyncio and trio.

What the child gets is exactly what :func:`anyio.run_process` gives it: the argv, cwd and
environment passed, standard input from *input* (or ``/dev/null``), standard output and
error captured, descriptors closed (``close_fds``), signals restored. What the caller
sees is the same too: the exit status (negative for a signal), both outputs whole, an
``OSError`` when the program cannot be started, and on cancellation the child killed
(``SIGKILL``) and reaped before the cancellation goes on. One difference: a child that
exits without reading all of *input* ends the write quietly (as
:meth:`subprocess.Popen.communicate`), where anyio may raise.

Where a pidfd cannot be opened (not Linux, an old kernel, a seccomp filter) or there is
no ``epoll``, it is :func:`anyio.run_process` itself.
"""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import IO

import anyio
import anyio.lowlevel
import anyio.to_thread
import attrs

__all__ = ["Completed", "spawn"]

_CHUNK = 65536


@attrs.frozen
class Completed:
    """A finished child: its exit status and everything it wrote."""

    returncode: int
    stdout: bytes
    stderr: bytes


@cache
def _pidfd_works() -> bool:
    """Whether this kernel (and any seccomp filter) lets us open a pidfd; probed once."""
    opener = getattr(os, "pidfd_open", None)
    if opener is None or not hasattr(select, "epoll"):
        return False
    try:
        fd = opener(os.getpid())
    except OSError:
        return False
    os.close(fd)
    return True


async def spawn(
    argv: Sequence[str],
    *,
    cwd: str,
    env: Mapping[str, str],
    input: bytes | None = None,  # noqa: A002 - the name anyio.run_process uses
    started: Callable[[], None] | None = None,
) -> Completed:
    """
    Run *argv* in *cwd* with exactly *env*, collect it (see the module docstring).

    *started* is called once the child has started (before anything is awaited for it),
    or before :func:`anyio.run_process` on the fallback path.

    Raises:
        OSError: The program could not be started (as :func:`anyio.run_process`).
    """
    if not _pidfd_works():
        if started is not None:
            started()
        done = await anyio.run_process(
            list(argv),
            cwd=cwd,
            env=dict(env),
            check=False,
            **({"input": input} if input else {"stdin": subprocess.DEVNULL}),
        )
        return Completed(done.returncode, done.stdout or b"", done.stderr or b"")
    # Never started for a cancelled caller (as anyio.run_process). No yield to the event
    # loop here: guarded_run's decision has just yielded once, and a round trip through
    # the scheduler costs 10-20 us.
    await anyio.lowlevel.checkpoint_if_cancelled()
    # Started on this thread, as asyncio's subprocess_exec does: vfork+exec is brief.
    child = subprocess.Popen(  # noqa: S603, ASYNC220 - the checked plan, no shell string
        list(argv),
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.PIPE if input else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    if started is not None:
        started()
    try:
        exited = os.pidfd_open(child.pid)
    except OSError:
        exited = -1  # reaped already by someone else's waitpid(-1): only wait() can tell
    try:
        return await _collect(child, exited, input)
    finally:
        if exited >= 0:
            os.close(exited)


async def _collect(child: subprocess.Popen[bytes], exited: int, data: bytes | None) -> Completed:
    assert child.stdout is not None
    assert child.stderr is not None
    out = bytearray()
    err = bytearray()
    # Both pipes (and the input, if any) are watched through one epoll descriptor, itself
    # awaited with anyio's wait_readable: one task and one wait per wake-up, where a task
    # per pipe (a task group) cost 50-100 us per command. A child blocked writing one pipe
    # while we wait on the other can never happen: every ready pipe is served.
    poller = select.epoll(3)
    try:
        sinks: dict[int, bytearray] = {}
        for stream, into in ((child.stdout, out), (child.stderr, err)):
            fd = stream.fileno()
            os.set_blocking(fd, False)
            poller.register(fd, select.EPOLLIN)
            sinks[fd] = into
        feed = _Feed(child.stdin, data or b"", poller) if child.stdin is not None else None
        while sinks or (feed is not None and feed.open):
            ready = poller.poll(0)
            if not ready:
                await anyio.wait_readable(poller.fileno())
                continue
            for fd, _ in ready:
                into_found = sinks.get(fd)
                if into_found is None:
                    if feed is not None and fd == feed.fd:
                        feed.write()
                    continue
                try:
                    chunk = os.read(fd, _CHUNK)
                except BlockingIOError:
                    continue
                if chunk:
                    into_found += chunk
                else:  # EOF: the child (and every process it shared the pipe with) closed it
                    poller.unregister(fd)
                    del sinks[fd]
        if exited >= 0:
            # Both pipes at EOF: the child has usually exited already (no wait needed).
            returncode = child.poll()
            if returncode is None:
                await anyio.wait_readable(exited)
                returncode = child.wait()
        else:
            returncode = await anyio.to_thread.run_sync(child.wait)
    except BaseException:
        # Cancelled (or failed) while the child runs: never leave it running or unreaped.
        with anyio.CancelScope(shield=True):
            with contextlib.suppress(OSError):
                child.kill()
            if exited >= 0:
                await anyio.wait_readable(exited)
                child.wait()
            else:
                await anyio.to_thread.run_sync(child.wait)
        raise
    finally:
        poller.close()
        for pipe in (child.stdin, child.stdout, child.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
    return Completed(returncode, bytes(out), bytes(err))


class _Feed:
    """The child's standard input: *data* written as the pipe takes it, then closed."""

    def __init__(self, pipe: IO[bytes], data: bytes, poller: select.epoll) -> None:
        self.pipe = pipe
        self.fd = pipe.fileno()
        self.view = memoryview(data)
        self.poller = poller
        self.open = True
        os.set_blocking(self.fd, False)
        if self.view:
            poller.register(self.fd, select.EPOLLOUT)
        else:
            self.close(registered=False)

    def write(self) -> None:
        try:
            while self.view:
                self.view = self.view[os.write(self.fd, self.view) :]
        except BlockingIOError:
            return  # the pipe is full: epoll says when it takes more
        except (BrokenPipeError, ConnectionResetError):
            pass  # the child stopped reading: what it got is what it wanted
        self.close(registered=True)

    def close(self, *, registered: bool) -> None:
        if registered:
            self.poller.unregister(self.fd)
        self.open = False
        with contextlib.suppress(OSError):
            self.pipe.close()  # end of input; closed through its owner, so never twice
