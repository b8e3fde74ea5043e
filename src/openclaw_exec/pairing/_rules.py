"""The named rules a pairing decision can come from, with their remediation."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import attrs

from openclaw_exec.pairing._model import Outcome

__all__ = ["PAIRING_RULES", "PairingRule"]


@attrs.frozen(kw_only=True)
class PairingRule:
    """
    One row of the decision table.

    Attributes:
        id: The rule id carried by :attr:`PairingDecision.rule`.
        outcome: The outcome this rule produces.
        summary: What the rule says, in one sentence.
        remediation: What an operator or client can do (``{request_id}``, ``{device_id}``
            and ``{role}`` are filled in by :func:`explain_decision`).
    """

    id: str
    outcome: Outcome
    summary: str
    remediation: str


_APPROVE = (
    "a human with operator.pairing (or the local CLI) approves it: run `openclaw devices list`, "
    "check the request, then `openclaw devices approve {request_id}`; the client then reconnects"
)

_ROWS = (
    PairingRule(
        id="invalid-role",
        outcome=Outcome.REJECT,
        summary="the role is neither operator nor node",
        remediation='send role "operator" or "node" (or omit it for operator)',
    ),
    PairingRule(
        id="origin-not-allowed",
        outcome=Outcome.REJECT,
        summary=(
            "a browser Origin (or a Control UI/webchat client) failed the origin check: it is "
            "not in gateway.controlUi.allowedOrigins and is not a loopback page on this host"
        ),
        remediation=(
            "open the Control UI from the gateway host, or add the exact origin to "
            "gateway.controlUi.allowedOrigins; non-browser clients must not send Origin"
        ),
    ),
    PairingRule(
        id="credentials-conflict",
        outcome=Outcome.REJECT,
        summary=(
            "the approval-runtime credential and a device identity were both sent; they are "
            "mutually exclusive so one cannot drag the connection onto the other's baseline"
        ),
        remediation="send the approval-runtime credential or the device identity, not both",
    ),
    PairingRule(
        id="auth-not-configured",
        outcome=Outcome.REJECT,
        summary="the gateway's auth mode needs a secret that is not configured",
        remediation="set gateway.auth.token (or gateway.auth.password) on the gateway",
    ),
    PairingRule(
        id="trusted-proxy-misconfigured",
        outcome=Outcome.REJECT,
        summary=(
            "trusted-proxy auth is configured together with a shared secret, or with no "
            "trusted proxies; the configuration is refused"
        ),
        remediation="list the proxy in gateway.trustedProxies and remove the shared token/password",
    ),
    PairingRule(
        id="auth-mismatch",
        outcome=Outcome.REJECT,
        summary="a shared secret was sent and it is wrong",
        remediation="send the gateway's current token or password",
    ),
    PairingRule(
        id="trusted-proxy-failed",
        outcome=Outcome.REJECT,
        summary=(
            "trusted-proxy auth needs a peer in gateway.trustedProxies that sends the user "
            "identity header; this connection has not"
        ),
        remediation="connect through the configured proxy (same-host callers fail closed)",
    ),
    PairingRule(
        id="approval-runtime-invalid",
        outcome=Outcome.REJECT,
        summary="an approval-runtime credential was sent and it does not verify",
        remediation=(
            "derive it again with derive_approval_runtime_token(<approvals socket token>) on "
            "both ends; the gateway must have approval_runtime_token configured"
        ),
    ),
    PairingRule(
        id="approval-runtime-remote",
        outcome=Outcome.REJECT,
        summary="the approval-runtime credential is only accepted from local connections",
        remediation="run the approval runtime on the gateway host and connect over loopback",
    ),
    PairingRule(
        id="approval-runtime-scope",
        outcome=Outcome.REJECT,
        summary="the approval-runtime credential grants role operator with operator.approvals only",
        remediation='ask for ["operator.approvals"] only, or pair a device for other scopes',
    ),
    PairingRule(
        id="control-ui-device-required",
        outcome=Outcome.REJECT,
        summary="the Control UI and webchat must send a device identity",
        remediation="open the Control UI over HTTPS or from localhost (a secure context)",
    ),
    PairingRule(
        id="device-identity-required",
        outcome=Outcome.REJECT,
        summary=(
            "no device identity and no other trust path: nodes always need one, and operators "
            "without a verified shared secret need one"
        ),
        remediation="send a signed device identity (and the shared secret)",
    ),
    PairingRule(
        id="device-proof-failed",
        outcome=Outcome.REJECT,
        summary="the device identity or its signature does not check out",
        remediation=(
            "sign the v3 payload with the challenge nonce and ts, with device.id = "
            "sha256(raw public key) in hex"
        ),
    ),
    PairingRule(
        id="device-token-mismatch",
        outcome=Outcome.REJECT,
        summary=(
            "a device token was the only credential and it is wrong, revoked, for another "
            "role, or does not cover the requested scopes"
        ),
        remediation=(
            "send the shared secret, or rotate the token: `openclaw devices rotate --device "
            "{device_id} --role {role}`"
        ),
    ),
    PairingRule(
        id="bootstrap-token-unsupported",
        outcome=Outcome.REJECT,
        summary="bootstrap tokens are not verified by this library, so they authenticate nothing",
        remediation="send the shared secret or a device token instead",
    ),
    PairingRule(
        id="auth-missing",
        outcome=Outcome.REJECT,
        summary="the gateway needs a shared secret or a device token and none was sent",
        remediation="send auth.token (or auth.password) with the connect request",
    ),
    PairingRule(
        id="approval-runtime",
        outcome=Outcome.ACCEPT,
        summary=(
            "a local connection proved the approval-runtime credential: role operator with "
            "operator.approvals at most, no device token, no pairing row"
        ),
        remediation="nothing to do",
    ),
    PairingRule(
        id="device-less-shared-secret",
        outcome=Outcome.ACCEPT,
        summary=(
            "an operator without a device identity proved the shared secret: connected, but "
            "every scope is cleared (a client's name never keeps scopes)"
        ),
        remediation=(
            "to call methods, send a device identity (paired silently on loopback) or, for "
            "exec approvals, the approval-runtime credential"
        ),
    ),
    PairingRule(
        id="control-ui-trusted-proxy",
        outcome=Outcome.ACCEPT,
        summary="the Control UI authenticated by a trusted proxy skips device pairing",
        remediation="nothing to do",
    ),
    PairingRule(
        id="paired-device",
        outcome=Outcome.ACCEPT,
        summary="a paired device with the same key asks for a role and scopes it already has",
        remediation="nothing to do",
    ),
    PairingRule(
        id="silent-local-pairing",
        outcome=Outcome.ACCEPT_AFTER_SILENT_PAIRING,
        summary=(
            "a local connection with a verified shared secret is paired or upgraded without a "
            "human (gateway.nodes.pairing.autoApproveLocal is on)"
        ),
        remediation="nothing to do; store the paired record, then send hello-ok",
    ),
    PairingRule(
        id="silent-cidr-node-pairing",
        outcome=Outcome.ACCEPT_AFTER_SILENT_PAIRING,
        summary=(
            "a fresh node without scopes, connecting directly from a range in "
            "gateway.nodes.pairing.autoApproveCidrs, is paired without a human"
        ),
        remediation="nothing to do; store the paired record, then send hello-ok",
    ),
    PairingRule(
        id="pairing-required-remote",
        outcome=Outcome.PAIRING_REQUIRED,
        summary="the connection is remote, and remote devices are never paired silently",
        remediation=_APPROVE,
    ),
    PairingRule(
        id="pairing-required-no-secret",
        outcome=Outcome.PAIRING_REQUIRED,
        summary=(
            "local, but no shared secret was verified (auth mode none, or a device token "
            "only), and locality alone never pairs a device"
        ),
        remediation=_APPROVE + "; or connect with the shared secret",
    ),
    PairingRule(
        id="pairing-required-auto-approve-off",
        outcome=Outcome.PAIRING_REQUIRED,
        summary="gateway.nodes.pairing.autoApproveLocal is off, so a human approves every pairing",
        remediation=_APPROVE,
    ),
    PairingRule(
        id="pairing-required-node-upgrade",
        outcome=Outcome.PAIRING_REQUIRED,
        summary="a paired node, or a device asking to become one, is never upgraded silently",
        remediation=_APPROVE,
    ),
    PairingRule(
        id="pairing-required-metadata",
        outcome=Outcome.PAIRING_REQUIRED,
        summary=(
            "the pinned platform or device family changed; that is silent only for native "
            "apps on direct loopback and for container/shared-secret loopback clients"
        ),
        remediation=_APPROVE,
    ),
)

PAIRING_RULES: Mapping[str, PairingRule] = MappingProxyType({row.id: row for row in _ROWS})
"""Every rule by id, in decision-table order."""
