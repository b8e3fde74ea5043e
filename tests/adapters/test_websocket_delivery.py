"""
The approver's connect-time check: will the gateway deliver other clients' requests to it?

The rule table against ``hello-ok`` payloads shaped like the real ones (recorded from
OpenClaw 2026.4.1 and 2026.9.6; ``tests/interop/test_openclaw_delivery.py`` checks the
same against the live gateways), and the operator failing loudly on the kit (asyncio, trio).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

from openclaw_exec.adapters.websocket import (
    KIT_DELIVERY_CAPABILITY,
    ApprovalDeliveryError,
    ApprovalOperator,
    ApprovalPrompt,
    GatewayClientOptions,
    GatewayKit,
    GatewayKitConfig,
    HelloOk,
    MemoryPairingStore,
    ReconnectPolicy,
    approval_delivery_problem,
)
from openclaw_exec.adapters.websocket._delivery import KIT_ANY_CLIENT_CAPABILITY as KIT_ANY
from openclaw_exec.pairing import AuthConfig

APPROVALS, ADMIN, READ = "operator.approvals", "operator.admin", "operator.read"
EVENTS = ["connect.challenge", "exec.approval.requested", "exec.approval.resolved"]


def hello(
    protocol: int,
    scopes: list[str],
    *,
    version: str = "2026.9.6",
    capabilities: list[str] | None = None,
    events: list[str] | None = None,
) -> HelloOk:
    features: dict[str, Any] = {"methods": ["exec.approval.resolve"], "events": events or EVENTS}
    if capabilities is not None:
        features["capabilities"] = capabilities
    return HelloOk.from_payload(
        {
            "type": "hello-ok",
            "protocol": protocol,
            "server": {"version": version, "connId": "c"},
            "features": features,
            "auth": {"role": "operator", "scopes": scopes},
        }
    )


CAPS = ("exec-approvals",)
CASES = [
    # (hello, client_id, caps, problem fragment or None)
    (hello(3, [APPROVALS], version="2026.4.1"), "test", CAPS, None),
    (hello(3, [APPROVALS], version="2026.4.1"), "test", (), None),
    (hello(4, [APPROVALS, ADMIN]), "test", CAPS, None),
    (hello(4, [ADMIN]), "gateway-client", CAPS, None),
    (hello(4, [APPROVALS], capabilities=[KIT_DELIVERY_CAPABILITY]), "test", CAPS, None),
    (hello(4, [APPROVALS, ADMIN]), "openclaw-control-ui", (), None),
    (hello(3, [APPROVALS], capabilities=[KIT_DELIVERY_CAPABILITY]), "test", (), "approval cl"),
    (hello(4, [APPROVALS], capabilities=[KIT_DELIVERY_CAPABILITY]), "test", (), "approval cl"),
    (hello(4, [APPROVALS], capabilities=[KIT_DELIVERY_CAPABILITY, KIT_ANY]), "test", (), None),
    (hello(4, [APPROVALS]), "test", CAPS, "only to operator.admin"),
    (hello(4, [APPROVALS], capabilities=["model-catalog-snapshot"]), "test", CAPS, "admin"),
    (hello(4, [APPROVALS, ADMIN]), "test", (), "only to approval clients"),
    (hello(4, [READ]), "test", CAPS, "without operator.approvals"),
    (hello(3, [READ], version="2026.4.1"), "test", CAPS, "without operator.approvals"),
    (hello(4, [], capabilities=[KIT_DELIVERY_CAPABILITY]), "test", CAPS, "no scopes"),
    (hello(4, [APPROVALS, ADMIN], events=["tick"]), "test", CAPS, "does not list"),
]


@pytest.mark.parametrize(("hello_ok", "client_id", "caps", "expected"), CASES)
def test_delivery_rule_table(
    hello_ok: HelloOk, client_id: str, caps: tuple[str, ...], expected: str | None
) -> None:
    found = approval_delivery_problem(hello_ok, client_id=client_id, caps=caps)
    if expected is None:
        assert found is None
        return
    assert found is not None
    problem, remedy = found
    assert expected in problem
    assert remedy


def test_the_admin_remedy_names_the_scopes_and_the_pairing_step() -> None:
    found = approval_delivery_problem(hello(4, [APPROVALS]), client_id="test", caps=CAPS)
    assert found is not None
    problem, remedy = found
    assert "decision=None" in problem
    assert "2026.9.6" in problem
    assert "scopes=('operator.approvals', 'operator.admin')" in remedy
    assert "openclaw devices approve" in remedy


TOKEN = "kit-delivery-token-0123456789"


@pytest.mark.anyio
async def test_an_operator_without_the_approvals_scope_fails_at_once(tmp_path: Path) -> None:
    kit = GatewayKit(
        GatewayKitConfig(auth=AuthConfig(mode="token", token=TOKEN)), store=MemoryPairingStore()
    )

    async def never(_prompt: ApprovalPrompt) -> None:
        return None

    async with anyio.create_task_group() as tg:
        port = await tg.start(kit.serve)
        options = GatewayClientOptions(
            url=f"ws://127.0.0.1:{port}",
            token=TOKEN,
            identity_path=tmp_path / "op" / "device.json",
            scopes=(READ,),
            reconnect=ReconnectPolicy(max_attempts=3, initial_delay=0.05),
        )
        operator = ApprovalOperator(options, never)
        with anyio.fail_after(10), pytest.raises(ApprovalDeliveryError) as caught:
            await operator.run()
        assert operator.connections == 0
        # The same operator with the check off connects (and would hear nothing).
        quiet = ApprovalOperator(options, never, verify_delivery=False)
        hello_ok = await tg.start(quiet.run)
        assert hello_ok.scopes == (READ,)
        tg.cancel_scope.cancel()
    error = caught.value
    assert error.error_code == "APPROVALS_NOT_DELIVERED"
    assert "without operator.approvals" in str(error)
    assert "To fix:" in str(error)
