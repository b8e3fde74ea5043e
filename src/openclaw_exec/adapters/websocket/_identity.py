"""
A client's device identity and device tokens on disk (mode 0600, atomic writes).

The identity file has OpenClaw's own format (``~/.openclaw/identity/device.json``:
``{"version": 1, "deviceId", "publicKeyPem", "privateKeyPem", "createdAtMs"}``), so a
client can share an identity with OpenClaw's CLI or keep its own. Device tokens the gateway
issues in ``hello-ok`` are kept in a second file, per gateway URL and role, with the scopes
they were issued for.

Give each client *class* its own identity file: one identity shared by callers with
different scopes is how OpenClaw 2026.4.1 locked its exec tool out (#59882).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

import attrs

from openclaw_exec.exceptions import PairingError
from openclaw_exec.pairing import DeviceIdentity, generate_device_identity

__all__ = [
    "DeviceToken",
    "DeviceTokenFile",
    "load_or_create_identity",
    "save_identity",
]

_MAX_FILE = 1024 * 1024


def _atomic_write(path: Path, text: str) -> None:
    """Write *text* to *path* atomically with mode 0600 (folder created 0700)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    with contextlib.suppress(OSError):
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _read_json(path: Path, *, limit: int = _MAX_FILE) -> Any:
    if path.is_symlink():
        raise PairingError(f"{path}: refusing to follow a symlink")
    with path.open("rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise PairingError(f"{path}: file larger than {limit} bytes")
    try:
        return json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PairingError(f"{path}: not valid JSON ({exc})") from None


def save_identity(
    path: str | os.PathLike[str], identity: DeviceIdentity, *, now_ms: int | None = None
) -> None:
    """Write *identity* to *path* in OpenClaw's ``identity/device.json`` format (0600)."""
    document = {
        "version": 1,
        "deviceId": identity.device_id,
        "publicKeyPem": identity.public_key_pem(),
        "privateKeyPem": identity.private_key_pem(),
        "createdAtMs": int(time.time() * 1000) if now_ms is None else now_ms,
    }
    _atomic_write(Path(path), json.dumps(document, indent=2) + "\n")


def load_or_create_identity(path: str | os.PathLike[str]) -> DeviceIdentity:
    """
    Load the device identity at *path*, or generate one and save it there (mode 0600).

    Unlike OpenClaw, a file that exists but cannot be read as an identity is an error,
    never silently replaced by a new identity (a new identity means a new pairing).

    Raises:
        PairingError: The file exists but is not a valid identity, is a symlink, or is
            readable by other users.
        OSError: The file or its folder cannot be read or written.
    """
    file = Path(path)
    if not file.exists() and not file.is_symlink():
        identity = generate_device_identity()
        save_identity(file, identity)
        return identity
    document = _read_json(file)
    mode = file.stat().st_mode & 0o777
    if mode & 0o077:
        raise PairingError(
            f"{file}: identity file is accessible by others (mode {mode:o}); chmod 600 it"
        )
    if (
        not isinstance(document, dict)
        or document.get("version") != 1
        or not isinstance(document.get("privateKeyPem"), str)
    ):
        raise PairingError(
            f"{file}: not an OpenClaw device identity (version 1 with privateKeyPem)"
        )
    identity = DeviceIdentity.from_private_key_pem(document["privateKeyPem"])
    stored_id = document.get("deviceId")
    if stored_id is not None and stored_id != identity.device_id:
        raise PairingError(
            f"{file}: deviceId {stored_id!r} does not match its key ({identity.device_id})"
        )
    return identity


def _strs(value: object) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        return ()
    return tuple(str(v) for v in value)


@attrs.frozen(kw_only=True)
class DeviceToken:
    """
    A device token a gateway issued in ``hello-ok``.

    Attributes:
        token: The secret (never printed).
        role: The role it was issued for.
        scopes: The scopes it covers.
        device_id: The device it belongs to.
    """

    token: str = attrs.field(repr=False, validator=attrs.validators.instance_of(str))
    role: str = attrs.field(validator=attrs.validators.instance_of(str))
    scopes: tuple[str, ...] = attrs.field(converter=_strs)
    device_id: str = attrs.field(validator=attrs.validators.instance_of(str))


@attrs.define
class DeviceTokenFile:
    """
    Device tokens kept per gateway URL and role in one JSON file (mode 0600, atomic writes).

    Format: ``{"version": 1, "tokens": {"<url>|<role>": {"token", "role", "scopes",
    "deviceId", "updatedAtMs"}}}``. A token for another device id is ignored.
    """

    path: Path = attrs.field(converter=Path)

    def _load(self) -> dict[str, Any]:
        if not self.path.exists():
            return {"version": 1, "tokens": {}}
        document = _read_json(self.path)
        if not isinstance(document, dict) or not isinstance(document.get("tokens"), dict):
            raise PairingError(f"{self.path}: not a device token file")
        return document

    def get(self, url: str, role: str, device_id: str) -> DeviceToken | None:
        """The stored token for *url* and *role* issued to *device_id*, or ``None``."""
        entry = self._load()["tokens"].get(f"{url}|{role}")
        if not isinstance(entry, dict) or entry.get("deviceId") != device_id:
            return None
        token, scopes = entry.get("token"), entry.get("scopes")
        if not isinstance(token, str) or not token or not isinstance(scopes, list):
            return None
        return DeviceToken(token=token, role=role, scopes=_strs(scopes), device_id=device_id)

    def put(self, url: str, token: DeviceToken) -> None:
        """Store *token* for *url* (replacing any older one for that role)."""
        document = self._load()
        document["tokens"][f"{url}|{token.role}"] = {
            "token": token.token,
            "role": token.role,
            "scopes": list(token.scopes),
            "deviceId": token.device_id,
            "updatedAtMs": int(time.time() * 1000),
        }
        _atomic_write(self.path, json.dumps(document, indent=2) + "\n")

    def forget(self, url: str, role: str) -> None:
        """Drop the token for *url* and *role* (after the gateway refused it)."""
        document = self._load()
        if document["tokens"].pop(f"{url}|{role}", None) is not None:
            _atomic_write(self.path, json.dumps(document, indent=2) + "\n")
