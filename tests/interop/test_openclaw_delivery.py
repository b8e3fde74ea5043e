"""
What real gateways deliver to an approver, and what the client checks at connect.

On OpenClaw 2026.9.6 a non-admin approver on another device, or one without approval
``caps``, is admitted but never shown the request: the requester's answer is
``decision: null``. The operator now refuses to run there (``ApprovalDeliveryError`` with
the remedy); with the remedy applied it works. On 2026.4.1 and the kit the same approver is
served. Device tokens: 2026.9.6 issues none to ``gateway-client``/``backend``; the table in
``docs/websocket.md`` says so and is checked here against each gateway.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import pytest

from openclaw_exec.adapters.websocket import (
    ApprovalDeliveryError,
    ApprovalOperator,
    ApprovalPrompt,
    ApprovalRequester,
    GatewayClientOptions,
    GatewayError,
    ReconnectPolicy,
    open_gateway_session,
)
from openclaw_exec.protocol import Decision

from ._gateway import ADMIN, APPROVALS

if TYPE_CHECKING:
    from ._gateway import RunningGateway
    from ._kit import KitGateway

    Gateway = RunningGateway | KitGateway

pytestmark = [pytest.mark.interop, pytest.mark.anyio]

DOCS = Path(__file__).resolve().parents[2] / "docs" / "websocket.md"


def is96(gateway: Gateway) -> bool:
    return gateway.version.startswith("2026.9.")


def client(gateway: Gateway, folder: Path, name: str, **overrides: object) -> GatewayClientOptions:
    options: dict[str, object] = {
        "url": gateway.url,
        "token": gateway.token,
        "identity_path": folder / name / "device.json",
        "client_id": "test",
        "client_mode": "test",
        "scopes": (APPROVALS,),
        "caps": ("exec-approvals",),
        "reconnect": ReconnectPolicy(max_attempts=3, initial_delay=0.2),
    }
    options.update(overrides)
    return GatewayClientOptions(**options)  # type: ignore[arg-type]


async def never(_prompt: ApprovalPrompt) -> None:
    return None


async def _round(
    gateway: Gateway, folder: Path, approver: GatewayClientOptions, *, verify: bool = True
) -> tuple[Decision | None, list[str]]:
    """Run *approver* (allow-once) and one request from another device; (decision, prompts)."""
    seen: list[str] = []

    async def allow(prompt: ApprovalPrompt) -> Decision:
        seen.append(prompt.id)
        return Decision.ALLOW_ONCE

    requester = client(
        gateway, folder, "requester", client_id="gateway-client", client_mode="backend", caps=()
    )
    async with anyio.create_task_group() as tg:
        await tg.start(ApprovalOperator(approver, allow, verify_delivery=verify).run)
        async with ApprovalRequester.connect(requester) as rq:
            with anyio.fail_after(60):
                outcome = await rq.request_decision("echo delivery", timeout_ms=30_000)
        tg.cancel_scope.cancel()
    return outcome.decision, seen


async def test_a_non_admin_approver_is_checked_at_connect(gateway: Gateway, tmp_path: Path) -> None:
    plain = client(gateway, tmp_path, "plain")  # operator.approvals only, caps set
    if not is96(gateway):
        decision, seen = await _round(gateway, tmp_path, plain)
        assert decision is Decision.ALLOW_ONCE
        assert len(seen) == 1
        return
    # 2026.9.6: refused at connect, with the remedy...
    operator = ApprovalOperator(plain, never)
    with anyio.fail_after(30), pytest.raises(ApprovalDeliveryError) as caught:
        await operator.run()
    error = caught.value
    assert "operator.admin" in str(error)
    assert "decision=None" in str(error)
    assert "scopes=('operator.approvals', 'operator.admin')" in error.remediation
    # ...because the gateway really would show it nothing (the premise, checked live)...
    decision, seen = await _round(gateway, tmp_path, plain, verify=False)
    assert decision is None
    assert seen == []
    # ...and the remedy, exactly as stated, makes it work.
    fixed = client(gateway, tmp_path, "plain", scopes=(APPROVALS, ADMIN))
    decision, seen = await _round(gateway, tmp_path, fixed)
    assert decision is Decision.ALLOW_ONCE
    assert len(seen) == 1


async def test_an_approver_without_approval_caps_is_checked_at_connect(
    gateway: Gateway, tmp_path: Path
) -> None:
    admin = (APPROVALS, ADMIN) if is96(gateway) else (APPROVALS,)
    no_caps = client(gateway, tmp_path, "nocaps", scopes=admin, caps=())
    if gateway.version.startswith("2026.4."):
        decision, seen = await _round(gateway, tmp_path, no_caps)  # 4.1 shows it to anyone
        assert decision is Decision.ALLOW_ONCE
        assert len(seen) == 1
        return
    # 2026.9.6 and the kit send approval events to approval clients only.
    with anyio.fail_after(30), pytest.raises(ApprovalDeliveryError, match="approval clients"):
        await ApprovalOperator(no_caps, never).run()
    decision, seen = await _round(gateway, tmp_path, no_caps, verify=False)
    assert decision is None
    assert seen == []


def _documented_device_tokens() -> dict[tuple[str, str], dict[str, bool]]:
    """The device-token rows of the table in docs/websocket.md: (id, mode) -> column -> yes."""
    text = DOCS.read_text(encoding="utf-8")
    header = next(line for line in text.splitlines() if line.startswith("| | 2026.4.1 |"))
    columns = [c.strip() for c in header.strip("|").split("|")][1:]
    rows: dict[tuple[str, str], dict[str, bool]] = {}
    for line in text.splitlines():
        found = re.match(r"\| device token in `hello-ok`, `([\w-]+)`/`([\w-]+)` client \|", line)
        if found:
            cells = [c.strip() for c in line.strip("|").split("|")][1:]
            rows[found.group(1), found.group(2)] = {
                col: cell.startswith("yes") for col, cell in zip(columns, cells, strict=True)
            }
    return rows


@pytest.mark.parametrize(
    ("client_id", "client_mode"), [("test", "test"), ("gateway-client", "backend")]
)
async def test_device_tokens_are_issued_as_the_docs_say(
    gateway: Gateway, tmp_path: Path, client_id: str, client_mode: str
) -> None:
    documented = _documented_device_tokens()[client_id, client_mode]
    column = "gateway kit" if gateway.version.startswith("openclaw-exec") else gateway.version
    options = client(gateway, tmp_path, "c", client_id=client_id, client_mode=client_mode)
    async with open_gateway_session(options) as session:
        issued = session.hello.device_token_issued
        device_id = str(session.device_id)
    assert issued is documented[column]
    tokens = options.token_file()
    assert tokens is not None
    stored = tokens.get(gateway.url, "operator", device_id)
    assert (stored is not None) is issued
    # Without a stored device token the shared token is the only way in.
    tokenless = client(
        gateway, tmp_path, "c", client_id=client_id, client_mode=client_mode, token=None
    )
    if issued:
        async with open_gateway_session(tokenless) as session:
            assert APPROVALS in session.hello.scopes
    else:
        with anyio.fail_after(30), pytest.raises(GatewayError):
            async with open_gateway_session(tokenless):
                pass
