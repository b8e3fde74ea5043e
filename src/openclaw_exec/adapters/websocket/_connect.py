"""
The gateway kit's reading of the first frame: ``connect.params`` checked, or a refusal.

Pure: a JSON value in, ``(problem, request, protocol)`` out, where *problem* is the message,
close code and details the kit sends before closing (OpenClaw's texts), *request* the
:class:`~openclaw_exec.pairing.ConnectRequest` handed to ``decide_pairing`` and *protocol*
the highest protocol both sides speak.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from openclaw_exec.exceptions import PairingError
from openclaw_exec.pairing import ConnectRequest, DeviceProof

__all__ = ["SUPPORTED_PROTOCOLS", "parse_connect_params"]

SUPPORTED_PROTOCOLS = (3, 4)


def _error_frame(
    frame_id: str, code: str, message: str, details: dict[str, Any] | None = None
) -> str:
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return json.dumps({"type": "res", "id": frame_id, "ok": False, "error": error})


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def parse_connect_params(
    params: object, *, supported: Sequence[int] = SUPPORTED_PROTOCOLS
) -> tuple[tuple[str, int, dict[str, Any]] | None, ConnectRequest | None, int | None]:
    """
    Validate ``connect.params``: (problem, request, negotiated protocol).

    A client whose ``minProtocol..maxProtocol`` misses every *supported* protocol is told
    both ranges and what to do (close 1002 as OpenClaw, but never a bare "protocol
    mismatch": upstream #83078).
    """
    if not isinstance(params, dict):
        return ("invalid connect params: expected an object", 1008, {}), None, None
    low, high = params.get("minProtocol"), params.get("maxProtocol")
    if (
        not isinstance(low, int)
        or not isinstance(high, int)
        or isinstance(low, bool)
        or isinstance(high, bool)
    ):
        return (
            ("invalid connect params: minProtocol/maxProtocol must be integers", 1008, {}),
            None,
            None,
        )
    common = [p for p in supported if low <= p <= high]
    if not common:
        lowest, highest = min(supported), max(supported)
        details = {
            "code": "PROTOCOL_MISMATCH",
            "clientMinProtocol": low,
            "clientMaxProtocol": high,
            "expectedProtocol": highest,
            "minProtocol": lowest,
            "maxProtocol": highest,
        }
        message = (
            f"protocol mismatch: this gateway speaks protocol {lowest}..{highest}, the client "
            f"offered {low}..{high}; "
            + (
                f"upgrade the client to one that offers protocol {highest}"
                if high < lowest
                else f"offer a range that includes {highest}"
            )
        )
        return (message, 1002, details), None, None
    client = params.get("client")
    if not isinstance(client, dict):
        return ("invalid connect params: client is required", 1008, {}), None, None
    client_id, mode = client.get("id"), client.get("mode")
    if not isinstance(client_id, str) or not client_id or not isinstance(mode, str) or not mode:
        return (
            ("invalid connect params: client.id and client.mode are required", 1008, {}),
            None,
            None,
        )
    scopes = params.get("scopes", [])
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        return ("invalid connect params: scopes must be strings", 1008, {}), None, None
    raw_auth = params.get("auth")
    auth: dict[str, Any] = raw_auth if isinstance(raw_auth, dict) else {}
    device_raw = params.get("device")
    device = None
    if device_raw is not None:
        try:
            if not isinstance(device_raw, dict):
                raise TypeError("device must be an object")  # noqa: TRY301
            fields: dict[str, Any] = {
                "id": device_raw.get("id"),
                "public_key": device_raw.get("publicKey"),
                "signature": device_raw.get("signature"),
                "signed_at_ms": device_raw.get("signedAt"),
                "nonce": device_raw.get("nonce"),
            }
            device = DeviceProof(**fields)
        except (TypeError, ValueError, PairingError) as exc:
            return (f"invalid connect params: device: {exc}", 1008, {}), None, None
    try:
        request = ConnectRequest(
            client_id=client_id,
            client_mode=mode,
            role=_opt_str(params.get("role")),
            scopes=tuple(scopes),
            platform=_opt_str(client.get("platform")),
            device_family=_opt_str(client.get("deviceFamily")),
            display_name=_opt_str(client.get("displayName")),
            token=_opt_str(auth.get("token")),
            password=_opt_str(auth.get("password")),
            bootstrap_token=_opt_str(auth.get("bootstrapToken")),
            device_token=_opt_str(auth.get("deviceToken")),
            approval_runtime_token=_opt_str(auth.get("approvalRuntimeToken")),
            device=device,
        )
    except (TypeError, ValueError, PairingError) as exc:
        return (f"invalid connect params: {exc}", 1008, {}), None, None
    return None, request, max(common)
