"""
A gateway replica in its own process: ``python _replica.py URL PREFIX MODE ID``.

Modes (each prints one line per step, flushed, so the test can follow along):

``register``  register a request under ID (with a route), print ``registered``, then wait
              for the decision and print ``decision <value>`` (the test usually kills it first).
``consume``   print ``waiting``, wait for the decision of ID, print ``decision <value>``, then
              consume it for the request's binding and print ``consume <outcome>``.
"""

from __future__ import annotations

import sys

import anyio

from openclaw_exec.adapters.redis import RedisApprovalStore
from openclaw_exec.protocol import ApprovalRequest, ExecBinding


def say(text: str) -> None:
    """One line to the test."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


async def main(*argv: str) -> None:
    """Run one replica scenario."""
    url, prefix, mode, approval_id = argv
    async with RedisApprovalStore(url, prefix=prefix) as store:
        if mode == "register":
            now = store.now_ms()
            request = ApprovalRequest(
                id=approval_id,
                command="make deploy",
                created_at_ms=now,
                expires_at_ms=now + 60_000,
                binding=ExecBinding(argv=("make", "deploy")),
            )
            result = await store.register(request, has_route=True)
            say(result.outcome.value)
            record = await store.wait_decision(approval_id)
            say(f"decision {None if record is None else record.decision}")
        elif mode == "consume":
            say("waiting")
            record = await store.wait_decision(approval_id)
            say(f"decision {None if record is None else record.decision}")
            if record is not None:
                result = await store.consume(approval_id, record.request.binding)
                say(f"consume {result.outcome.value}")
        else:
            say(f"unknown mode {mode}")


if __name__ == "__main__":
    anyio.run(main, *sys.argv[1:5])
