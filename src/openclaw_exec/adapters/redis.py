"""
Approvals shared by many gateway replicas: an :class:`~openclaw_exec.abc.ApprovalStore` on Redis.

:class:`RedisApprovalStore` keeps every approval in Redis, so an approval registered on one
replica can be resolved through any other, and a waiter on any replica learns the decision.

* Each call is one Lua script (:mod:`._redis_lua`): it reads the state and applies the row of
  :data:`openclaw_exec.protocol.TRANSITIONS` atomically, so the first resolve wins across
  every replica and an ``allow-once`` is consumed exactly once.
* Pending approvals are hashes with a Redis expiry; expiry itself follows the store's clock:
  every call treats a pending approval at ``now >= expires_at_ms`` as expired, and each replica
  sweeps due deadlines so approvers hear about it.
* The script publishes each change (pub/sub) after writing it. Waiters listen, and re-read the
  state after every wake-up, after every reconnect, and at least every *poll_interval*, so a
  lost message costs latency, never a decision. A waiter never waits past the expiry.
* A call that cannot reach Redis within *retry_window* raises
  :class:`~openclaw_exec.exceptions.TransportError` (the guard then applies ``askFallback``).
  Calls carry a token, so a call retried after a lost reply answers what the first one did.
* Pending approvals belong to the *run* (an epoch lease every live replica keeps alive), not to
  the replica that registered them: a replica can die and its approvals stay resolvable. When
  every replica was gone for a whole lease, the next one starts a new run and the approvals
  left pending are cancelled (never decided).

Durability is what the Redis server gives (see ``docs/scaling.md``): with ``appendonly yes``
and ``appendfsync always`` a decision or consumption acknowledged to a caller survives a Redis
restart. Runs on **asyncio only**: the ``redis`` package's asyncio client needs an asyncio
event loop, so under trio :meth:`RedisApprovalStore.__aenter__` raises
:class:`~openclaw_exec.exceptions.LocalProtocolError`. Needs the ``[redis]`` extra.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import math
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Self

import anyio
import anyio.abc
import anyio.lowlevel
import sniffio
from cattrs.errors import BaseValidationError
from cattrs.preconf.json import make_converter

from openclaw_exec.abc import ApprovalStore
from openclaw_exec.adapters._redis_lua import SCRIPT
from openclaw_exec.adapters.memory import wall_clock_ms
from openclaw_exec.exceptions import LocalProtocolError, TransportError
from openclaw_exec.protocol import (
    RESOLVED_GRACE_MS,
    ApprovalCancelled,
    ApprovalEvent,
    ApprovalExpired,
    ApprovalOutcome,
    ApprovalRecord,
    ApprovalRequest,
    ApprovalRequested,
    ApprovalResolved,
    ApprovalResult,
    ApprovalState,
    ApproverPolicy,
    Decision,
    ExecBinding,
    IdentifiedApprovers,
    Principal,
    TerminalReason,
)

try:
    import redis.asyncio as aioredis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import RedisError, ResponseError
    from redis.exceptions import TimeoutError as RedisTimeoutError
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    msg = "openclaw_exec.adapters.redis needs the [redis] extra: pip install 'openclaw-exec[redis]'"
    raise ImportError(msg) from exc

if TYPE_CHECKING:
    from types import TracebackType

    from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
    from redis.asyncio.client import PubSub

__all__ = ["RedisApprovalStore"]

_ABSENT = ApprovalState.ABSENT
_RETRYABLE_REPLIES = ("READONLY", "LOADING", "BUSY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN")
_EVENT_KINDS: dict[str, type[ApprovalEvent]] = {
    "requested": ApprovalRequested,
    "resolved": ApprovalResolved,
    "expired": ApprovalExpired,
    "cancelled": ApprovalCancelled,
}


# ---------------------------------------------------------------- codec (the edge: cattrs)


def _thread_id(value: object, _: object) -> str | int | None:
    if value is None or (isinstance(value, str | int) and not isinstance(value, bool)):
        return value
    msg = f"expected a string, an integer or null, got {value!r}"
    raise TypeError(msg)


def _make_converter() -> Any:
    converter = make_converter()
    converter.register_structure_hook(str | int | None, _thread_id)
    converter.register_unstructure_hook(frozenset, sorted)
    return converter


_CONVERTER = _make_converter()


def _dumps(value: object) -> str:
    return json.dumps(
        _CONVERTER.unstructure(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


@functools.lru_cache(maxsize=4096)
def _request_from_json(text: str) -> ApprovalRequest:
    request: ApprovalRequest = _CONVERTER.structure(json.loads(text), ApprovalRequest)
    return request


@functools.lru_cache(maxsize=256)
def _principal_from_json(text: str) -> Principal:
    principal: Principal = _CONVERTER.structure(json.loads(text), Principal)
    return principal


def _record(row: Sequence[Any]) -> ApprovalRecord | None:
    """Build a record from ``[req, st, dec, by, set, rsn, rq]`` (``req`` None: no record)."""
    req, state, decision, by, settled, reason, requester = row
    if req is None:
        return None
    try:
        return ApprovalRecord(
            request=_request_from_json(req),
            state=ApprovalState(state),
            decision=None if decision is None else Decision(decision),
            resolved_by=by,
            settled_at_ms=None if settled is None else int(settled),
            reason=None if reason is None else TerminalReason(reason),
            requester=None if requester is None else _principal_from_json(requester),
        )
    except (ValueError, TypeError, KeyError, BaseValidationError) as exc:
        # Fail closed: a record we cannot read is never reported as a decision.
        msg = f"unreadable approval record in Redis: {exc}"
        raise TransportError(msg) from exc


def _result(reply: Sequence[Any]) -> ApprovalResult:
    outcome, message, reason, *row = reply
    return ApprovalResult(
        outcome=ApprovalOutcome(outcome),
        record=_record(row),
        message=message or "",
        reason=reason,
    )


def _check_id(approval_id: object) -> str:
    if not isinstance(approval_id, str) or not approval_id.strip():
        raise LocalProtocolError("id is required", details={"reason": "INVALID_ID"})
    return approval_id.strip()


def _fold(key: str) -> str:
    """The case-folded key for prefix lookup; ``""`` (no prefix search) if it cannot match."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in key):
        return ""
    return key.casefold()


