"""
The WebSocket gateway kit: OpenClaw's gateway protocol over WebSockets (extra ``[websocket]``).

Server side: :class:`GatewayKit` (handshake, pairing decision, pairing store, approval
methods and events) that an embedder mounts in their own gateway or runs with
:meth:`GatewayKit.serve`; :class:`FilePairingStore` keeps pairings on disk.

Client side (works against a real OpenClaw gateway, 2026.4.1 and 2026.9.6, and against this
library's gateway kit): :class:`ApprovalOperator` receives approval prompts and resolves them
through a callback, after checking at connect that the gateway will deliver other clients'
requests to it (:class:`ApprovalDeliveryError` with the remedy otherwise);
:class:`ApprovalRequester` registers a command and waits for the decision;
:class:`GatewayApprovals` lists and inspects pending approvals, resolves any approval kind
(first answer wins), reads the history and the host approvals file (hash-guarded writes);
:func:`open_gateway_session` is the handshake (device identity, challenge signature, device
token reuse, bounded reconnect) underneath both.

Runs on anyio (asyncio and trio) with the ``websockets`` package's sans-I/O protocol.
"""

from __future__ import annotations

from openclaw_exec.adapters.websocket._approvals import (
    ApprovalCallback,
    ApprovalOperator,
    ApprovalPrompt,
    prompt_callback,
)
from openclaw_exec.adapters.websocket._client import (
    GatewaySession,
    connect_gateway,
    open_gateway_session,
)
from openclaw_exec.adapters.websocket._delivery import (
    KIT_DELIVERY_CAPABILITY,
    ApprovalDeliveryError,
    approval_delivery_problem,
)
from openclaw_exec.adapters.websocket._identity import (
    DeviceToken,
    DeviceTokenFile,
    load_or_create_identity,
    save_identity,
)
from openclaw_exec.adapters.websocket._queries import GatewayApprovals
from openclaw_exec.adapters.websocket._requester import (
    ApprovalOutcome,
    ApprovalRegistration,
    ApprovalRequester,
)
from openclaw_exec.adapters.websocket._server import GatewayKit, GatewayKitConfig
from openclaw_exec.adapters.websocket._store import (
    FilePairingStore,
    MemoryPairingStore,
    PairingStore,
    default_pairing_dir,
)
from openclaw_exec.adapters.websocket._transport import (
    WebSocketClosedError,
    WebSocketConnection,
    accept_websocket,
    connect_websocket,
)
from openclaw_exec.adapters.websocket._values import (
    GatewayClientOptions,
    GatewayError,
    GatewayEvent,
    HelloOk,
    PairingRequiredError,
    ReconnectPolicy,
)

__all__ = [
    "KIT_DELIVERY_CAPABILITY",
    "ApprovalCallback",
    "ApprovalDeliveryError",
    "ApprovalOperator",
    "ApprovalOutcome",
    "ApprovalPrompt",
    "ApprovalRegistration",
    "ApprovalRequester",
    "DeviceToken",
    "DeviceTokenFile",
    "FilePairingStore",
    "GatewayApprovals",
    "GatewayClientOptions",
    "GatewayError",
    "GatewayEvent",
    "GatewayKit",
    "GatewayKitConfig",
    "GatewaySession",
    "HelloOk",
    "MemoryPairingStore",
    "PairingRequiredError",
    "PairingStore",
    "ReconnectPolicy",
    "WebSocketClosedError",
    "WebSocketConnection",
    "accept_websocket",
    "approval_delivery_problem",
    "connect_gateway",
    "connect_websocket",
    "default_pairing_dir",
    "load_or_create_identity",
    "open_gateway_session",
    "prompt_callback",
    "save_identity",
]
