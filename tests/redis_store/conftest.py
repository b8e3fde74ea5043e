"""
Real ``redis-server`` processes for the Redis approval-store tests.

The tests start their own servers from the ``redis-server`` binary (Debian package
``redis-server``) on 127.0.0.1, a free port and a temporary directory, and kill them at the
end. Without the binary the tests are skipped with a reason; with ``CI=true`` they fail
instead, because CI must install it (``apt-get install -y redis-server``).

The store speaks RESP itself on anyio streams, so these tests run on asyncio and trio (the
suite's ``anyio_backend``); the few that start replica processes or wait out leases run on
asyncio only to keep the suite fast.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from redis_store._redis_server import RedisServer, running_redis


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One server for the whole session (tests isolate themselves with key prefixes)."""
    with (
        tempfile.TemporaryDirectory(prefix="openclaw-exec-redis-") as directory,
        running_redis(Path(directory)) as server,
    ):
        yield server


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A server of the test's own (persistence on), for tests that kill and restart it."""
    with (
        tempfile.TemporaryDirectory(prefix="openclaw-exec-redis-") as directory,
        running_redis(Path(directory), appendonly=True) as server,
    ):
        yield server


@pytest.fixture
def prefix() -> str:
    """A fresh key namespace: an empty store for this test."""
    return f"test-{uuid.uuid4().hex[:12]}"
