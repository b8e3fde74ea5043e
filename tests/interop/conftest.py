"""
Fixtures that run a real OpenClaw gateway (2026.4.1 and 2026.9.6) and this library's
gateway kit on 127.0.0.1.

One gateway per version for the whole session (2026.9.6 takes 5-30 s to start on a busy
2-core machine); tests keep out of each other's way by giving every client its own device
identity. Absent Node 24 / OpenClaw: skipped with the reason locally, a failure with CI=true.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from _oracle import find_openclaw, skip_or_fail

from ._gateway import GatewayStartError, RunningGateway, start_gateway
from ._kit import KitGateway, running_kit

if TYPE_CHECKING:
    from collections.abc import Iterator

VERSIONS = ("2026.4.1", "2026.9.6")


def _gateway(version: str, factory: pytest.TempPathFactory) -> Iterator[RunningGateway]:
    install = find_openclaw(version)
    if install is None:
        skip_or_fail(f"Node 24 + OpenClaw {version}")
    assert install is not None
    try:
        gateway = start_gateway(install, factory.mktemp(f"openclaw-{version}"))
    except GatewayStartError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield gateway
    finally:
        gateway.stop()


@pytest.fixture(scope="session")
def gateway41(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningGateway]:
    """A real OpenClaw 2026.4.1 gateway (the #59882 release), token auth, loopback."""
    yield from _gateway("2026.4.1", tmp_path_factory)


@pytest.fixture(scope="session")
def gateway96(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningGateway]:
    """A real OpenClaw 2026.9.6 gateway, token auth, loopback."""
    yield from _gateway("2026.9.6", tmp_path_factory)


@pytest.fixture(scope="session")
def kit_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KitGateway]:
    """This library's gateway kit on loopback (token auth, file pairing store)."""
    with running_kit(tmp_path_factory.mktemp("kit")) as kit:
        yield kit


_FIXTURES = {"2026.4.1": "gateway41", "2026.9.6": "gateway96", "kit": "kit_gateway"}


@pytest.fixture(params=VERSIONS)
def openclaw_gateway(request: pytest.FixtureRequest) -> RunningGateway:
    """Each real OpenClaw gateway in turn."""
    result: RunningGateway = request.getfixturevalue(_FIXTURES[request.param])
    return result


@pytest.fixture(params=[*VERSIONS, "kit"])
def gateway(request: pytest.FixtureRequest) -> RunningGateway | KitGateway:
    """Each real OpenClaw gateway, then this library's gateway kit: same client, same tests."""
    result: RunningGateway | KitGateway = request.getfixturevalue(_FIXTURES[request.param])
    return result
