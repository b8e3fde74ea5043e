"""
Approvals shared by many gateway replicas: an :class:`~openclaw_exec.abc.ApprovalStore` on Redis.

:class:`RedisApprovalStore` keeps every approval in Redis, so an approval registered on one
replica can be resolved through any other, and a waiter on any replica learns the decision.

* Each call is one Lua script (:mod:`._lua`, run with ``EVALSHA``): it reads the state and
  applies the row of :data:`openclaw_exec.protocol.TRANSITIONS` atomically, so the first
  resolve wins across every replica and an ``allow-once`` is consumed exactly once.
* Each store holds two connections (:mod:`._resp`, a small RESP client on anyio, so the store
  runs on asyncio and trio; :mod:`._link` keeps them up): one carries every command of the
  replica, pipelined (concurrent calls leave in one write, replies come back in order); one is
  the replica's only subscription (:mod:`._listener`), shared by every waiter and approver
  channel. Records cross the edge through :mod:`._codec`.
* Pending approvals are hashes with a Redis expiry; expiry itself follows the store's clock:
  every call treats a pending approval at ``now >= expires_at_ms`` as expired, and each replica
  sweeps due deadlines so approvers hear about it.
* The script publishes each change after writing it, numbered, only on the channels of those
  who need it (approvers of every request or of the request's *audience*, the replica that
  registered it, replicas whose waiters watch it): a replica never receives, let alone
  decodes, the traffic of the others. A waiter gets the settled
  record with its wake-up; it re-reads the state after a reconnect and at least every
  *poll_interval*, so a lost message costs latency, never a decision. An approver channel that
  misses messages (it fell behind, or the subscription reconnected) catches up from the store
  in one atomic snapshot: no approval is lost or stranded.
* A call that cannot reach Redis within *retry_window* raises
  :class:`~openclaw_exec.exceptions.TransportError` (the guard then applies ``askFallback``).
  Calls carry a token, so a call retried after a lost reply answers what the first one did.
* Pending approvals belong to the *run* (an epoch lease every live replica keeps alive), not to
  the replica that registered them: a replica can die and its approvals stay resolvable. When
  every replica was gone for a whole lease, the next one starts a new run and the approvals
  left pending are cancelled (never decided).

Durability is what the Redis server gives (see ``docs/scaling.md``): with ``appendonly yes``
and ``appendfsync always`` a decision or consumption acknowledged to a caller survives a Redis
restart. Needs no package beyond the library's own dependencies (the ``[redis]`` extra is kept,
empty, for existing install lines).
"""

from __future__ import annotations

from openclaw_exec.adapters.redis._store import RedisApprovalStore

__all__ = ["RedisApprovalStore"]
