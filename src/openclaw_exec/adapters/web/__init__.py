"""
The web approval page, served next to the gateway kit (extra ``[web]``).

:class:`WebApprovals` is an ASGI application (Starlette) over a
:class:`~openclaw_exec.adapters.websocket.GatewayKit`: the requests the kit holds, with the
guard's analysis of each command, live (server-sent events, and at every expiry), and
Allow once / Allow always / Deny bound to the approval id. Sign-in uses the kit's identity
model (the gateway's shared secret, or a device token of a paired device; the approvals scope
decides who may answer). CSRF-safe (same-origin check and a per-session token on every POST,
no state-changing GET), DNS-rebinding-safe (``Host`` checked), a strict content security
policy with no inline script, and no secrets in the page (see ``docs/web.md``).

Guards reach the page through the one approver contract: :class:`KitApprover` (or
``page.approver``) in the kit's process, :class:`GatewayApprover` over WebSocket from any
other process. ``openclaw-exec serve --web`` runs the kit and the page together.
"""

from __future__ import annotations

from openclaw_exec.adapters._redact import MASK, looks_secret_name, redact_argv, redact_text
from openclaw_exec.adapters.web._app import WebApprovals, WebConfig
from openclaw_exec.adapters.web._approvers import GatewayApprover, KitApprover
from openclaw_exec.adapters.web._auth import SHARED_SECRET_SCOPES, WebSession
from openclaw_exec.adapters.web._security import SECURITY_HEADERS
from openclaw_exec.adapters.web._serve import serve_asgi

__all__ = [
    "MASK",
    "SECURITY_HEADERS",
    "SHARED_SECRET_SCOPES",
    "GatewayApprover",
    "KitApprover",
    "WebApprovals",
    "WebConfig",
    "WebSession",
    "looks_secret_name",
    "redact_argv",
    "redact_text",
    "serve_asgi",
]
