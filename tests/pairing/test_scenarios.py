"""
The scenario table: situation -> exact outcome.

Each row names the situation, builds the inputs, and states the exact decision
(outcome, rule, reason, detail code, granted scopes, locality where it matters). The
``openclaw_41`` column records what OpenClaw 2026.4.1 does in the same situation (from
``pairing.md`` / ``gateway-interop.md``); it is documentation, checked only where the
two agree by design.
"""

from __future__ import annotations

import hashlib
from typing import Any, NamedTuple

import pytest
from _pairing_helpers import (
    ALL_CLI_SCOPES,
    HOST_ID,
    NOW,
    OTHER_ID,
    PASSWORD,
    RUNTIME,
    TOKEN,
    conn,
    gw,
    rec,
    req,
    tok,
)

from openclaw_exec.pairing import (
    Locality,
    Outcome,
    PairingReason,
    PendingPairing,
    decide_pairing,
)

A = Outcome.ACCEPT
S = Outcome.ACCEPT_AFTER_SILENT_PAIRING
P = Outcome.PAIRING_REQUIRED
R = Outcome.REJECT
APPROVALS = ("operator.approvals",)
READ = ("operator.read",)


def _true(_k: bytes, _s: bytes, _m: bytes) -> bool:
    return True


class Row(NamedTuple):
    id: str
    inputs: dict[str, Any]
    expect: dict[str, Any]
    openclaw_41: str


def row(id_: str, openclaw_41: str, expect: dict[str, Any], **inputs: Any) -> Row:
    inputs.setdefault("connection", conn())
    inputs.setdefault("auth", gw())
    inputs.setdefault("request", req())
    return Row(id_, inputs, expect, openclaw_41)


def pend(**kw: Any) -> PendingPairing:
    base: dict[str, Any] = {
        "request_id": "11111111-2222-4333-8444-555555555555",
        "device_id": HOST_ID.device_id,
        "public_key": HOST_ID.public_key,
        "reason": PairingReason.SCOPE_UPGRADE,
        "role": "operator",
        "roles": ("operator",),
        "scopes": APPROVALS,
        "ts_ms": NOW - 60_000,
    }
    base.update(kw)
    return PendingPairing(**base)


