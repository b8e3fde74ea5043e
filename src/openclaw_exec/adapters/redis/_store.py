"""The Redis approval store itself (see the package docs for the design)."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Self

import anyio
import anyio.abc
import anyio.lowlevel

from openclaw_exec.abc import ApprovalStore
from openclaw_exec.adapters.memory import wall_clock_ms
from openclaw_exec.adapters.redis._codec import (
    check_audience,
    check_id,
    check_prefix,
    check_seconds,
    dump_request,
    dumps,
    fold,
    result,
)
from openclaw_exec.adapters.redis._link import Link
from openclaw_exec.adapters.redis._listener import Listener, Subscriber, Waiter
from openclaw_exec.adapters.redis._lua import SCRIPT
from openclaw_exec.adapters.redis._resp import (
    RedisConnection,
    ReplyError,
    encode_command,
    parse_url,
)
from openclaw_exec.exceptions import LocalProtocolError, TransportError
from openclaw_exec.protocol import (
    RESOLVED_GRACE_MS,
    ApprovalEvent,
    ApprovalOutcome,
    ApprovalRecord,
    ApprovalRequest,
    ApprovalResult,
    ApprovalState,
    ApproverPolicy,
    Decision,
    ExecBinding,
    IdentifiedApprovers,
    Principal,
    check_grant_days,
)

if TYPE_CHECKING:
    from types import TracebackType

    from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

__all__ = ["RedisApprovalStore"]

_SHA = hashlib.sha1(SCRIPT.encode(), usedforsecurity=False).hexdigest()
_PENDING = ApprovalState.PENDING


class RedisApprovalStore(ApprovalStore):
    """
    The Redis approval store: one per replica, all replicas on the same Redis and *prefix*.

    Args:
        url: Redis URL (``redis://[[user]:password@]host:port/db``, ``rediss://`` for TLS,
            ``unix:///path/to/socket``).
        prefix: Namespace of every key (wrapped in a hash tag); replicas of one gateway share it.
        grace_ms: How long settled approvals stay readable (OpenClaw: 15 000); every replica
            must use the same value.
        approver_policy: Who may resolve (default: anyone identified, never anonymous).
        clock: Epoch-milliseconds clock (default :func:`~.memory.wall_clock_ms`). Replicas'
            clocks must agree (NTP); expiry is decided by the clock of the replica calling.
        subscriber_buffer: Messages queued per approver channel that does not keep up; past
            it the channel catches up from the store instead (nothing is lost).
        retry_window: Seconds a call keeps retrying an unreachable Redis before raising
            :class:`~openclaw_exec.exceptions.TransportError`.
        poll_interval: Longest a waiter goes without re-reading the state (seconds), even if
            no message arrives; bounds the delay if a published message is lost.
        epoch_lease_ms: How long the run survives with no live replica (see module docs).
        socket_timeout: Seconds before a Redis command on a silent socket fails.
        max_connections: Accepted for compatibility and checked (>= 4), otherwise unused: the
            store opens exactly two connections, one pipelined for every command and one
            subscription shared by every waiter and approver channel.
        audience: ``request -> str | None``, the same on every replica: a request's
            *audience* (for example its ``host``, or the chat it came from). ``subscribe
            (audience=A)`` then hears only the requests of audience ``A`` (and their
            settlements), so approvers spread over many replicas do not each receive every
            request. ``subscribe()`` still hears every request. Default: no audiences.

    Use ``async with RedisApprovalStore(url) as store:``; it connects, subscribes and starts
    its sweeper on entry. Runs on asyncio and trio.

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
        audience: Callable[[ApprovalRequest], str | None] | None = None,
    ) -> None:
        if type(grace_ms) is not int or grace_ms < 0:
            msg = f"grace_ms must be a non-negative integer, got {grace_ms!r}"
            raise ValueError(msg)
        check_prefix(prefix)
        check_seconds("retry_window", retry_window)
        check_seconds("poll_interval", poll_interval)
        check_seconds("socket_timeout", socket_timeout)
        if type(epoch_lease_ms) is not int or epoch_lease_ms < 1000:
            msg = f"epoch_lease_ms must be an integer >= 1000, got {epoch_lease_ms!r}"
            raise ValueError(msg)
        if type(max_connections) is not int or max_connections < 4:
            msg = f"max_connections must be an integer >= 4, got {max_connections!r}"
            raise ValueError(msg)
        if type(subscriber_buffer) is not int or subscriber_buffer < 0:
            msg = f"subscriber_buffer must be a non-negative integer, got {subscriber_buffer!r}"
            raise ValueError(msg)
        self._tag = "{" + prefix + "}:"
        keys = ("pending", "fold", "deadlines", "epoch", "seq", "evseq")
        self._keys = tuple(self._tag + k for k in keys)
        # EVALSHA sha 6 key... is the same for every call: encoded once (9 arguments).
        self._evalsha_head = encode_command(("EVALSHA", _SHA, 6, *self._keys))
        self._evalsha_head = self._evalsha_head[self._evalsha_head.index(b"\r\n") + 2 :]
        self._grace_ms = grace_ms
        self._policy: ApproverPolicy = approver_policy or IdentifiedApprovers()
        self._clock = clock
        self._buffer = subscriber_buffer
        self._retry_window = float(retry_window)
        self._poll = float(poll_interval)
        self._lease_ms = epoch_lease_ms
        self._socket_timeout = float(socket_timeout)
        self._replica = uuid.uuid4().hex
        self._tokens = itertools.count()
        self._audience = audience
        self._listener = Listener(
            self._tag + "rep:" + self._replica, self._tag + "events", self._tag + "aud:"
        )
        self._link = Link(
            parse_url(url),
            name=f"openclaw-exec:{self._replica}",
            retry_window=self._retry_window,
            socket_timeout=self._socket_timeout,
            poll_interval=self._poll,
            listener=self._listener,
            spawn=self._spawn,
            is_closed=lambda: self._closed,
        )
        self._tg: anyio.abc.TaskGroup | None = None
        self._scopes: set[anyio.CancelScope] = set()
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

    @property
    def stats(self) -> dict[str, int]:
        """
        Counters for tests and benchmarks.

        ``connections``: subscriptions confirmed (1 + reconnects); ``catch_ups``: approver
        channels that re-read the store after missing messages.
        """
        return {
            "connections": self._listener.reconnects,
            "catch_ups": self._listener.catch_ups,
        }

    def _token(self) -> str:
        """A string no other call of any replica ever uses (call tokens, epoch candidates)."""
        return f"{self._replica}:{next(self._tokens)}"

    def now_ms(self) -> int:
        """The store's clock (epoch milliseconds)."""
        return self._clock()

    async def __aenter__(self) -> Self:
        """Connect, start listening and sweeping."""
        if self._opened:
            raise LocalProtocolError("a RedisApprovalStore can be entered only once")
        self._opened = True
        tg = anyio.create_task_group()
        await tg.__aenter__()
        self._tg = tg
        try:
            await self._call("sweep", 100)  # reaches Redis (or raises TransportError)
            await self._link.start_listening()
            self._spawn(self._sweep)
            self._spawn(self._link.watch)
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
        self._scopes.add(scope)

        async def run() -> None:
            try:
                with scope:
                    await fn(*args)
            finally:
                self._scopes.discard(scope)

        self._tg.start_soon(run)

    def _check_open(self) -> None:
        if self._closed:
            raise LocalProtocolError("the approval store is closed")
        if self._tg is None:
            raise LocalProtocolError("the approval store is not open: use `async with store:`")

    async def _call(self, op: str, *args: str | int) -> Any:
        """Run one op of the script (EVALSHA), retrying an unreachable Redis for *retry_window*."""
        self._check_open()
        keys = self._keys

        async def attempt(conn: RedisConnection, _: bool) -> Any:
            argv = (self._clock(), self._grace_ms, self._tag, self._token(), self._lease_ms, op)
            command = encode_command((*argv, *args), self._evalsha_head, 9)
            reply = await conn.call_encoded(command)
            if isinstance(reply, ReplyError) and reply.message.startswith("NOSCRIPT"):
                # A restarted (or flushed) Redis forgot the script: EVAL caches it again.
                reply = await conn.call("EVAL", SCRIPT, 6, *keys, *argv, *args)
            return reply

        return await self._link.run("the approval script", attempt)

    # ------------------------------------------------------------------ background tasks

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
        audience = None if self._audience is None else self._audience(request)
        if audience is not None:
            check_audience(audience)
        self._check_open()
        # Expected before the call: the settlement may arrive before the register reply.
        expected = self._listener.expect(request.id)
        reply = await self._call(
            "register",
            request.id,
            dump_request(request),
            request.expires_at_ms,
            request.id.casefold(),
            "" if requester is None else dumps(requester),
            route,
            self._token(),
            dumps(request.binding),
            self._replica,
            audience or "",
        )
        registered = result(reply)
        if registered.outcome is ApprovalOutcome.REGISTERED:
            expected.record = registered.record
        return registered

    async def resolve(
        self,
        approval_id: str,
        decision: Decision | str,
        *,
        approver: Principal | None,
        grant_expires_in_days: int | None = None,
    ) -> ApprovalResult:
        """
        See :meth:`ApprovalStore.resolve`.

        One step when this replica has seen the approval's ``requested`` message for the exact
        id (the usual case: the approver answers a prompt): the approver policy is checked on
        that record, and the script resolves only if the approval is still that registration.
        Otherwise two steps: find it (exact id, else a unique pending prefix) and check the
        policy on it, then a compare-and-set from pending to the decision. A policy refusal
        changes nothing.

        Raises:
            LocalProtocolError: For an empty id, a decision outside the three values or a
                bad *grant_expires_in_days* (reason ``INVALID_PARAMS``).
        """
        parsed = decision if isinstance(decision, Decision) else Decision.parse(decision)
        checked = check_grant_days(grant_expires_in_days)
        days = "" if checked is None else str(checked)
        key = check_id(approval_id)
        label = "" if approver is None else approver.label
        identified = "0" if approver is None else "1"
        seen = self._listener.seen.get(key)
        event = None if seen is None else seen.event()
        if seen is not None and event is not None and self._policy(approver, event.record) is None:
            reply = await self._call(
                "resolve", key, parsed.value, label, self._token(), identified, seen.seq, days
            )
            if reply[0] != "stale":
                return result(reply)
        found = result(await self._call("find", key, fold(key)))
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
        reply = await self._call(
            "resolve", found.record.id, parsed.value, label, self._token(), identified, "", days
        )
        return result(reply)

    async def get(self, approval_id: str) -> ApprovalRecord | None:
        """See :meth:`ApprovalStore.get`."""
        key: object = approval_id
        if not isinstance(key, str) or not key:
            return None
        return result(await self._call("get", key)).record

    async def wait_decision(
        self,
        approval_id: str,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 (part of the ApprovalStore contract)
    ) -> ApprovalRecord | None:
        """
        See :meth:`ApprovalStore.wait_decision`.

        Reads the state, then parks until the listener hands over the settling message of the
        id (the record is in it: no second read). It re-reads the state after any other
        wake-up: a listener reconnect, the approval's expiry, or *poll_interval* at most.
        Closing the store returns ``None``.

        The settlement is published on the channel of the replica that registered the
        approval; a waiter on another replica adds its replica to the approval's watchers
        with its read. The waiter of an approval this replica has just registered skips the
        first read: the register reply is the state, and any settlement since is on this
        replica's channel (unless the subscription reconnected meanwhile: then it reads).

        Raises:
            TransportError: Redis stayed unreachable for *retry_window* while waiting.
        """
        key = check_id(approval_id)
        self._check_open()
        give_up = None if timeout is None else anyio.current_time() + max(timeout, 0.0)
        waiter = Waiter()
        waiters = self._listener.waiters
        waiters.setdefault(key, set()).add(waiter)
        try:
            # Both after the waiter is registered: no wake-up slips by.
            record = self._listener.take_expected(key)
            if record is None:
                record = await self._watch(key)
            while True:
                if record is None or record.state is not _PENDING:
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
                message, waiter.message = waiter.message, None
                waiter.event = anyio.Event()  # before the read: no wake-up can slip between
                if message is not None:
                    event = message.event()
                    if event is not None and event.record.state is not _PENDING:
                        return event.record
                record = await self._watch(key)
        finally:
            mine = waiters.get(key)
            if mine is not None:
                mine.discard(waiter)
                if not mine:
                    del waiters[key]

    async def _watch(self, key: str) -> ApprovalRecord | None:
        """Read the approval, and have its settlement published to this replica too."""
        return result(await self._call("watch", key, self._replica)).record

    async def consume(self, approval_id: str, binding: ExecBinding | None) -> ApprovalResult:
        """See :meth:`ApprovalStore.consume`; consumption is persisted with the decision."""
        key = check_id(approval_id)
        return result(await self._call("consume", key, dumps(binding), self._token()))

    async def claim(self, approval_id: str, *, keep_until_ms: int) -> bool:
        """
        See :meth:`ApprovalStore.claim`: one ``SET NX`` shared by every replica.

        The mark is the key ``<prefix>claimed:<id>`` holding this call's token, with a Redis
        expiry of ``keep_until_ms - now`` (at least one second), as durable as the approvals.
        A retry after a lost reply reads the key back: ``True`` only if the token is ours.
        """
        key = self._tag + "claimed:" + check_id(approval_id)
        if type(keep_until_ms) is not int:
            raise LocalProtocolError(f"keep_until_ms must be an int, got {keep_until_ms!r}")
        keep_ms = max(keep_until_ms - self._clock(), 1000)
        token = self._token()
        self._check_open()

        async def attempt(conn: RedisConnection, retried: bool) -> Any:
            reply = await conn.call("SET", key, token, "NX", "PX", keep_ms)
            if reply is None and retried:  # taken: by another caller, or our lost reply
                reply = "OK" if await conn.call("GET", key) == token else None
            return reply

        return bool(await self._link.run("the claim", attempt) == "OK")

    async def cancel(self, approval_id: str) -> ApprovalResult:
        """See :meth:`ApprovalStore.cancel`."""
        key = check_id(approval_id)
        return result(await self._call("cancel", key, self._token()))

    async def list_pending(self) -> Sequence[ApprovalRecord]:
        """See :meth:`ApprovalStore.list_pending`: every replica's pending approvals."""
        rows = await self._call("pending")
        return [r for r in (result(row).record for row in rows) if r is not None]

    async def _catch_up(
        self, ids: list[str], *, with_pending: bool = True, audience: str | None = None
    ) -> tuple[int, list[Any], list[Any]]:
        only = "*" if audience is None else "=" + audience
        evseq, pending, rows = await self._call("catchup", "1" if with_pending else "0", only, *ids)
        return int(evseq), pending, rows

    @contextlib.asynccontextmanager
    async def subscribe(
        self, audience: str | None = None
    ) -> AsyncIterator[MemoryObjectReceiveStream[ApprovalEvent]]:
        """
        See :meth:`ApprovalStore.subscribe`: events from every replica.

        With *audience*, only the events of requests of that audience (see the store's
        ``audience`` argument); the channel is then a route for those requests only.

        Before the context is entered, the store's subscription counts this channel as an
        approver route for every replica (confirmed by Redis). Nothing is lost: after a
        reconnect, or when the channel falls more than *subscriber_buffer* messages behind, it
        catches up from the store (``ApprovalRequested`` for each pending approval it has not
        announced, the settling event of each announced one that settled meanwhile), then goes
        on with the messages the snapshot did not reflect.

        Raises:
            TransportError: Redis stayed unreachable for *retry_window*.
        """
        if audience is not None:
            check_audience(audience)
        self._check_open()
        listener = self._listener
        # A small buffer between the feeder and the approver: events pass in batches, not one
        # rendezvous (two task switches) each. The lag bound is still subscriber_buffer (the
        # feeder's queue); past it the channel catches up from the store.
        send, receive = anyio.create_memory_object_stream[ApprovalEvent](min(self._buffer, 64))
        subscriber = Subscriber(self._buffer, audience)
        scope = anyio.CancelScope()
        done = anyio.Event()
        listener.subscribers.add(subscriber)
        catch_up = functools.partial(self._catch_up, audience=audience)
        try:
            await listener.want_route(audience)
            try:
                seconds = self._retry_window + self._socket_timeout
                if not await listener.wait_route(seconds, audience):
                    msg = f"Redis unreachable for {self._retry_window:g} s (subscription)"
                    raise TransportError(msg)
                after, _, _ = await catch_up([], with_pending=False)
                self._spawn(self._feed, subscriber, send, catch_up, after, done, scope=scope)
                async with receive:
                    yield receive
            finally:
                scope.cancel()
                if self._tg is not None and scope in self._scopes:
                    with anyio.CancelScope(shield=True):
                        await done.wait()
                await listener.drop_route(audience)
        finally:
            listener.subscribers.discard(subscriber)
            send.close()

    async def _feed(
        self,
        subscriber: Subscriber,
        send: MemoryObjectSendStream[ApprovalEvent],
        catch_up: Callable[[list[str]], Awaitable[tuple[int, list[Any], list[Any]]]],
        after: int,
        done: anyio.Event,
    ) -> None:
        try:
            await self._listener.feed(subscriber, send, catch_up, after)
        finally:
            done.set()

    async def aclose(self) -> None:
        """
        Close: parked waiters return ``None``, subscriptions end, later calls raise.

        The background tasks are cancelled here; the connections close when the
        ``async with`` block is left (the task group belongs to the task that entered it).
        """
        if self._closed:
            return
        self._close_now()
        await anyio.lowlevel.checkpoint()

    def _close_now(self) -> None:
        self._closed = True
        self._listener.wake_waiters()
        for scope in tuple(self._scopes):
            scope.cancel()

    async def _shutdown(self) -> None:
        # No checkpoint before the task group is left: when the host task is being cancelled,
        # the group entered in __aenter__ must still be exited (cancel scopes nest).
        self._close_now()
        try:
            await self._link.aclose()
        finally:
            tg, self._tg = self._tg, None
            if tg is not None:
                await tg.__aexit__(None, None, None)  # its tasks are cancelled: this is quick
