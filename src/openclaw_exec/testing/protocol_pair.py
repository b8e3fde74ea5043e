"""
A gateway and its clients joined by an in-memory link with a fake clock (for tests).

Every frame crosses the link as JSON text, so tests exercise the real wire format::

    pair = ProtocolPair(("exec", exec_host), ("op", operator))
    pair.send("exec", pair.client("exec").request(params))
    (announced,) = pair.take("op")
    pair.send("op", pair.client("op").resolve(announced.request.id, Decision.ALLOW_ONCE))
    pair.advance(30_000)  # time passes; expiries fire
"""

from __future__ import annotations

from openclaw_exec.protocol import (
    ApprovalBroker,
    ApprovalGateway,
    Outgoing,
    Principal,
    RequestFrame,
    decode_frame,
)
from openclaw_exec.protocol._client import ApprovalClient, ClientEvent
from openclaw_exec.protocol._wire import dumps

__all__ = ["ProtocolPair"]


class ProtocolPair:
    """
    One :class:`~openclaw_exec.protocol.ApprovalGateway`, named clients, a fake clock.

    Args:
        *clients: ``(name, principal)`` of each connected client.
        start_ms: The fake clock's start (epoch milliseconds).
        broker: The broker behind the gateway (default: a fresh one).
    """

    def __init__(
        self,
        *clients: tuple[str, Principal],
        start_ms: int = 1_700_000_000_000,
        broker: ApprovalBroker | None = None,
    ) -> None:
        self.now_ms = start_ms
        self._ids = 0
        self.gateway = ApprovalGateway(broker, new_id=self._new_id)
        self._clients: dict[str, ApprovalClient] = {}
        self._events: dict[str, list[ClientEvent]] = {}
        for name, principal in clients:
            self.connect(name, principal)

    def _new_id(self) -> str:
        self._ids += 1
        return f"{self._ids:08x}-0000-4000-8000-000000000000"

    def connect(self, name: str, principal: Principal) -> ApprovalClient:
        """Connect a new client *name* as *principal*."""
        self.gateway.connect(name, principal)
        client = self._clients[name] = ApprovalClient(frame_prefix=name)
        self._events[name] = []
        return client

    def disconnect(self, name: str) -> None:
        """Drop client *name* (its approvals stay pending)."""
        self.gateway.disconnect(name)
        del self._clients[name]

    def client(self, name: str) -> ApprovalClient:
        """The client called *name*."""
        return self._clients[name]

    def _deliver(self, outgoing: list[Outgoing]) -> None:
        for item in outgoing:
            name = str(item.connection)
            client = self._clients.get(name)
            if client is not None:
                self._events[name].extend(client.receive(dumps(item.frame)))

    def send(self, name: str, frame: RequestFrame) -> None:
        """Send *frame* from client *name* through JSON; deliver every answer and event."""
        decoded = decode_frame(dumps(frame))
        assert isinstance(decoded, RequestFrame)
        self._deliver(self.gateway.receive(name, decoded, now_ms=self.now_ms))

    def advance(self, ms: int) -> None:
        """Move the fake clock forward and fire what is due."""
        self.now_ms += ms
        self._deliver(self.gateway.tick(now_ms=self.now_ms))

    def take(self, name: str) -> list[ClientEvent]:
        """The events client *name* received since the last call."""
        events, self._events[name] = self._events[name], []
        return events