ROWS: list[Row] = [
    # ---- the seed case (#59882) and its mechanisms, on 2026.4.1 inputs --------------------
    row(
        "seed-4.1-paired-read-asks-approvals-loopback-token",
        "PAIRING_REQUIRED scope-upgrade, close 1008 'pairing required' (silent:false forced)",
        {
            "outcome": S,
            "rule": "silent-local-pairing",
            "reason": PairingReason.SCOPE_UPGRADE,
            "scopes": APPROVALS,
            "locality": Locality.DIRECT_LOCAL,
        },
        paired=rec(READ),
    ),
    row(
        "seed-fresh-identity-asks-approvals",
        "silent pairing (not-paired), baseline [operator.approvals]",
        {
            "outcome": S,
            "rule": "silent-local-pairing",
            "reason": PairingReason.NOT_PAIRED,
            "scopes": APPROVALS,
        },
    ),
    row(
        "seed-followup-agent-call-needs-write",
        "PAIRING_REQUIRED scope-upgrade (follow-up dispatch failed)",
        {"outcome": S, "reason": PairingReason.SCOPE_UPGRADE, "scopes": ("operator.write",)},
        paired=rec(APPROVALS),
        request=req(scopes=("operator.write",)),
    ),
    row(
        "seed-cli-shares-identity-asks-all-five",
        "PAIRING_REQUIRED scope-upgrade for the CLI too",
        {"outcome": S, "reason": PairingReason.SCOPE_UPGRADE, "scopes": ALL_CLI_SCOPES},
        paired=rec(READ),
        request=req(("cli", "cli"), scopes=ALL_CLI_SCOPES),
    ),
    row(
        "mechanism-b-empty-token-map-roles-fallback",
        "PAIRING_REQUIRED role-upgrade (tokens {} = no roles, 2026.3.31 regression)",
        {"outcome": A, "rule": "paired-device", "scopes": READ},
        paired=rec(READ, tokens=()),
        request=req(scopes=READ),
    ),
    row(
        "mechanism-b-empty-token-map-no-roles-legacy",
        "PAIRING_REQUIRED role-upgrade, never silent in 4.1",
        {"outcome": S, "rule": "silent-local-pairing", "reason": PairingReason.ROLE_UPGRADE},
        paired=rec(READ, roles=(), tokens=()),
        request=req(scopes=READ),
    ),
    row(
        "seed-auto-approve-local-off",
        "n/a (autoApproveLocal is from #115959)",
        {
            "outcome": P,
            "rule": "pairing-required-auto-approve-off",
            "reason": PairingReason.SCOPE_UPGRADE,
            "code": "PAIRING_REQUIRED",
            "error_code": "NOT_PAIRED",
            "close_code": 1008,
        },
        paired=rec(READ),
        auth=gw(auto_approve_local=False),
    ),
    row(
        "seed-but-remote",
        "PAIRING_REQUIRED scope-upgrade",
        {
            "outcome": P,
            "rule": "pairing-required-remote",
            "reason": PairingReason.SCOPE_UPGRADE,
            "locality": Locality.REMOTE,
        },
        paired=rec(READ),
        connection=conn("192.168.1.20", "192.168.1.10:18789"),
    ),
    # ---- the approval-runtime credential (#87105), #72418 kept closed -------------------
    row(
        "approval-runtime-local-no-device",
        "n/a in 4.1 (runtime token is later)",
        {"outcome": A, "rule": "approval-runtime", "scopes": APPROVALS, "device_token": False},
        request=req(identity=None, token=None, approval_runtime_token=RUNTIME),
    ),
    row(
        "approval-runtime-with-device-is-a-conflict",
        "n/a (#121529: never both)",
        {"outcome": R, "rule": "credentials-conflict", "error_code": "INVALID_REQUEST"},
        request=req(approval_runtime_token=RUNTIME),
    ),
    row(
        "approval-runtime-wrong-credential",
        "n/a",
        {"outcome": R, "rule": "approval-runtime-invalid", "code": "AUTH_UNAUTHORIZED"},
        request=req(identity=None, approval_runtime_token="guess"),
    ),
    row(
        "approval-runtime-not-configured",
        "n/a",
        {"outcome": R, "rule": "approval-runtime-invalid"},
        auth=gw(approval_runtime_token=None),
        request=req(identity=None, approval_runtime_token=RUNTIME),
    ),
    row(
        "approval-runtime-remote",
        "n/a",
        {"outcome": R, "rule": "approval-runtime-remote"},
        connection=conn("203.0.113.9", "gw.example:18789"),
        request=req(identity=None, approval_runtime_token=RUNTIME),
    ),
    row(
        "approval-runtime-asks-admin",
        "n/a (#72418: backend name keeps admin in later builds)",
        {
            "outcome": R,
            "rule": "approval-runtime-scope",
            "code": "AUTH_DEVICE_TOKEN_SCOPE_MISMATCH",
        },
        request=req(
            identity=None,
            approval_runtime_token=RUNTIME,
            scopes=("operator.approvals", "operator.admin"),
        ),
    ),
    row(
        "approval-runtime-as-node",
        "n/a",
        {"outcome": R, "rule": "approval-runtime-scope"},
        request=req(identity=None, approval_runtime_token=RUNTIME, role="node", scopes=()),
    ),
    row(
        "spoof-72418-backend-name-no-device-asks-admin",
        "4.1: scopes cleared; 2026.9.6: keeps operator.admin (#72418)",
        {"outcome": A, "rule": "device-less-shared-secret", "scopes": ()},
        request=req(identity=None, scopes=("operator.admin",)),
    ),
    row(
        "device-less-cli-keeps-nothing",
        "scopes cleared (later #96002 keeps CLI scopes)",
        {"outcome": A, "rule": "device-less-shared-secret", "scopes": ()},
        request=req(("cli", "cli"), identity=None, scopes=ALL_CLI_SCOPES),
    ),
    row(
        "device-less-no-secret",
        "NOT_PAIRED device identity required",
        {
            "outcome": R,
            "rule": "device-identity-required",
            "code": "DEVICE_IDENTITY_REQUIRED",
            "error_code": "NOT_PAIRED",
            "error_message": "device identity required",
        },
        request=req(identity=None, token=None),
    ),
    row(
        "device-less-wrong-token",
        "unauthorized: gateway token mismatch",
        {
            "outcome": R,
            "rule": "auth-mismatch",
            "code": "AUTH_TOKEN_MISMATCH",
            "error_message": "unauthorized: gateway token mismatch (provide gateway auth token)",
        },
        request=req(identity=None, token="wrong"),
    ),
    row(
        "device-less-node",
        "NOT_PAIRED device identity required",
        {"outcome": R, "rule": "device-identity-required"},
        request=req(("node-host", "node"), identity=None, role="node", scopes=()),
    ),
    row(
        "device-less-control-ui",
        "CONTROL_UI_DEVICE_IDENTITY_REQUIRED",
        {
            "outcome": R,
            "rule": "control-ui-device-required",
            "code": "CONTROL_UI_DEVICE_IDENTITY_REQUIRED",
        },
        connection=conn(origin="http://127.0.0.1:18789"),
        request=req(("openclaw-control-ui", "ui"), identity=None),
    ),
    row(
        "device-less-control-ui-trusted-proxy",
        "allowed, scopes kept (Control UI bypass)",
        {"outcome": A, "rule": "control-ui-trusted-proxy", "scopes": READ},
        connection=conn(
            "10.0.0.2",
            "gw.example",
            origin="https://gw.example",
            x_forwarded_for="203.0.113.9",
            proxy_user="alice@example.com",
        ),
        auth=gw(
            "trusted-proxy", trusted_proxies=("10.0.0.2",), allowed_origins=("https://gw.example",)
        ),
        request=req(("openclaw-control-ui", "ui"), identity=None, token=None, scopes=READ),
    ),
    # ---- OpenClaw's outcome table ----------------------------------------------------------
    row(
        "invalid-role",
        "INVALID_REQUEST invalid role, 1008",
        {
            "outcome": R,
            "rule": "invalid-role",
            "error_message": "invalid role",
            "close_reason": "invalid role",
            "close_code": 1008,
        },
        request=req(role="admin"),
    ),
    row(
        "empty-role",
        "INVALID_REQUEST invalid role",
        {"outcome": R, "rule": "invalid-role"},
        request=req(role=""),
    ),
    row(
        "origin-foreign",
        "CONTROL_UI_ORIGIN_NOT_ALLOWED, 1008",
        {
            "outcome": R,
            "rule": "origin-not-allowed",
            "code": "CONTROL_UI_ORIGIN_NOT_ALLOWED",
            "details_reason": "origin not allowed",
            "close_reason": "origin not allowed (open the Control UI from the gateway host or "
            "allow it in gateway.controlUi.allowedOrigins)",
        },
        connection=conn(origin="https://evil.example"),
    ),
    row(
        "origin-null",
        "CONTROL_UI_ORIGIN_NOT_ALLOWED origin missing or invalid",
        {"outcome": R, "rule": "origin-not-allowed", "details_reason": "origin missing or invalid"},
        connection=conn(origin="null"),
    ),
    row(
        "control-ui-without-origin",
        "CONTROL_UI_ORIGIN_NOT_ALLOWED origin missing or invalid",
        {"outcome": R, "rule": "origin-not-allowed", "details_reason": "origin missing or invalid"},
        request=req(("openclaw-control-ui", "ui")),
    ),
    row(
        "control-ui-loopback-page-unpaired",
        "silent pairing (local, Control UI)",
        {"outcome": S, "reason": PairingReason.NOT_PAIRED, "locality": Locality.DIRECT_LOCAL},
        connection=conn(origin="http://127.0.0.1:18789"),
        request=req(("openclaw-control-ui", "ui"), scopes=READ),
    ),
    row(
        "control-ui-allowlisted-remote-unpaired",
        "PAIRING_REQUIRED not-paired",
        {"outcome": P, "rule": "pairing-required-remote", "reason": PairingReason.NOT_PAIRED},
        connection=conn("203.0.113.9", "gw.example", origin="https://gw.example"),
        auth=gw(allowed_origins=("https://GW.example/",)),
        request=req(("openclaw-control-ui", "ui"), scopes=READ),
    ),
    row(
        "wrong-token-with-device",
        "unauthorized: gateway token mismatch",
        {"outcome": R, "rule": "auth-mismatch", "code": "AUTH_TOKEN_MISMATCH"},
        request=req(token="wrong"),
    ),
    row(
        "wrong-token-cli-hint",
        "unauthorized: gateway token mismatch (set gateway.remote.token …)",
        {
            "outcome": R,
            "error_message": "unauthorized: gateway token mismatch "
            "(set gateway.remote.token to match gateway.auth.token)",
        },
        request=req(("cli", "cli"), token="wrong"),
    ),
    row(
        "wrong-password",
        "unauthorized: gateway password mismatch",
        {"outcome": R, "rule": "auth-mismatch", "code": "AUTH_PASSWORD_MISMATCH"},
        auth=gw("password"),
        request=req(token=None, password="wrong"),
    ),
    row(
        "password-ok-unpaired-local",
        "silent pairing",
        {"outcome": S, "reason": PairingReason.NOT_PAIRED},
        auth=gw("password"),
        request=req(token=None, password=PASSWORD),
    ),
    row(
        "token-missing-with-device",
        "unauthorized: gateway token missing",
        {
            "outcome": R,
            "rule": "auth-missing",
            "code": "AUTH_TOKEN_MISSING",
            "error_message": "unauthorized: gateway token missing (provide gateway auth token)",
        },
        request=req(token=None),
    ),
    row(
        "password-missing-with-device",
        "unauthorized: gateway password missing",
        {"outcome": R, "rule": "auth-missing", "code": "AUTH_PASSWORD_MISSING"},
        auth=gw("password"),
        request=req(token=None),
    ),
    row(
        "token-not-configured",
        "unauthorized: gateway token not configured",
        {"outcome": R, "rule": "auth-not-configured", "code": "AUTH_TOKEN_NOT_CONFIGURED"},
        auth=gw(token=""),
    ),
    row(
        "device-id-mismatch",
        "DEVICE_AUTH_DEVICE_ID_MISMATCH",
        {
            "outcome": R,
            "rule": "device-proof-failed",
            "code": "DEVICE_AUTH_DEVICE_ID_MISMATCH",
            "details_reason": "device-id-mismatch",
            "close_reason": "device identity mismatch",
        },
        request=req(device_overrides={"id": OTHER_ID.device_id}),
    ),
    row(
        "device-signature-stale",
        "DEVICE_AUTH_SIGNATURE_EXPIRED",
        {
            "outcome": R,
            "code": "DEVICE_AUTH_SIGNATURE_EXPIRED",
            "close_reason": "device signature expired",
        },
        request=req(signed_at=NOW - 120_001),
    ),
    row(
        "device-signature-edge-of-skew",
        "accepted (|skew| <= 120 s)",
        {"outcome": S},
        request=req(signed_at=NOW + 120_000),
    ),
    row(
        "device-nonce-missing",
        "DEVICE_AUTH_NONCE_REQUIRED",
        {"outcome": R, "code": "DEVICE_AUTH_NONCE_REQUIRED"},
        request=req(nonce="  "),
    ),
    row(
        "device-nonce-mismatch",
        "DEVICE_AUTH_NONCE_MISMATCH",
        {"outcome": R, "code": "DEVICE_AUTH_NONCE_MISMATCH"},
        request=req(nonce="another-challenge"),
    ),
    row(
        "device-signature-other-key",
        "DEVICE_AUTH_SIGNATURE_INVALID",
        {
            "outcome": R,
            "code": "DEVICE_AUTH_SIGNATURE_INVALID",
            "close_reason": "device signature invalid",
        },
        request=req(sign_as=OTHER_ID),
    ),
    row(
        "device-public-key-not-32-bytes",
        "DEVICE_AUTH_PUBLIC_KEY_INVALID",
        {"outcome": R, "code": "DEVICE_AUTH_PUBLIC_KEY_INVALID"},
        request=req(
            device_overrides={
                "public_key": "AAAA",
                "id": hashlib.sha256(b"\0\0\0").hexdigest(),
            }
        ),
        signature_verifier=_true,
    ),
    row(
        "unpaired-local",
        "silent pairing, hello-ok with device token",
        {
            "outcome": S,
            "rule": "silent-local-pairing",
            "reason": PairingReason.NOT_PAIRED,
            "device_token": True,
        },
        request=req(("test", "test"), scopes=READ),
    ),
    row(
        "unpaired-remote",
        "PAIRING_REQUIRED not-paired, close 1008",
        {
            "outcome": P,
            "rule": "pairing-required-remote",
            "reason": PairingReason.NOT_PAIRED,
            "code": "PAIRING_REQUIRED",
            "error_message": "pairing required: device is not approved yet",
        },
        connection=conn("203.0.113.9", "gw.example:18789"),
    ),
    row(
        "paired-platform-changed-direct-local-test-client",
        "metadata-upgrade, manual",
        {
            "outcome": P,
            "rule": "pairing-required-metadata",
            "reason": PairingReason.METADATA_UPGRADE,
        },
        paired=rec(READ),
        request=req(("test", "test"), scopes=READ, platform="darwin"),
    ),
    row(
        "paired-platform-case-and-space-only",
        "ok (trimmed, ASCII lower case)",
        {"outcome": A, "rule": "paired-device"},
        paired=rec(READ),
        request=req(scopes=READ, platform="  LINUX "),
    ),
    row(
        "paired-platform-changed-native-app-direct-local",
        "manual in 4.1; silent post-#69431",
        {"outcome": S, "reason": PairingReason.METADATA_UPGRADE},
        paired=rec(READ),
        request=req(("openclaw-macos", "ui"), scopes=READ, platform="macos"),
    ),
    row(
        "paired-platform-changed-shared-secret-loopback",
        "manual in 4.1; silent post-#69431",
        {
            "outcome": S,
            "reason": PairingReason.METADATA_UPGRADE,
            "locality": Locality.SHARED_SECRET_LOOPBACK_LOCAL,
        },
        connection=conn("127.0.0.1", "192.168.1.10:18789"),
        paired=rec(READ),
        request=req(("test", "test"), scopes=READ, platform="darwin"),
    ),
    row(
        "paired-family-changed-remote",
        "metadata-upgrade, manual",
        {"outcome": P, "rule": "pairing-required-remote", "reason": PairingReason.METADATA_UPGRADE},
        connection=conn("203.0.113.9", "gw.example"),
        paired=rec(READ, device_family="iphone"),
        request=req(scopes=READ, device_family="ipad"),
    ),
    row(
        "paired-operator-asks-node",
        "role-upgrade, manual",
        {
            "outcome": P,
            "rule": "pairing-required-node-upgrade",
            "reason": PairingReason.ROLE_UPGRADE,
        },
        paired=rec(READ),
        request=req(("node-host", "node"), role="node", scopes=()),
    ),
    row(
        "paired-node-asks-operator",
        "role-upgrade, manual",
        {
            "outcome": P,
            "rule": "pairing-required-node-upgrade",
            "reason": PairingReason.ROLE_UPGRADE,
        },
        paired=rec((), roles=("node",)),
        request=req(scopes=READ),
    ),
    row(
        "paired-node-asks-scopes",
        "scope-upgrade, manual",
        {
            "outcome": P,
            "rule": "pairing-required-node-upgrade",
            "reason": PairingReason.SCOPE_UPGRADE,
        },
        paired=rec((), roles=("node",)),
        request=req(("node-host", "node"), role="node", scopes=("node.camera",)),
    ),
    row(
        "paired-operator-token-revoked",
        "role-upgrade, manual in 4.1",
        {"outcome": S, "reason": PairingReason.ROLE_UPGRADE},
        paired=rec(READ, tokens=(tok(revoked_at_ms=NOW - 10),)),
        request=req(scopes=READ),
    ),
    row(
        "paired-covered",
        "hello-ok, device token ensured",
        {"outcome": A, "rule": "paired-device", "scopes": READ, "device_token": True},
        paired=rec(READ),
        request=req(scopes=READ),
    ),
    row(
        "paired-covered-remote",
        "hello-ok",
        {"outcome": A, "rule": "paired-device", "locality": Locality.REMOTE},
        connection=conn("203.0.113.9", "gw.example"),
        paired=rec(READ),
        request=req(scopes=READ),
    ),
    row(
        "paired-admin-covers-approvals",
        "hello-ok",
        {"outcome": A, "rule": "paired-device", "scopes": APPROVALS},
        paired=rec(("operator.admin",)),
    ),
    row(
        "paired-write-covers-read",
        "hello-ok",
        {"outcome": A, "rule": "paired-device"},
        paired=rec(("operator.write",)),
        request=req(scopes=READ),
    ),
    row(
        "paired-read-does-not-cover-write-remote",
        "scope-upgrade",
        {"outcome": P, "reason": PairingReason.SCOPE_UPGRADE},
        connection=conn("203.0.113.9", "gw.example"),
        paired=rec(READ),
        request=req(scopes=("operator.write",)),
    ),
    row(
        "paired-no-scopes-requested",
        "hello-ok (an empty request is always covered)",
        {"outcome": A, "rule": "paired-device", "scopes": ()},
        paired=rec(()),
        request=req(scopes=()),
    ),
    row(
        "device-token-only-remote",
        "hello-ok, authMethod device-token",
        {"outcome": A, "rule": "paired-device", "auth_method": "device-token"},
        connection=conn("203.0.113.9", "gw.example"),
        paired=rec(READ, tokens=(tok(),)),
        request=req(scopes=READ, token=None, device_token="device-token-1"),
    ),
    row(
        "device-token-wrong",
        "AUTH_DEVICE_TOKEN_MISMATCH",
        {"outcome": R, "rule": "device-token-mismatch", "code": "AUTH_DEVICE_TOKEN_MISMATCH"},
        paired=rec(READ, tokens=(tok(),)),
        request=req(scopes=READ, token=None, device_token="device-token-2"),
    ),
    row(
        "device-token-scope-upgrade",
        "AUTH_DEVICE_TOKEN_MISMATCH (no pairing request)",
        {"outcome": R, "rule": "device-token-mismatch"},
        paired=rec(READ, tokens=(tok(),)),
        request=req(scopes=("operator.pairing",), token=None, device_token="device-token-1"),
    ),
    row(
        "device-token-unpaired",
        "AUTH_DEVICE_TOKEN_MISMATCH",
        {"outcome": R, "rule": "device-token-mismatch"},
        request=req(scopes=READ, token=None, device_token="device-token-1"),
    ),
    row(
        "bootstrap-token-only",
        "bootstrap pairing (not modelled here)",
        {
            "outcome": R,
            "rule": "bootstrap-token-unsupported",
            "code": "AUTH_BOOTSTRAP_TOKEN_INVALID",
        },
        request=req(token=None, bootstrap_token="setup-code"),
    ),
    row(
        "auth-none-unpaired-local",
        "silent pairing (locality alone)",
        {"outcome": P, "rule": "pairing-required-no-secret", "reason": PairingReason.NOT_PAIRED},
        auth=gw("none"),
        request=req(token=None),
    ),
    row(
        "auth-none-paired-covered",
        "hello-ok",
        {"outcome": A, "rule": "paired-device", "auth_method": "none"},
        auth=gw("none"),
        paired=rec(APPROVALS),
        request=req(token=None),
    ),
    row(
        "auth-none-no-device",
        "NOT_PAIRED device identity required",
        {"outcome": R, "rule": "device-identity-required"},
        auth=gw("none"),
        request=req(identity=None, token=None),
    ),
    row(
        "same-id-different-key-local",
        "not-paired (key differs), silent on loopback",
        {"outcome": S, "reason": PairingReason.NOT_PAIRED},
        paired=rec(READ, public_key=OTHER_ID.public_key),
        request=req(scopes=READ),
    ),
    row(
        "same-id-different-key-remote",
        "not-paired, PAIRING_REQUIRED",
        {"outcome": P, "reason": PairingReason.NOT_PAIRED},
        connection=conn("203.0.113.9", "gw.example"),
        paired=rec(READ, public_key=OTHER_ID.public_key),
        request=req(scopes=READ),
    ),
    row(
        "v2-signature-accepted",
        "hello-ok (v2 accepted)",
        {"outcome": A, "rule": "paired-device"},
        paired=rec(READ),
        request=req(scopes=READ, version=2),
    ),
    row(
        "pending-same-request-keeps-id",
        "same pending row refreshed",
        {"outcome": P, "request_id": "11111111-2222-4333-8444-555555555555"},
        connection=conn("203.0.113.9", "gw.example"),
        paired=rec(READ),
        pending=pend(),
    ),
    row(
        "pending-other-scopes-new-id-merged",
        "new requestId, merged scopes",
        {
            "outcome": P,
            "request_id": "fresh-id",
            "pending_scopes": ("operator.approvals", "operator.write"),
        },
        connection=conn("203.0.113.9", "gw.example"),
        paired=rec(READ),
        pending=pend(scopes=("operator.write",)),
        request_id="fresh-id",
    ),
    row(
        "pending-expired-is-replaced",
        "expired after 5 minutes",
        {"outcome": P, "request_id": "fresh-id", "pending_scopes": APPROVALS},
        connection=conn("203.0.113.9", "gw.example"),
        paired=rec(READ),
        pending=pend(scopes=("operator.write",), ts_ms=NOW - 300_000),
        request_id="fresh-id",
    ),
    # ---- spoofing: forwarding headers, Host, Origin, names ------------------------------------
    row(
        "spoof-xff-loopback-from-untrusted-remote",
        "remote",
        {"outcome": P, "rule": "pairing-required-remote", "locality": Locality.REMOTE},
        connection=conn("203.0.113.9", "localhost:18789", x_forwarded_for="127.0.0.1"),
    ),
    row(
        "spoof-xff-on-loopback-peer-untrusted-proxy",
        "remote (proxy headers from an untrusted address)",
        {"outcome": P, "locality": Locality.REMOTE},
        connection=conn(x_forwarded_for="203.0.113.9"),
    ),
    row(
        "spoof-x-real-ip-loopback-from-untrusted",
        "remote",
        {"outcome": P, "locality": Locality.REMOTE},
        connection=conn("203.0.113.9", "localhost", x_real_ip="127.0.0.1"),
        auth=gw(allow_real_ip_fallback=True),
    ),
    row(
        "trusted-proxy-forwards-remote-client",
        "remote",
        {"outcome": P, "locality": Locality.REMOTE},
        connection=conn(x_forwarded_for="203.0.113.9"),
        auth=gw(trusted_proxies=("127.0.0.1",)),
    ),
    row(
        "trusted-proxy-forwards-only-loopback-hops",
        "remote (no client address)",
        {"outcome": P, "locality": Locality.REMOTE},
        connection=conn(x_forwarded_for="127.0.0.1"),
        auth=gw(trusted_proxies=("127.0.0.1",)),
    ),
    row(
        "trusted-proxy-real-ip-fallback-loopback",
        "local via trusted X-Real-IP",
        {"outcome": S, "locality": Locality.DIRECT_LOCAL},
        connection=conn(x_real_ip="127.0.0.1"),
        auth=gw(trusted_proxies=("127.0.0.0/8",), allow_real_ip_fallback=True),
    ),
    row(
        "spoof-xff-garbage-hop-from-trusted-proxy",
        "remote",
        {"outcome": P, "locality": Locality.REMOTE},
        connection=conn(x_forwarded_for="127.0.0.1, not-an-ip"),
        auth=gw(trusted_proxies=("127.0.0.1",), allow_real_ip_fallback=True),
    ),
    row(
        "spoof-loopback-peer-foreign-host-rebinding",
        "4.1 treats it as local (logs a warning)",
        {"outcome": P, "rule": "pairing-required-remote", "locality": Locality.REMOTE},
        connection=conn(host="evil.example:18789"),
    ),
    row(
        "spoof-loopback-peer-no-host",
        "local in 4.1",
        {"outcome": P, "locality": Locality.REMOTE},
        connection=conn(host=None),
    ),
    row(
        "spoof-host-127.1-not-an-address",
        "n/a",
        {"outcome": P, "locality": Locality.REMOTE},
        connection=conn(host="127.1:18789"),
    ),
    row(
        "loopback-ipv4-mapped-ipv6",
        "local",
        {"outcome": S, "locality": Locality.DIRECT_LOCAL},
        connection=conn("::ffff:127.0.0.1", "localhost:18789"),
    ),
    row(
        "loopback-ipv6",
        "local",
        {"outcome": S, "locality": Locality.DIRECT_LOCAL},
        connection=conn("::1", "[::1]:18789"),
    ),
    row(
        "loopback-127-0-0-2-localhost",
        "local",
        {"outcome": S, "locality": Locality.DIRECT_LOCAL},
        connection=conn("127.0.0.2", "LOCALHOST:18789"),
    ),
    row(
        "spoof-peer-octal-loopback",
        "not an address: remote",
        {"outcome": P, "locality": Locality.REMOTE},
        connection=conn("0177.0.0.1"),
    ),
    row(
        "spoof-backend-name-remote-device-less",
        "scopes cleared",
        {
            "outcome": A,
            "rule": "device-less-shared-secret",
            "scopes": (),
            "locality": Locality.REMOTE,
        },
        connection=conn("203.0.113.9", "gw.example"),
        request=req(identity=None, scopes=("operator.admin",)),
    ),
    row(
        "spoof-control-ui-loopback-origin-from-remote-peer",
        "origin not allowed",
        {"outcome": R, "rule": "origin-not-allowed"},
        connection=conn("203.0.113.9", "localhost:18789", origin="http://localhost:18789"),
        request=req(("openclaw-control-ui", "ui")),
    ),
    row(
        "spoof-x-forwarded-host-untrusted-with-allowed-origin",
        "origin not allowed",
        {"outcome": R, "rule": "origin-not-allowed", "details_reason": "origin not allowed"},
        connection=conn(
            "203.0.113.9", "gw.example", origin="https://gw.example", x_forwarded_host="gw.example"
        ),
        auth=gw(allowed_origins=("https://gw.example",)),
        request=req(("openclaw-control-ui", "ui")),
    ),
    row(
        "spoof-non-ui-client-with-loopback-origin",
        "origin allowed (local loopback) but no silent pairing with a browser Origin",
        {"outcome": P, "rule": "pairing-required-remote", "locality": Locality.REMOTE},
        connection=conn(origin="http://localhost:3000"),
        request=req(("test", "test")),
    ),
    # ---- nodes and CIDR auto-approval ------------------------------------------------------
    row(
        "cidr-fresh-node-no-scopes",
        "n/a in 4.1 (autoApproveCidrs is later)",
        {
            "outcome": S,
            "rule": "silent-cidr-node-pairing",
            "reason": PairingReason.NOT_PAIRED,
            "locality": Locality.REMOTE,
        },
        connection=conn("10.0.0.5", "10.0.0.1:18789"),
        auth=gw(auto_approve_cidrs=("10.0.0.0/8",)),
        request=req(("node-host", "node"), role="node", scopes=()),
    ),
    row(
        "cidr-node-with-scopes",
        "PAIRING_REQUIRED",
        {"outcome": P, "rule": "pairing-required-remote"},
        connection=conn("10.0.0.5", "10.0.0.1:18789"),
        auth=gw(auto_approve_cidrs=("10.0.0.0/8",)),
        request=req(("node-host", "node"), role="node", scopes=("node.camera",)),
    ),
    row(
        "cidr-operator",
        "PAIRING_REQUIRED",
        {"outcome": P, "rule": "pairing-required-remote"},
        connection=conn("10.0.0.5", "10.0.0.1:18789"),
        auth=gw(auto_approve_cidrs=("10.0.0.0/8",)),
    ),
    row(
        "cidr-node-via-forwarding-headers",
        "PAIRING_REQUIRED (not directly attributable)",
        {"outcome": P, "rule": "pairing-required-remote"},
        connection=conn("10.0.0.5", "10.0.0.1:18789", x_forwarded_for="10.0.0.6"),
        auth=gw(auto_approve_cidrs=("10.0.0.0/8",)),
        request=req(("node-host", "node"), role="node", scopes=()),
    ),
    row(
        "local-fresh-node",
        "silent pairing",
        {"outcome": S, "rule": "silent-local-pairing", "reason": PairingReason.NOT_PAIRED},
        request=req(("node-host", "node"), role="node", scopes=()),
    ),
    # ---- trusted-proxy mode and container classes -----------------------------------------------
    row(
        "trusted-proxy-mode-with-token-refused",
        "config rejected",
        {"outcome": R, "rule": "trusted-proxy-misconfigured"},
        auth=gw("trusted-proxy", token=TOKEN, trusted_proxies=("127.0.0.1",)),
    ),
    row(
        "trusted-proxy-mode-untrusted-peer",
        "unauthorized",
        {"outcome": R, "rule": "trusted-proxy-failed"},
        connection=conn("203.0.113.9", "gw.example", proxy_user="alice"),
        auth=gw("trusted-proxy", trusted_proxies=("10.0.0.2",)),
        request=req(token=None),
    ),
    row(
        "trusted-proxy-mode-no-user-header",
        "fail closed",
        {"outcome": R, "rule": "trusted-proxy-failed"},
        connection=conn("10.0.0.2", "gw.example", x_forwarded_for="203.0.113.9"),
        auth=gw("trusted-proxy", trusted_proxies=("10.0.0.2",)),
        request=req(token=None),
    ),
    row(
        "browser-container-local",
        "n/a in 4.1 (post-#69431 class)",
        {"outcome": S, "locality": Locality.BROWSER_CONTAINER_LOCAL},
        connection=conn("172.17.0.1", "localhost:18789", origin="http://localhost:18789"),
        auth=gw(allowed_origins=("http://localhost:18789",)),
        request=req(("openclaw-control-ui", "ui"), scopes=READ),
    ),
    row(
        "cli-container-local",
        "n/a in 4.1 (post-#69431 class)",
        {"outcome": S, "locality": Locality.CLI_CONTAINER_LOCAL},
        connection=conn("127.0.0.1", "172.17.0.2:18789"),
        request=req(("cli", "cli"), scopes=ALL_CLI_SCOPES),
    ),
    row(
        "shared-secret-loopback-local-needs-the-secret",
        "n/a",
        {"outcome": A, "rule": "paired-device", "locality": Locality.REMOTE},
        connection=conn("127.0.0.1", "172.17.0.2:18789"),
        paired=rec(READ, tokens=(tok(),)),
        request=req(("test", "test"), scopes=READ, token=None, device_token="device-token-1"),
    ),
]


