"""
The approval page: a Starlette app over the gateway kit (see ``docs/web.md``).

Routes (every response carries the headers of :mod:`._security`; no GET changes state):

==========================================  =================================================
``GET /login``, ``POST /login``              sign in with the gateway's shared secret or a
                                             device token (login CSRF: double-submit cookie)
``POST /logout``                             end the session (CSRF token, same origin)
``GET /``                                    the page (no data in it but the CSRF token)
``GET /static/app.js``, ``app.css``          the script and style (no inline script)
``GET /api/approvals``                       the pending and recently settled requests (JSON)
``GET /api/events``                          the same as a server-sent event stream, pushed on
                                             every change and at every expiry
``POST /api/approvals/{id}/decision``        ``{"decision": "allow-once" | "allow-always" |
                                             "deny"}``, ``X-CSRF-Token``, same origin, JSON
==========================================  =================================================
"""

from __future__ import annotations

import contextlib
import html
import json
import logging
import os
import secrets
from collections import OrderedDict
from collections.abc import AsyncIterator
from importlib import resources
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
import attrs
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

from openclaw_exec.adapters.web._approvers import KitApprover
from openclaw_exec.adapters.web._auth import Authenticator, SessionBook, WebSession
from openclaw_exec.adapters.web._security import HostGuard, same_origin
from openclaw_exec.adapters.web._source import KitSource
from openclaw_exec.adapters.web._view import analyse, record_view
from openclaw_exec.exceptions import LocalProtocolError
from openclaw_exec.protocol import ApprovalRecord, Decision

if TYPE_CHECKING:
    from starlette.types import Receive, Scope, Send

    from openclaw_exec.adapters.websocket import GatewayKit
    from openclaw_exec.analysis import Evaluation

__all__ = ["WebApprovals", "WebConfig"]

_LOG = logging.getLogger("openclaw_exec.web")
SESSION_COOKIE = "oce_session"
LOGIN_COOKIE = "oce_login"
_MAX_BODY = 8 * 1024
_STATIC = {"app.js": "text/javascript; charset=utf-8", "app.css": "text/css; charset=utf-8"}


@attrs.frozen(kw_only=True)
class WebConfig:
    """
    Settings of the approval page.

    Attributes:
        allowed_hosts: ``Host`` values answered besides the served address (and
            ``localhost`` for a loopback one), e.g. ``("approvals.example.com",)`` behind
            a reverse proxy. Any other ``Host`` gets 421 (DNS rebinding).
        secure_cookies: Served over HTTPS (e.g. behind a TLS-terminating proxy): cookies
            are marked ``Secure`` and POSTs must come from the ``https://`` origin. Plain-HTTP
            loopback serving needs it off.
        session_lifetime_s: A session ends this long after login.
        max_sessions: More logins evict the oldest session.
        heartbeat_s: The event stream sends a comment this often (keeps proxies open).
    """

    allowed_hosts: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    secure_cookies: bool = False
    session_lifetime_s: float = 8 * 3600.0
    max_sessions: int = 256
    heartbeat_s: float = 15.0


def _page(title: str, body: str, *, head: str = "") -> HTMLResponse:
    document = (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title>"
        '<link rel="stylesheet" href="/static/app.css">'
        f"{head}</head><body>{body}</body></html>\n"
    )
    return HTMLResponse(document)