def _event(payload: str) -> ApprovalEvent | None:
    r"""
    Decode a published ``kind\nid\n[req, st, dec, by, set, rsn, rq]``.

    Returns ``None`` for anything else (a message we cannot read is skipped, never guessed).
    """
    try:
        kind, _, row = payload.split("\n", 2)
        values = json.loads(row)
        cls = _EVENT_KINDS.get(kind)
        if cls is None or not isinstance(values, list) or len(values) != 7:
            return None
        record = _record([None if v is False else v for v in values])
    except (ValueError, TransportError):
        return None
    return None if record is None else cls(record)


def _check_prefix(prefix: object) -> None:
    if not isinstance(prefix, str) or not prefix or any(c in prefix for c in "{}\0"):
        msg = f"prefix must be a non-empty string without braces, got {prefix!r}"
        raise ValueError(msg)


def _check_seconds(name: str, value: object) -> None:
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not math.isfinite(value)
        or value <= 0
    ):
        msg = f"{name} must be a positive number of seconds, got {value!r}"
        raise ValueError(msg)


async def _close_pubsub(pubsub: PubSub) -> None:
    with anyio.CancelScope(shield=True):
        await pubsub.aclose()  # type: ignore[no-untyped-call]


# ---------------------------------------------------------------- the store


class _Waiter:
    __slots__ = ("event",)

    def __init__(self) -> None:
        self.event = anyio.Event()


