"""This library's gateway kit, served on 127.0.0.1 from a background thread for the same tests."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import anyio.from_thread
import attrs

from openclaw_exec.adapters.websocket import FilePairingStore, GatewayKit, GatewayKitConfig
from openclaw_exec.pairing import AuthConfig

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

__all__ = ["KitGateway", "running_kit"]

TOKEN = "kit-test-token-0123456789"


@attrs.frozen(kw_only=True)
class KitGateway:
    """A running :class:`GatewayKit` (what the shared tests need of a gateway)."""

    kit: GatewayKit
    port: int
    token: str = TOKEN

    @property
    def version(self) -> str:
        """The ``server.version`` it announces."""
        return self.kit.config.server_version

    @property
    def url(self) -> str:
        """``ws://127.0.0.1:<port>``."""
        return f"ws://127.0.0.1:{self.port}"


@contextlib.contextmanager
def running_kit(folder: Path, **config: object) -> Iterator[KitGateway]:
    """Serve a kit with token auth and a file pairing store under *folder* until exit."""
    kit = GatewayKit(
        GatewayKitConfig(auth=AuthConfig(mode="token", token=TOKEN), **config),  # type: ignore[arg-type]
        store=FilePairingStore(folder / "pairing"),
        approvals_file=folder / "exec-approvals.json",  # exec.approvals.get/set
    )
    with anyio.from_thread.start_blocking_portal() as portal:
        future, port = portal.start_task(kit.serve)
        try:
            yield KitGateway(kit=kit, port=port)
        finally:
            future.cancel()