def test_table_is_big_enough_and_ids_unique() -> None:
    ids = [r.id for r in ROWS]
    assert len(ids) >= 60
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("case", ROWS, ids=[r.id for r in ROWS])
def test_scenario(case: Row) -> None:
    inputs = dict(case.inputs)
    inputs.setdefault("now_ms", NOW)
    decision = decide_pairing(**inputs)
    expect = case.expect
    got: dict[str, Any] = {
        "outcome": decision.outcome,
        "rule": decision.rule,
        "reason": decision.pairing_reason,
        "code": decision.error_details.get("code"),
        "details_reason": decision.error_details.get("reason"),
        "scopes": decision.scopes,
        "locality": decision.locality,
        "device_token": decision.issue_device_token,
        "auth_method": decision.auth_method,
        "error_code": decision.error_code,
        "error_message": decision.error_message,
        "close_code": decision.close_code,
        "close_reason": decision.close_reason,
        "request_id": decision.pending_request.request_id if decision.pending_request else None,
        "pending_scopes": decision.pending_request.scopes if decision.pending_request else None,
    }
    mismatches = {k: (v, got[k]) for k, v in expect.items() if got[k] != v}
    assert not mismatches, f"{case.id}: expected vs got {mismatches}; note={decision.note}"
    # Invariants every row must satisfy whatever its outcome.
    if decision.outcome in {Outcome.PAIRING_REQUIRED, Outcome.REJECT}:
        assert decision.close_code == 1008
        assert decision.close_reason
        assert len(decision.close_reason.encode()) <= 123
        assert not decision.scopes
    if decision.outcome is Outcome.PAIRING_REQUIRED:
        assert decision.pending_request is not None
        assert decision.error_details["requestId"] == decision.pending_request.request_id
        assert (decision.close_reason or "").startswith("pairing required")
    if decision.outcome is Outcome.ACCEPT_AFTER_SILENT_PAIRING:
        assert decision.paired_record is not None
        assert set(decision.scopes) <= set(decision.paired_record.approved_scopes or ())
        assert decision.role in decision.paired_record.roles


