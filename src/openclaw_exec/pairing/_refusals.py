"""How a refused ``connect`` is worded: the reject decision, close reasons, auth hints."""

from __future__ import annotations

from typing import Any

from openclaw_exec.pairing._device import (
    DeviceProofFailure,
)
from openclaw_exec.pairing._locality import (
    is_browser_ui_client,
)
from openclaw_exec.pairing._model import (
    _O_REJECT,
    AuthMethod,
    Locality,
    PairingDecision,
    _refuse_unchecked,
)

_CLOSE_POLICY = 1008

__all__: list[str] = []  # helpers of decide_pairing; nothing public here


_CLOSE_REASON_MAX_BYTES = 123


def _fits_close_reason(text: str) -> bool:
    """Whether *text* is at most 123 bytes of UTF-8 (ASCII text: one byte a character)."""
    if text.isascii():
        return len(text) <= _CLOSE_REASON_MAX_BYTES
    return len(text.encode("utf-8", "surrogatepass")) <= _CLOSE_REASON_MAX_BYTES


def _close_reason(text: str) -> str:
    if text.isascii() and len(text) <= _CLOSE_REASON_MAX_BYTES:
        return text
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= _CLOSE_REASON_MAX_BYTES:
        return text
    return data[:_CLOSE_REASON_MAX_BYTES].decode("utf-8", "ignore")


def _reject(
    rule: str,
    note: str,
    *,
    message: str,
    details: dict[str, Any],
    error_code: str = "INVALID_REQUEST",
    locality: Locality = Locality.REMOTE,
    auth_method: AuthMethod | None = None,
    role: str | None = None,
) -> PairingDecision:
    return _refuse_unchecked(
        _O_REJECT,
        rule,
        note,
        locality,
        auth_method,
        role,
        None,
        None,
        _CLOSE_POLICY,
        _close_reason(message),
        error_code,
        message,
        details,
    )


def _client_hints(client_id: str, client_mode: str) -> tuple[str, str]:
    """OpenClaw's token and password hints for ``unauthorized: …`` messages."""
    if client_id == "cli" or client_mode == "cli":
        return (
            "set gateway.remote.token to match gateway.auth.token",
            "set gateway.remote.password to match gateway.auth.password",
        )
    if is_browser_ui_client(client_id, client_mode):
        return (
            "open the dashboard URL and paste the token in Control UI settings",
            "enter the password in Control UI settings",
        )
    return ("provide gateway auth token", "provide gateway auth password")


def _device_reject(
    failure: DeviceProofFailure, locality: Locality, method: AuthMethod | None, role: str
) -> PairingDecision:
    return _reject(
        "device-proof-failed",
        f"device proof failed: {failure.reason}",
        message=failure.message,
        details={"code": failure.detail_code, "reason": failure.reason},
        locality=locality,
        auth_method=method,
        role=role,
    )