def _error(status: int, error: str, message: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error": error, "message": message}, status_code=status)


async def _read_body(request: Request, limit: int = _MAX_BODY) -> bytes | None:
    """The request body, or ``None`` past *limit* bytes (read no further)."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > limit):
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _same_text(a: str, b: str) -> bool:
    """Constant-time comparison of any two strings (``secrets.compare_digest`` wants ASCII)."""
    return secrets.compare_digest(
        a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass")
    )


def _form(body: bytes) -> dict[str, str]:
    from urllib.parse import parse_qs  # noqa: PLC0415

    try:
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=8)
    except (UnicodeDecodeError, ValueError):
        return {}
    return {k: v[0] for k, v in parsed.items() if len(v) == 1}


class WebApprovals:
    """
    The approval page for a :class:`~openclaw_exec.adapters.websocket.GatewayKit`.

    An ASGI application (mount it, or run it with :meth:`serve`, which uses Hypercorn on
    the running anyio backend, asyncio or trio). While it runs (its ASGI lifespan, or
    :meth:`serve`) it is attached to the kit as an approval route.

    Args:
        kit: The gateway kit whose requests are shown (and whose auth and paired devices
            decide who may sign in).
        config: Page settings.
        env: The environment the analysis resolves programs in (default: this process's,
            stripped as the guard strips it); its values are never shown.
    """

    def __init__(
        self,
        kit: GatewayKit,
        config: WebConfig | None = None,
        *,
        env: dict[str, str] | None = None,
    ) -> None:
        from openclaw_exec.analysis import sanitize_inherited_env  # noqa: PLC0415

        self.kit = kit
        self.config = config or WebConfig()
        self.source = KitSource(kit)
        self.auth = Authenticator(kit.config.auth, kit.store.list_paired)
        self.sessions = SessionBook(
            clock=kit.clock,
            max_sessions=self.config.max_sessions,
            lifetime_ms=int(self.config.session_lifetime_s * 1000),
        )
        self._env = env if env is not None else sanitize_inherited_env(os.environ)[0]
        self._analyses: OrderedDict[str, tuple[Evaluation | None, str | None]] = OrderedDict()
        self.port: int | None = None
        routes = [
            Route("/", self._index, methods=["GET"]),
            Route("/login", self._login_form, methods=["GET"]),
            Route("/login", self._login, methods=["POST"]),
            Route("/logout", self._logout, methods=["POST"]),
            Route("/static/{name}", self._static, methods=["GET"]),
            Route("/api/approvals", self._api_list, methods=["GET"]),
            Route("/api/events", self._api_events, methods=["GET"]),
            Route("/api/approvals/{approval_id}/decision", self._api_decide, methods=["POST"]),
        ]
        self._app = HostGuard(
            Starlette(routes=routes, lifespan=self._lifespan), self.config.allowed_hosts
        )

    @property
    def approver(self) -> KitApprover:
        """
        An approver (the one contract) that asks through this page's kit.

        ``serve_approver(store, page.approver)`` (or ``open_guard(approver=page.approver)``)
        shows a guard's requests on the page; a request decided or expired elsewhere
        leaves the page at once.
        """
        return KitApprover(self.kit, on_withdrawn=self.source.notify, clock=self.kit.clock)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point."""
        await self._app(scope, receive, send)

    @contextlib.asynccontextmanager
    async def _lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        self.source.open()
        try:
            yield
        finally:
            self.source.close()

    # ------------------------------------------------------------------ serving

    async def serve(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        task_status: anyio.abc.TaskStatus[int] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        """
        Serve the page on *host*:*port* (default: loopback, a free port) until cancelled.

        ``await tg.start(web.serve)`` returns the port once it is listening. Runs Hypercorn
        on the current anyio backend (extra ``[web]``).
        """
        from openclaw_exec.adapters.web._serve import serve_asgi  # noqa: PLC0415

        async def started(bound: int) -> None:
            self.port = bound

        # Attached here as well as in the ASGI lifespan: a cancelled server may skip its
        # lifespan shutdown, and the page must stop being a route when it stops.
        self.source.open()
        try:
            await serve_asgi(
                self,
                host,
                port,
                task_status=task_status,
                on_bound=started,
                on_stop=self.source.close,
            )
        finally:
            self.source.close()

    # ------------------------------------------------------------------ sessions

    def _session(self, request: Request) -> WebSession | None:
        session = self.sessions.get(request.cookies.get(SESSION_COOKIE))
        if session is not None and not self.auth.still_valid(session):
            self.sessions.drop(session.session_id)
            return None
        return session

    def _cookie(self, response: Response, name: str, value: str, max_age: int) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path="/",
            httponly=True,
            samesite="strict",
            secure=self.config.secure_cookies,
        )

    # ------------------------------------------------------------------ pages

    async def _login_form(self, request: Request) -> Response:
        return self._login_page(request, status=200, note="")

    def _login_page(self, request: Request, *, status: int, note: str) -> Response:
        del request
        nonce = secrets.token_urlsafe(24)
        message = f'<p class="note" role="alert">{html.escape(note)}</p>' if note else ""
        body = (
            '<main class="login"><h1>openclaw-exec approvals</h1>'
            "<p>Sign in with the gateway's shared secret (token or password) or a device "
            "token issued to a paired device with <code>operator.approvals</code>.</p>"
            f"{message}"
            '<form method="post" action="/login" autocomplete="off">'
            f'<input type="hidden" name="csrf" value="{nonce}">'
            '<label for="secret">Token</label>'
            '<input id="secret" name="secret" type="password" required autofocus>'
            '<button id="sign-in" type="submit">Sign in</button></form></main>'
        )
        response = _page("Sign in: openclaw-exec approvals", body)
        response.status_code = status
        self._cookie(response, LOGIN_COOKIE, nonce, max_age=600)
        return response

    async def _login(self, request: Request) -> Response:
        if not same_origin(request.scope, https=self.config.secure_cookies):
            return PlainTextResponse("cross-origin request refused\n", status_code=403)
        body = await _read_body(request)
        if body is None:
            return PlainTextResponse("request too large\n", status_code=413)
        form = _form(body)
        nonce = request.cookies.get(LOGIN_COOKIE)
        given = form.get("csrf")
        if not nonce or not given or not _same_text(nonce, given):
            return self._login_page(request, status=403, note="The form expired; try again.")
        found = self.auth.login(form.get("secret", ""))
        if found is None:
            _LOG.warning("web approvals: refused sign-in from %s", request.client)
            await anyio.sleep(0.25)  # a guess costs time; tokens are 256-bit anyway
            return self._login_page(request, status=401, note="Not accepted.")
        principal, via, digest = found
        session = self.sessions.create(principal, via, digest)
        response = RedirectResponse("/", status_code=303)
        self._cookie(
            response, SESSION_COOKIE, session.session_id, int(self.config.session_lifetime_s)
        )
        response.delete_cookie(LOGIN_COOKIE, path="/")
        return response

    async def _logout(self, request: Request) -> Response:
        session = self._session(request)
        if not same_origin(request.scope, https=self.config.secure_cookies):
            return PlainTextResponse("cross-origin request refused\n", status_code=403)
        body = await _read_body(request)
        form = _form(body or b"")
        if session is not None and session.csrf_ok(form.get("csrf")):
            self.sessions.drop(session.session_id)
            self.source.notify()  # wake its event stream so it ends
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    async def _index(self, request: Request) -> Response:
        session = self._session(request)
        if session is None:
            return RedirectResponse("/login", status_code=303)
        who = html.escape(session.principal.label)
        scopes = html.escape(", ".join(sorted(session.principal.scopes)) or "none")
        logout = (
            '<form method="post" action="/logout" class="logout">'
            f'<input type="hidden" name="csrf" value="{html.escape(session.csrf_token)}">'
            '<button type="submit">Sign out</button></form>'
        )
        header = (
            "<header><h1>Pending approvals</h1>"
            f'<p class="who">Signed in as <strong id="who">{who}</strong> '
            f'<span class="scopes">({scopes})</span></p>{logout}</header>'
        )
        if session.may_approve:
            main = (
                '<main><p id="status" class="status" role="status">connecting…</p>'
                '<section id="pending" aria-live="polite"></section>'
                '<h2>Recently settled</h2><section id="recent"></section></main>'
            )
        else:
            main = (
                '<main><p id="status" class="status denied" role="status">This session has '
                "no <code>operator.approvals</code> scope: it is shown no requests and "
                "cannot answer any.</p></main>"
            )
        head = (
            f'<meta name="csrf-token" content="{html.escape(session.csrf_token)}">'
            f'<meta name="may-approve" content="{"yes" if session.may_approve else "no"}">'
            '<script src="/static/app.js" defer></script>'
        )
        return _page("openclaw-exec approvals", header + main, head=head)

    async def _static(self, request: Request) -> Response:
        name = request.path_params["name"]
        media = _STATIC.get(name)
        if media is None:
            return PlainTextResponse("not found\n", status_code=404)
        data = resources.files("openclaw_exec.adapters.web").joinpath("static", name).read_bytes()
        return Response(data, media_type=media)

    # ------------------------------------------------------------------ API

    def _approver(self, request: Request) -> WebSession | Response:
        session = self._session(request)
        if session is None:
            return _error(401, "not-signed-in", "sign in first")
        if not session.may_approve:
            return _error(403, "missing-scope", "missing scope: operator.approvals")
        return session

    async def _analysis(self, record: ApprovalRecord) -> tuple[Evaluation | None, str | None]:
        cached = self._analyses.get(record.id)
        if cached is not None:
            return cached
        request = record.request
        try:
            evaluation: Evaluation | None = await anyio.to_thread.run_sync(
                analyse, request.command, request.cwd, self._env
            )
            found: tuple[Evaluation | None, str | None] = (evaluation, None)
        except Exception:  # noqa: BLE001 - the page shows "not analysed", never crashes
            _LOG.exception("web approvals: analysing request %s failed", record.id)
            found = (None, "the analysis failed (see the server log)")
        self._analyses[record.id] = found
        while len(self._analyses) > 512:
            self._analyses.popitem(last=False)
        return found

    async def _snapshot(self, session: WebSession) -> dict[str, Any]:
        principal = session.principal
        pending = [record_view(r, *await self._analysis(r)) for r in self.source.pending(principal)]
        recent = [record_view(r) for r in self.source.recent(principal)]
        return {"nowMs": self.source.now_ms(), "pending": pending, "recent": recent}

    async def _api_list(self, request: Request) -> Response:
        session = self._approver(request)
        if isinstance(session, Response):
            return session
        return JSONResponse(await self._snapshot(session))

    def _next_expiry_s(self, session: WebSession) -> float | None:
        deadlines = [r.request.expires_at_ms for r in self.source.pending(session.principal)]
        if not deadlines:
            return None
        return max(0.0, (min(deadlines) - self.source.now_ms()) / 1000)

    async def _api_events(self, request: Request) -> Response:
        session = self._approver(request)
        if isinstance(session, Response):
            return session
        return StreamingResponse(
            self._stream(request, session),
            media_type="text/event-stream",
            headers={"X-Accel-Buffering": "no"},
        )

    async def _stream(self, request: Request, session: WebSession) -> AsyncIterator[str]:
        last: str | None = None
        yield "retry: 2000\n\n"
        while not self.source.closed:
            if self._session(request) is None:
                yield "event: signed-out\ndata: {}\n\n"
                return
            snapshot = await self._snapshot(session)
            shown = json.dumps({k: v for k, v in snapshot.items() if k != "nowMs"})
            if shown != last:
                last = shown
                yield f"event: snapshot\ndata: {json.dumps(snapshot)}\n\n"
            delay = self._next_expiry_s(session)
            wait = self.config.heartbeat_s if delay is None else min(delay + 0.05, 3600.0)
            with anyio.move_on_after(min(wait, self.config.heartbeat_s)) as scope:
                await self.source.wait_changed()
            if scope.cancelled_caught and (delay is None or delay > self.config.heartbeat_s):
                yield ": keep-alive\n\n"

    async def _api_decide(self, request: Request) -> Response:
        if not same_origin(request.scope, https=self.config.secure_cookies):
            return _error(403, "cross-origin", "cross-origin request refused")
        session = self._approver(request)
        if isinstance(session, Response):
            return session
        if not session.csrf_ok(request.headers.get("x-csrf-token")):
            return _error(403, "csrf", "missing or wrong CSRF token")
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return _error(415, "content-type", "send application/json")
        body = await _read_body(request)
        if body is None:
            return _error(413, "too-large", "request too large")
        try:
            document = json.loads(body)
            decision = Decision.parse(document.get("decision"))
        except (ValueError, AttributeError, TypeError, LocalProtocolError):
            return _error(400, "bad-request", 'expected {"decision": "allow-once" | ...}')
        approval_id = request.path_params["approval_id"]
        if self.source.find(session.principal, approval_id) is None:
            return _error(409, "not-pending", "no pending request with that id for you")
        answer = await self.source.resolve(session.principal, approval_id, decision)
        if not answer.ok:
            status = 403 if answer.reason == "SELF_APPROVAL_NOT_ALLOWED" else 409
            return _error(status, answer.reason or "refused", answer.message)
        _LOG.info(
            "web approvals: %s answered %s with %s", session.principal.label, approval_id, decision
        )
        return JSONResponse({"ok": True, "id": approval_id, "decision": str(decision)})