def test_seed_case_record_and_reply_in_detail() -> None:
    """The #59882 seed: the approval client is upgraded, never locked out."""
    decision = decide_pairing(
        connection=conn(), auth=gw(), request=req(), paired=rec(READ), now_ms=NOW
    )
    assert decision.paired_record is not None
    assert decision.paired_record.approved_scopes == ("operator.approvals", "operator.read")
    assert decision.paired_record.roles == ("operator",)
    assert decision.paired_record.approved_at_ms == NOW
    assert decision.device_token_scopes == ("operator.approvals", "operator.read")
    assert decision.close_code is None
    assert decision.error_code is None


def test_pairing_required_reply_matches_openclaw_shape() -> None:
    decision = decide_pairing(
        connection=conn("203.0.113.9", "gw.example"),
        auth=gw(),
        request=req(),
        paired=rec(READ),
        now_ms=NOW,
        request_id="req-1",
    )
    assert decision.error_code == "NOT_PAIRED"
    assert decision.error_message == (
        "pairing required: device is asking for more scopes than currently approved"
    )
    assert decision.close_reason == (
        "pairing required: device is asking for more scopes than currently approved "
        "(requestId: req-1)"
    )
    assert decision.error_details == {
        "code": "PAIRING_REQUIRED",
        "reason": "scope-upgrade",
        "requestId": "req-1",
        "remediationHint": "Review the requested scopes, then approve the pending upgrade.",
        "deviceId": HOST_ID.device_id,
        "requestedRole": "operator",
        "requestedScopes": ["operator.approvals"],
        "approvedRoles": ["operator"],
        "approvedScopes": ["operator.read"],
    }
    pending = decision.pending_request
    assert pending is not None
    assert pending.is_repair
    assert pending.remote_ip == "203.0.113.9"


def test_long_close_reason_keeps_the_request_id() -> None:
    request_id = "123e4567-e89b-12d3-a456-426614174000"
    decision = decide_pairing(
        connection=conn("203.0.113.9", "gw.example"),
        auth=gw(),
        request=req(("node-host", "node"), role="node", scopes=()),
        paired=rec(READ),
        now_ms=NOW,
        request_id=request_id,
    )
    assert decision.close_reason == f"pairing required (requestId: {request_id})"


def test_default_request_id_is_deterministic_and_uuid_shaped() -> None:
    kwargs: dict[str, Any] = {
        "connection": conn("203.0.113.9", "gw.example"),
        "auth": gw(),
        "request": req(),
        "now_ms": NOW,
    }
    first = decide_pairing(**kwargs).pending_request
    second = decide_pairing(**kwargs).pending_request
    assert first is not None
    assert second is not None
    assert first.request_id == second.request_id
    assert len(first.request_id) == 36
    assert first.request_id[14] == "4"
