"""
The pairing decision: who may connect to a gateway, with which role and scopes.

Pure core (no I/O, no clock, no anyio): :func:`decide_pairing` takes the connection
facts, the gateway's auth configuration, the ``connect`` request, the stored pairing
record and ``now_ms``, and returns a :class:`PairingDecision` value. Around it:
the locality classifier (:func:`classify_locality`), device proof
(:func:`verify_device_proof`, :func:`sign_device_proof`), constant-time secret
comparison, the approval-runtime credential, and the JSON/explanation edge used by
``openclaw-exec pairing explain``. See ``docs/pairing.md``.
"""

from __future__ import annotations

from openclaw_exec.pairing._decide import decide_pairing
from openclaw_exec.pairing._device import (
    DEVICE_SIGNATURE_SKEW_MS,
    DeviceIdentity,
    DeviceProofFailure,
    SignatureVerifier,
    build_device_auth_payload,
    decode_public_key,
    device_id_from_public_key,
    ed25519_verify,
    encode_public_key,
    generate_device_identity,
    normalize_device_metadata,
    sign_device_proof,
    verify_device_proof,
)
from openclaw_exec.pairing._explain import (
    decision_to_json,
    explain_decision,
    paired_device_to_json,
    pending_pairing_to_json,
)
from openclaw_exec.pairing._locality import (
    BROWSER_UI_CLIENT_IDS,
    classify_locality,
    is_browser_ui_client,
    resolve_client_ip,
)
from openclaw_exec.pairing._model import (
    AuthConfig,
    AuthMethod,
    AuthMode,
    ConnectionFacts,
    ConnectRequest,
    DeviceProof,
    DeviceTokenRecord,
    Locality,
    Outcome,
    PairedDevice,
    PairingDecision,
    PairingReason,
    PendingPairing,
)
from openclaw_exec.pairing._rules import PAIRING_RULES, PairingRule
from openclaw_exec.pairing._secrets import (
    APPROVAL_RUNTIME_TOKEN_CONTEXT,
    derive_approval_runtime_token,
    secrets_equal,
)
from openclaw_exec.pairing._situation import (
    ConnectSituation,
    decide_situation,
    paired_device_from_json,
    situation_from_json,
)
from openclaw_exec.pairing._values import (
    APPROVALS_SCOPE,
    KNOWN_ROLES,
    NATIVE_APP_CLIENT_IDS,
    PENDING_REQUEST_TTL_MS,
    effective_roles,
    scopes_cover,
)

__all__ = [
    "APPROVALS_SCOPE",
    "APPROVAL_RUNTIME_TOKEN_CONTEXT",
    "BROWSER_UI_CLIENT_IDS",
    "DEVICE_SIGNATURE_SKEW_MS",
    "KNOWN_ROLES",
    "NATIVE_APP_CLIENT_IDS",
    "PAIRING_RULES",
    "PENDING_REQUEST_TTL_MS",
    "AuthConfig",
    "AuthMethod",
    "AuthMode",
    "ConnectRequest",
    "ConnectSituation",
    "ConnectionFacts",
    "DeviceIdentity",
    "DeviceProof",
    "DeviceProofFailure",
    "DeviceTokenRecord",
    "Locality",
    "Outcome",
    "PairedDevice",
    "PairingDecision",
    "PairingReason",
    "PairingRule",
    "PendingPairing",
    "SignatureVerifier",
    "build_device_auth_payload",
    "classify_locality",
    "decide_pairing",
    "decide_situation",
    "decision_to_json",
    "decode_public_key",
    "derive_approval_runtime_token",
    "device_id_from_public_key",
    "ed25519_verify",
    "effective_roles",
    "encode_public_key",
    "explain_decision",
    "generate_device_identity",
    "is_browser_ui_client",
    "normalize_device_metadata",
    "paired_device_from_json",
    "paired_device_to_json",
    "pending_pairing_to_json",
    "resolve_client_ip",
    "scopes_cover",
    "secrets_equal",
    "sign_device_proof",
    "situation_from_json",
    "verify_device_proof",
]
