"""
Start and stop real ``redis-server`` processes (used by the Redis tests and their conftest).

Servers listen on 127.0.0.1 on a free port, work in a given directory, and are killed with
SIGKILL (what a crash looks like).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REDIS_SERVER = shutil.which("redis-server")


def skip_or_fail_without_redis() -> None:
    """Skip (locally) or fail (``CI=true``) when ``redis-server`` is not installed."""
    if REDIS_SERVER is not None:
        return
    reason = "redis-server is not installed (apt-get install -y redis-server)"
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


@contextmanager
def running_redis(directory: Path, *, appendonly: bool = False) -> Iterator[RedisServer]:
    """
    A started :class:`RedisServer` in *directory*, SIGKILLed at the end.

    Skips (or fails under ``CI=true``) when ``redis-server`` is not installed.
    """
    skip_or_fail_without_redis()
    server = RedisServer(directory, appendonly=appendonly)
    server.start()
    try:
        yield server
    finally:
        server.kill()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """
    One ``redis-server`` process on 127.0.0.1; can be killed and started again on its port.

    Args:
        directory: Working directory (RDB/AOF files live here).
        appendonly: Persist every write with ``appendfsync always`` (survives a kill -9).
    """

    def __init__(self, directory: Path, *, appendonly: bool = False) -> None:
        self.directory = directory
        self.appendonly = appendonly
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The ``redis://`` URL of this server."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start the server and wait until it answers PING (at most 10 s)."""
        assert REDIS_SERVER is not None
        args = [
            REDIS_SERVER,
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--dir",
            str(self.directory),
            "--save",
            "",
            "--protected-mode",
            "yes",
            "--maxmemory-policy",
            "noeviction",
            "--appendonly",
            "yes" if self.appendonly else "no",
            "--appendfsync",
            "always",
            "--loglevel",
            "warning",
        ]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                msg = f"redis-server exited with {self.process.returncode}"
                raise RuntimeError(msg)
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.02)
        self.kill()
        msg = "redis-server did not answer PING within 10 s"
        raise RuntimeError(msg)

    def kill(self) -> None:
        """SIGKILL the server (what a crash looks like) and reap it."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None
