"""
Request hygiene for the approval page: allowed Host, same Origin, strict headers.

* **Host.** Only the address the page is served on (and ``localhost`` for a loopback
  address) or names the embedder lists are answered; anything else gets 421. That is the
  defence against DNS rebinding, where a hostile page's own name resolves to 127.0.0.1.
* **Origin.** A state-changing request (every POST) must carry an ``Origin`` equal to the
  page's own origin (or, without one, ``Sec-Fetch-Site: same-origin``). Cookies are
  ``SameSite=Strict`` too, but a page on another port of the same host is *same-site*, so
  the origin check is what refuses it.
* **Headers.** A content security policy that allows scripts, styles and connections from
  the page's own origin only (no inline script, no eval), ``frame-ancestors 'none'``, no
  referrer to other origins, no caching, no MIME sniffing, and a closed permissions policy.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["SECURITY_HEADERS", "HostGuard", "host_allowed", "same_origin"]

SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    (
        "content-security-policy",
        (
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
            "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        ),
    ),
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    # Not no-referrer: under it browsers send ``Origin: null`` even on same-origin POSTs,
    # which the origin check must refuse. same-origin sends nothing to other origins.
    ("referrer-policy", "same-origin"),
    ("cache-control", "no-store"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
    ("permissions-policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


def _served_hosts(scope: Scope) -> set[str]:
    server = scope.get("server")
    if not server or server[1] is None:
        return set()
    host, port = str(server[0]), int(server[1])
    shown = f"[{host}]" if ":" in host else host
    names = {f"{shown}:{port}"}
    if _is_loopback(host):
        names |= {f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}"}
    return names


def host_allowed(scope: Scope, extra: Iterable[str]) -> bool:
    """Whether the request's ``Host`` names the page's own address (or a listed name)."""
    host = _header(scope, b"host")
    if host is None:
        return False
    host = host.strip().lower()
    return host in _served_hosts(scope) or host in {h.lower() for h in extra}


def same_origin(scope: Scope, *, https: bool = False) -> bool:
    """
    Whether a state-changing request comes from the page's own origin.

    *https*: the page is served over HTTPS by a proxy in front (the request itself may
    arrive as plain HTTP), so its origin is ``https://<Host>``.
    """
    origin = _header(scope, b"origin")
    host = _header(scope, b"host")
    if origin is None:
        return _header(scope, b"sec-fetch-site") == "same-origin"
    if host is None or origin == "null":
        return False
    scheme = "https" if https or scope.get("scheme") in ("https", "wss") else "http"
    return origin.strip().lower() == f"{scheme}://{host.strip().lower()}"


class HostGuard:
    """ASGI middleware: refuse foreign ``Host`` headers, add the security headers."""

    def __init__(self, app: ASGIApp, allowed_hosts: Iterable[str] = ()) -> None:
        self.app = app
        self.allowed_hosts = tuple(allowed_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not host_allowed(scope, self.allowed_hosts):
            await send(
                {
                    "type": "http.response.start",
                    "status": 421,
                    "headers": [
                        (b"content-type", b"text/plain; charset=utf-8"),
                        *((k.encode(), v.encode()) for k, v in SECURITY_HEADERS),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b"unknown host\n"})
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", ())
                    if k.decode("latin-1").lower() not in {n for n, _ in SECURITY_HEADERS}
                ]
                headers.extend((k.encode(), v.encode()) for k, v in SECURITY_HEADERS)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
