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
    # loop here: the wait for the child below is one, and a round trip through the
    # scheduler costs 10-20 us.
    await anyio.lowlevel.checkpoint_if_cancelled()
    # The pipes are made here, as bare descriptors: Popen would wrap each end it keeps in
    # a buffered file object (three system calls and two objects per pipe) only for us to
    # read the descriptor underneath. The ends the child gets are closed here once it has
    # them; ours are close-on-exec (os.pipe), so no other child inherits them.
    ours: list[int] = []
    theirs: list[int] = []
    try:
        out_r, out_w = _pipe(ours, theirs, keep=0)
        err_r, err_w = _pipe(ours, theirs, keep=0)
        in_r, in_w = _pipe(ours, theirs, keep=1) if input else (subprocess.DEVNULL, -1)
        # Started on this thread, as asyncio's subprocess_exec does: vfork+exec is brief.
        child = subprocess.Popen(  # noqa: S603, ASYNC220 - the checked plan, no shell string
            list(argv), cwd=cwd, env=dict(env), stdin=in_r, stdout=out_w, stderr=err_w
        )
    except BaseException:
        for fd in ours:
            os.close(fd)
        raise
    finally:
        for fd in theirs:
            os.close(fd)
    if started is not None:
        started()
    try:
        exited = os.pidfd_open(child.pid)
    except OSError:
        exited = -1  # reaped already by someone else's waitpid(-1): only wait() can tell
    try:
        return await _collect(child, exited, out_r, err_r, in_w, input or b"", ours)
    finally:
        for fd in ours:
            with contextlib.suppress(OSError):
                os.close(fd)
        if exited >= 0:
            os.close(exited)


def _pipe(ours: list[int], theirs: list[int], *, keep: int) -> tuple[int, int]:
    """A pipe whose end *keep* (0: read, 1: write) is ours, non-blocking; both recorded."""
    read_end, write_end = os.pipe()
    mine, child_end = (read_end, write_end) if keep == 0 else (write_end, read_end)
    ours.append(mine)
    theirs.append(child_end)
    os.set_blocking(mine, False)
    return read_end, write_end


async def _collect(  # noqa: PLR0917 - the child, its pidfd and our three ends
    child: subprocess.Popen[bytes],
    exited: int,
    out_fd: int,
    err_fd: int,
    in_fd: int,
    data: bytes,
    ours: list[int],
) -> Completed:
    out = bytearray()
    err = bytearray()
    # Both pipes (and the input, if any) are watched through one epoll descriptor, itself
    # awaited with anyio's wait_readable: one task and one wait per wake-up, where a task
    # per pipe (a task group) cost 50-100 us per command. A child blocked writing one pipe
    # while we wait on the other can never happen: every ready pipe is served.
    poller: select.epoll | None = None
    try:
        poller = select.epoll(3)  # in the try: if even this fails, the child is reaped
        sinks: dict[int, bytearray] = {out_fd: out, err_fd: err}
        for fd in sinks:
            poller.register(fd, select.EPOLLIN)
        feed = _Feed(in_fd, data, poller, ours) if in_fd >= 0 else None
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
        if poller is not None:
            poller.close()
    return Completed(returncode, bytes(out), bytes(err))


class _Feed:
    """The child's standard input: *data* written as the pipe takes it, then closed."""

    def __init__(self, fd: int, data: bytes, poller: select.epoll, ours: list[int]) -> None:
        self.fd = fd
        self.view = memoryview(data)
        self.poller = poller
        self.ours = ours  # spawn closes what is left in it: never this end twice
        self.open = True
        poller.register(fd, select.EPOLLOUT)

    def write(self) -> None:
        try:
            while self.view:
                self.view = self.view[os.write(self.fd, self.view) :]
        except BlockingIOError:
            return  # the pipe is full: epoll says when it takes more
        except (BrokenPipeError, ConnectionResetError):
            pass  # the child stopped reading: what it got is what it wanted
        # End of input: closing our end is the child's EOF (spawn's cleanup then skips it).
        self.poller.unregister(self.fd)
        self.open = False
        self.ours.remove(self.fd)
        os.close(self.fd)