class RedisApprovalStore(ApprovalStore):
    """
    The Redis approval store: one per replica, all replicas on the same Redis and *prefix*.

    Args:
        url: Redis URL (``redis://host:port/db``, ``rediss://`` for TLS, ``unix://`` ...).
        prefix: Namespace of every key (wrapped in a hash tag); replicas of one gateway share it.
        grace_ms: How long settled approvals stay readable (OpenClaw: 15 000); every replica
            must use the same value.
        approver_policy: Who may resolve (default: anyone identified, never anonymous).
        clock: Epoch-milliseconds clock (default :func:`~.memory.wall_clock_ms`). Replicas'
            clocks must agree (NTP); expiry is decided by the clock of the replica calling.
        subscriber_buffer: Events buffered per subscriber before new ones are dropped.
        retry_window: Seconds a call keeps retrying an unreachable Redis before raising
            :class:`~openclaw_exec.exceptions.TransportError`.
        poll_interval: Longest a waiter goes without re-reading the state (seconds), even if
            no message arrives; bounds the delay if a published message is lost.
        epoch_lease_ms: How long the run survives with no live replica (see module docs).
        socket_timeout: Seconds before a Redis command on a silent socket fails.
        max_connections: Connections this replica opens at most (each open
            :meth:`subscribe` holds one, the waiter listener one); further calls queue.

    Use ``async with RedisApprovalStore(url) as store:``; it connects, subscribes and starts
    its sweeper on entry. Runs on asyncio only.

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        prefix: str = "openclaw-exec",
        grace_ms: int = RESOLVED_GRACE_MS,
        approver_policy: ApproverPolicy | None = None,
        clock: Callable[[], int] = wall_clock_ms,
        subscriber_buffer: int = 1024,
        retry_window: float = 2.0,
        poll_interval: float = 1.0,
        epoch_lease_ms: int = 30_000,
        socket_timeout: float = 5.0,
        max_connections: int = 64,
    ) -> None:
        if type(grace_ms) is not int or grace_ms < 0:
            msg = f"grace_ms must be a non-negative integer, got {grace_ms!r}"
            raise ValueError(msg)
        _check_prefix(prefix)
        _check_seconds("retry_window", retry_window)
        _check_seconds("poll_interval", poll_interval)
        _check_seconds("socket_timeout", socket_timeout)
        if type(epoch_lease_ms) is not int or epoch_lease_ms < 1000:
            msg = f"epoch_lease_ms must be an integer >= 1000, got {epoch_lease_ms!r}"
            raise ValueError(msg)
        if type(max_connections) is not int or max_connections < 4:
            msg = f"max_connections must be an integer >= 4, got {max_connections!r}"
            raise ValueError(msg)
        if type(subscriber_buffer) is not int or subscriber_buffer < 0:
            msg = f"subscriber_buffer must be a non-negative integer, got {subscriber_buffer!r}"
            raise ValueError(msg)
        self._url = url
        self._tag = "{" + prefix + "}:"
        self._keys = [self._tag + k for k in ("pending", "fold", "deadlines", "epoch", "seq")]
        self._events_channel = self._tag + "events"
        self._routes_channel = self._tag + "approvers"
        self._grace_ms = grace_ms
        self._policy: ApproverPolicy = approver_policy or IdentifiedApprovers()
        self._clock = clock
        self._buffer = subscriber_buffer
        self._retry_window = float(retry_window)
        self._poll = float(poll_interval)
        self._lease_ms = epoch_lease_ms
        self._socket_timeout = float(socket_timeout)
        self._max_connections = max_connections
        self._replica = uuid.uuid4().hex
        self._tokens = itertools.count()
        self._client: aioredis.Redis | None = None
        self._script: Any = None
        self._tg: anyio.abc.TaskGroup | None = None
        self._waiters: dict[str, set[_Waiter]] = {}
        self._scopes: list[anyio.CancelScope] = []
        self._listening = anyio.Event()
        self._opened = False
        self._closed = False

    # ------------------------------------------------------------------ plumbing

    @property
    def grace_ms(self) -> int:
        """How long settled approvals stay readable."""
        return self._grace_ms

    @property
    def replica_id(self) -> str:
        """This store's random id (its Redis connections are named ``openclaw-exec:<id>``)."""
        return self._replica

    def _token(self) -> str:
        """A string no other call of any replica ever uses (call tokens, epoch candidates)."""
        return f"{self._replica}:{next(self._tokens)}"

    def now_ms(self) -> int:
        """The store's clock (epoch milliseconds)."""
        return self._clock()

    def _new_client(self) -> aioredis.Redis:
        # A blocking pool queues callers when every connection is busy (the default pool
        # raises "Too many connections" instead, which would look like an outage).
        pool = aioredis.BlockingConnectionPool.from_url(
            self._url,
            max_connections=self._max_connections,
            timeout=self._retry_window,
            decode_responses=True,
            retry=Retry(NoBackoff(), 0),  # retries are ours: bounded, and calls are idempotent
            socket_timeout=self._socket_timeout,
            socket_connect_timeout=self._socket_timeout,
            client_name=f"openclaw-exec:{self._replica}",
        )
        return aioredis.Redis.from_pool(pool)  # the client owns the pool: aclose closes it

    async def __aenter__(self) -> Self:
        """Connect, load the script, start listening and sweeping."""
        if self._opened:
            raise LocalProtocolError("a RedisApprovalStore can be entered only once")
        try:
            library = sniffio.current_async_library()
        except sniffio.AsyncLibraryNotFoundError:  # pragma: no cover - no loop at all
            library = "none"
        if library != "asyncio":
            msg = (
                "RedisApprovalStore runs on asyncio only (the redis package's asyncio client "
                f"needs an asyncio event loop), not on {library}"
            )
            raise LocalProtocolError(msg, details={"reason": "UNSUPPORTED_EVENT_LOOP"})
        self._opened = True
        self._listening = anyio.Event()  # created on the loop that runs the store
        self._client = self._new_client()
        self._script = self._client.register_script(SCRIPT)
        tg = anyio.create_task_group()
        await tg.__aenter__()
        self._tg = tg
        try:
            await self._call("sweep", 100)  # reaches Redis (or raises TransportError)
            await self._start_listening()
            self._spawn(self._sweep)
        except BaseException:
            await self._shutdown()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close (see :meth:`aclose`) and wait for the background tasks to end."""
        await self._shutdown()

    def _spawn(
        self,
        fn: Callable[..., Awaitable[None]],
        *args: object,
        scope: anyio.CancelScope | None = None,
    ) -> None:
        """Start a background task in its own cancel scope (the host task is never in it)."""
        assert self._tg is not None
        scope = anyio.CancelScope() if scope is None else scope
        self._scopes.append(scope)

        async def run() -> None:
            with scope:
                await fn(*args)

        self._tg.start_soon(run)

    def _check_open(self) -> None:
        if self._closed:
            raise LocalProtocolError("the approval store is closed")
        if self._client is None:
            raise LocalProtocolError("the approval store is not open: use `async with store:`")

    async def _call(self, op: str, *args: str | int) -> Any:
        """Run one op of the script, retrying an unreachable Redis for *retry_window*."""
        self._check_open()
        give_up = anyio.current_time() + self._retry_window
        delay = 0.02
        while True:
            argv = [self._clock(), self._grace_ms, self._tag, self._token()]
            argv += [self._lease_ms, op, *args]
            try:
                return await self._script(keys=self._keys, args=argv)
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                failure: Exception = exc
            except ResponseError as exc:
                if not str(exc).startswith(_RETRYABLE_REPLIES):
                    msg = f"Redis refused the approval script: {exc}"
                    raise TransportError(msg) from exc
                failure = exc
            except RedisError as exc:
                msg = f"Redis failed: {exc}"
                raise TransportError(msg) from exc
            if self._closed or anyio.current_time() + delay > give_up:
                msg = f"Redis unreachable for {self._retry_window:g} s: {failure}"
                raise TransportError(msg) from failure
            await anyio.sleep(delay)
            delay = min(delay * 2, 0.25)

    # ------------------------------------------------------------------ background tasks

    async def _open_pubsub(self, *channels: str) -> PubSub:
        """A pub/sub connection subscribed to *channels*, confirmed by the server."""
        assert self._client is not None
        pubsub = self._client.pubsub()
        try:
            await pubsub.subscribe(*channels)
            confirmed = 0
            with anyio.fail_after(self._socket_timeout):
                while confirmed < len(channels):
                    message = await pubsub.get_message(timeout=self._socket_timeout)
                    if message is not None and message["type"] == "subscribe":
                        confirmed += 1
        except BaseException:
            await _close_pubsub(pubsub)
            raise
        return pubsub

    def _wake(self, approval_id: str | None = None) -> None:
        if approval_id is None:
            for waiters in self._waiters.values():
                for waiter in waiters:
                    waiter.event.set()
            return
        for waiter in self._waiters.get(approval_id, ()):
            waiter.event.set()

    async def _start_listening(self) -> None:
        self._spawn(self._listen)
        with anyio.move_on_after(self._retry_window + self._socket_timeout):
            await self._listening.wait()
        if not self._listening.is_set():
            msg = "Redis refused the pub/sub subscription of the waiter listener"
            raise TransportError(msg)

    async def _listen(self) -> None:
        """Wake local waiters on every published change; after a reconnect, wake them all."""
        delay = 0.02
        while not self._closed:
            try:
                pubsub = await self._open_pubsub(self._events_channel)
            except (RedisError, OSError, TimeoutError):
                await anyio.sleep(delay)
                delay = min(delay * 2, 0.5)
                continue
            delay = 0.02
            self._listening.set()
            self._wake()  # anything may have happened while we were not subscribed
            try:
                while True:
                    message = await pubsub.get_message(timeout=self._poll)
                    if message is None or message["type"] != "message":
                        continue
                    kind, _, rest = message["data"].partition("\n")
                    approval_id = rest.partition("\n")[0]
                    if kind != "requested":  # only a settlement ends a wait
                        self._wake(approval_id)
            except (RedisError, OSError):
                continue
            finally:
                await _close_pubsub(pubsub)

    async def _sweep(self) -> None:
        """Expire due approvals (announcing them) and keep the run's epoch lease alive."""
        beat = min(self._lease_ms / 3000, 1.0)
        while not self._closed:
            delay = beat
            try:
                _, next_deadline = await self._call("sweep", 100)
                if next_deadline is not None:
                    due_in = (int(float(next_deadline)) - self._clock()) / 1000
                    delay = min(delay, max(due_in, 0.005))
            except TransportError:
                pass  # Redis is away: waiters and callers see TransportError themselves
            await anyio.sleep(delay)

    # ------------------------------------------------------------------ ApprovalStore

    async def register(
        self,
        request: ApprovalRequest,
        *,
        requester: Principal | None = None,
        has_route: bool | None = None,
    ) -> ApprovalResult:
        """
        See :meth:`ApprovalStore.register`.

        With ``has_route=None`` a route is an open :meth:`subscribe` context on *any* replica.
        """
        if not isinstance(request, ApprovalRequest):
            raise LocalProtocolError("register() needs an ApprovalRequest")
        route = "" if has_route is None else ("1" if has_route else "0")
        reply = await self._call(
            "register",
            request.id,
            _dumps(request),
            request.expires_at_ms,
            request.id.casefold(),
            "" if requester is None else _dumps(requester),
            route,
            self._token(),
            _dumps(request.binding),
        )
        return _result(reply)

    async def resolve(
        self, approval_id: str, decision: Decision | str, *, approver: Principal | None
    ) -> ApprovalResult:
        """
        See :meth:`ApprovalStore.resolve`.

        Two steps: find the approval (exact id, else a unique pending prefix) and check the
        approver policy on it, then a compare-and-set from pending to the decision. A policy
        refusal changes nothing.

        Raises:
            LocalProtocolError: For an empty id or a decision outside the three values.
        """
        parsed = decision if isinstance(decision, Decision) else Decision.parse(decision)
        key = _check_id(approval_id)
        found = _result(await self._call("find", key, _fold(key)))
        if found.outcome is ApprovalOutcome.NOT_FOUND or found.record is None:
            return found
        refusal = self._policy(approver, found.record)
        if refusal is not None:
            return ApprovalResult(
                outcome=ApprovalOutcome.APPROVER_REFUSED,
                record=found.record,
                message=refusal,
                reason="APPROVER_NOT_ALLOWED",
            )
        label = "" if approver is None else approver.label
        reply = await self._call(
            "resolve",
            found.record.id,
            parsed.value,
            label,
            self._token(),
            "0" if approver is None else "1",
        )
        return _result(reply)

    async def get(self, approval_id: str) -> ApprovalRecord | None:
        """See :meth:`ApprovalStore.get`."""
        key: object = approval_id
        if not isinstance(key, str) or not key:
            return None
        return _result(await self._call("get", key)).record

    async def wait_decision(
        self,
        approval_id: str,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 (part of the ApprovalStore contract)
    ) -> ApprovalRecord | None:
        """
        See :meth:`ApprovalStore.wait_decision`.

        Re-reads the state at every wake-up (a published change, a listener reconnect, the
        approval's expiry, or *poll_interval* at most). Closing the store returns ``None``.

        Raises:
            TransportError: Redis stayed unreachable for *retry_window* while waiting.
        """
        key = _check_id(approval_id)
        self._check_open()
        give_up = None if timeout is None else anyio.current_time() + max(timeout, 0.0)
        waiter = _Waiter()
        self._waiters.setdefault(key, set()).add(waiter)
        try:
            while True:
                waiter.event = anyio.Event()  # before the read: no wake-up can slip between
                record = await self.get(key)
                if record is None or record.state is not ApprovalState.PENDING:
                    return record
                now = anyio.current_time()
                if give_up is not None and now >= give_up:
                    return record
                delay = max((record.request.expires_at_ms - self._clock()) / 1000, 0.001)
                delay = min(delay, self._poll)
                if give_up is not None:
                    delay = min(delay, give_up - now)
                with anyio.move_on_after(delay):
                    await waiter.event.wait()
                if self._closed:
                    return None
        finally:
            waiters = self._waiters.get(key)
            if waiters is not None:
                waiters.discard(waiter)
                if not waiters:
                    del self._waiters[key]

    async def consume(self, approval_id: str, binding: ExecBinding | None) -> ApprovalResult:
        """See :meth:`ApprovalStore.consume`; consumption is persisted with the decision."""
        key = _check_id(approval_id)
        return _result(await self._call("consume", key, _dumps(binding), self._token()))

    async def cancel(self, approval_id: str) -> ApprovalResult:
        """See :meth:`ApprovalStore.cancel`."""
        key = _check_id(approval_id)
        return _result(await self._call("cancel", key, self._token()))

    async def list_pending(self) -> Sequence[ApprovalRecord]:
        """See :meth:`ApprovalStore.list_pending`: every replica's pending approvals."""
        rows = await self._call("pending")
        return [r for r in (_result(row).record for row in rows) if r is not None]

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[MemoryObjectReceiveStream[ApprovalEvent]]:
        """
        See :meth:`ApprovalStore.subscribe`: events from every replica.

        The subscription has its own Redis connection, subscribed (and confirmed) before the
        context is entered; it counts as an approver route for every replica while it is
        connected. If the connection drops it reconnects; events in between are lost (catch
        up with :meth:`list_pending`).
        """
        self._check_open()
        send, receive = anyio.create_memory_object_stream[ApprovalEvent](self._buffer)
        pubsub = await self._open_pubsub_retrying()
        scope = anyio.CancelScope()
        done = anyio.Event()
        self._spawn(self._pump, pubsub, send, done, scope=scope)
        try:
            async with receive:
                yield receive
        finally:
            scope.cancel()
            with anyio.CancelScope(shield=True):
                await done.wait()  # the route is gone when the context is left
            self._scopes.remove(scope)

    async def _open_pubsub_retrying(self) -> PubSub:
        give_up = anyio.current_time() + self._retry_window
        delay = 0.02
        while True:
            try:
                return await self._open_pubsub(self._events_channel, self._routes_channel)
            except (RedisError, OSError, TimeoutError) as exc:
                if anyio.current_time() + delay > give_up:
                    msg = f"Redis unreachable for {self._retry_window:g} s: {exc}"
                    raise TransportError(msg) from exc
            await anyio.sleep(delay)
            delay = min(delay * 2, 0.25)

    async def _pump(
        self,
        pubsub: PubSub,
        send: MemoryObjectSendStream[ApprovalEvent],
        done: anyio.Event,
    ) -> None:
        try:
            await self._pump_until_cancelled(pubsub, send)
        finally:
            done.set()

    async def _pump_until_cancelled(
        self, pubsub: PubSub, send: MemoryObjectSendStream[ApprovalEvent]
    ) -> None:
        with send:
            while True:
                try:
                    while True:
                        message = await pubsub.get_message(timeout=self._poll)
                        if message is None or message["type"] != "message":
                            continue
                        event = _event(message["data"])
                        if event is None:
                            continue
                        try:
                            send.send_nowait(event)
                        except anyio.WouldBlock:
                            pass  # drop-if-slow, as OpenClaw; catch up with list_pending
                        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                            return
                except (RedisError, OSError):
                    pass
                finally:
                    await _close_pubsub(pubsub)
                pubsub = await self._reconnect_forever()

    async def _reconnect_forever(self) -> PubSub:
        delay = 0.02
        while True:
            try:
                return await self._open_pubsub(self._events_channel, self._routes_channel)
            except (RedisError, OSError, TimeoutError):
                await anyio.sleep(delay)
                delay = min(delay * 2, 0.5)

    async def aclose(self) -> None:
        """
        Close: parked waiters return ``None``, subscriptions end, later calls raise.

        The background tasks are cancelled here; the connections close when the
        ``async with`` block is left (the task group belongs to the task that entered it).
        """
        if self._closed:
            return
        self._closed = True
        self._wake()
        for scope in self._scopes:
            scope.cancel()
        await anyio.lowlevel.checkpoint()

    async def _shutdown(self) -> None:
        await self.aclose()
        tg, self._tg = self._tg, None
        if tg is not None:
            await tg.__aexit__(None, None, None)  # its tasks are cancelled: this is quick
        client, self._client = self._client, None
        if client is not None:
            with anyio.CancelScope(shield=True):
                await client.aclose()
