"""
Decisions per second of ``openclaw_exec.pairing.decide_pairing``, without signature checks.

The Ed25519 verification (about 50-100 us with ``cryptography``) is replaced by an
always-true verifier so the figure measures the decision logic itself: locality,
auth, device id and nonce checks, the device branch, building the decision value.
Everything else (payload building, key decoding, the id hash) still runs.

Run: ``python benchmarks/pairing_decisions.py [--seconds 2] [--with-signatures]``.
Target: at least 200,000 decisions/s without signature checks.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import time
from collections.abc import Callable

from openclaw_exec.pairing import (
    AuthConfig,
    ConnectionFacts,
    ConnectRequest,
    DeviceIdentity,
    PairedDevice,
    decide_pairing,
    decode_public_key,
    ed25519_verify,
    sign_device_proof,
)

NOW = 1_795_611_406_443
NONCE = "3932feb9-645e-4cc1-ac1f-34725b321e9a"
TOKEN = "gateway-shared-token"
IDENTITY = DeviceIdentity.from_private_bytes(bytes(range(32)))


def _no_check(_key: bytes, _sig: bytes, _msg: bytes) -> bool:
    return True


def _request(client: tuple[str, str], scopes: tuple[str, ...], **kw: object) -> ConnectRequest:
    proof = sign_device_proof(
        IDENTITY,
        client_id=client[0],
        client_mode=client[1],
        scopes=scopes,
        signed_at_ms=NOW,
        nonce=NONCE,
        token=TOKEN,
        platform="linux",
    )
    device = kw.pop("device", proof)
    return ConnectRequest(
        client_id=client[0],
        client_mode=client[1],
        scopes=scopes,
        token=TOKEN,
        platform="linux",
        device=device,  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


def scenarios() -> list[tuple[str, dict[str, object]]]:
    auth = AuthConfig(mode="token", token=TOKEN)
    local = ConnectionFacts(peer_address="127.0.0.1", host="127.0.0.1:18789", challenge_nonce=NONCE)
    remote = ConnectionFacts(
        peer_address="203.0.113.9", host="gw.example:18789", challenge_nonce=NONCE
    )
    paired_read = PairedDevice(
        device_id=IDENTITY.device_id,
        public_key=IDENTITY.public_key,
        roles=("operator",),
        scopes=("operator.read",),
        approved_scopes=("operator.read",),
        platform="linux",
    )
    backend = ("gateway-client", "backend")
    return [
        (
            "seed: paired [read] asks [approvals], loopback -> silent upgrade",
            {
                "connection": local,
                "auth": auth,
                "request": _request(backend, ("operator.approvals",)),
                "paired": paired_read,
            },
        ),
        (
            "paired and covered -> accept",
            {
                "connection": local,
                "auth": auth,
                "request": _request(backend, ("operator.read",)),
                "paired": paired_read,
            },
        ),
        (
            "remote scope upgrade -> pairing required",
            {
                "connection": remote,
                "auth": auth,
                "request": _request(backend, ("operator.write",)),
                "paired": paired_read,
            },
        ),
        (
            "unpaired, loopback -> silent pairing",
            {
                "connection": local,
                "auth": auth,
                "request": _request(("cli", "cli"), ("operator.admin",)),
            },
        ),
        (
            "no device, shared secret -> accept without scopes",
            {
                "connection": local,
                "auth": auth,
                "request": _request(backend, ("operator.admin",), device=None),
            },
        ),
        (
            "wrong token -> reject",
            {
                "connection": local,
                "auth": AuthConfig(mode="token", token="other"),
                "request": _request(backend, ("operator.read",)),
            },
        ),
    ]


def measure(call: Callable[[], object], seconds: float) -> float:
    """
    Calls per second of CPU time used by this process.

    CPU time, not wall time: on a shared machine the wall clock also counts the time
    this process waits for a core, which says nothing about the code.
    """
    count = 0
    batch = 1000
    start = time.process_time()
    deadline = start + seconds
    while True:
        for _ in range(batch):
            call()
        count += batch
        now = time.process_time()
        if now >= deadline:
            return count / (now - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per scenario")
    parser.add_argument("--with-signatures", action="store_true", help="also time real Ed25519")
    args = parser.parse_args()
    cases = scenarios()
    verifier = ed25519_verify if args.with_signatures else _no_check
    rates = []
    for name, inputs in cases:

        def call(inputs: dict[str, object] = inputs) -> object:
            return decide_pairing(now_ms=NOW, signature_verifier=verifier, **inputs)  # type: ignore[arg-type]

        rate = measure(call, args.seconds)
        rates.append(rate)
        print(f"{rate:>12,.0f} decisions/s  {name}")
    mix = len(rates) / sum(1 / r for r in rates)
    label = "with" if args.with_signatures else "without"
    print(f"{mix:>12,.0f} decisions/s  mixed (harmonic mean), {label} signature checks (CPU time)")
    # Calibration: how fast is this machine right now? (An idle modern x86 core does a
    # 3-byte SHA-256 in about 0.3 us and an Ed25519 verify in about 50 us.)
    key = IDENTITY.public_key
    sha = measure(lambda: hashlib.sha256(b"abc").digest(), 0.3)
    raw_key = decode_public_key(key)
    signature = base64.urlsafe_b64decode(IDENTITY.sign(b"m") + "==")
    assert ed25519_verify(raw_key, signature, b"m")
    ed = measure(lambda: ed25519_verify(raw_key, signature, b"m"), 0.3)
    print(f"calibration: sha256(3 bytes) {1e6 / sha:.2f} us, Ed25519 verify {1e6 / ed:.1f} us")


if __name__ == "__main__":
    main()
