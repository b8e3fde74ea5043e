"""
The cost of a confined run, per sandbox backend, against a plain ``anyio.run_process``.

Run: ``python benchmarks/sandbox.py [--runs N] [--command 'TEXT']``

Each round spawns the same command (default ``sh -c 'echo hi'``) once plainly and once
through each working backend (``Backend.prepare`` + spawn + ``Confinement.cleanup``, what
:func:`openclaw_exec.guarded_run` does after authorising), alternating so that the machine's
drift hits every line alike. Printed: p50 and p90 per line and each backend's p50 ratio to
the plain spawn of the same run (the figure to compare across machines).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import anyio

from openclaw_exec.policy import Sandbox
from openclaw_exec.sandbox import Backend, default_backends

ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/nonexistent", "LANG": "C.UTF-8"}


async def _plain(argv: list[str], cwd: str) -> float:
    start = time.perf_counter()
    await anyio.run_process(argv, cwd=cwd, env=ENV, check=True)
    return time.perf_counter() - start


async def _confined(backend: Backend, argv: list[str], cwd: str) -> float:
    start = time.perf_counter()
    conf = backend.prepare(argv, spec=Sandbox(), cwd=cwd, env=ENV)
    try:
        await anyio.run_process(list(conf.argv), cwd=conf.cwd, env=dict(conf.env), check=True)
    finally:
        conf.cleanup()
    return time.perf_counter() - start


def _line(name: str, samples: list[float], plain_p50: float | None) -> str:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p90 = ordered[int(len(ordered) * 0.9) - 1]
    ratio = f"  {p50 / plain_p50:5.2f}x plain" if plain_p50 else ""
    return f"{name:<12} p50 {p50 * 1e3:7.2f} ms  p90 {p90 * 1e3:7.2f} ms{ratio}"


async def main(runs: int, command: str) -> None:
    argv = ["sh", "-c", command]
    backends = [b for b in default_backends() if b.probe().ok]
    for b in default_backends():
        probe = b.probe()
        if not probe.ok:
            print(f"{b.name:<12} unavailable: {probe.detail}")
    samples: dict[str, list[float]] = {"plain": [], **{b.name: [] for b in backends}}
    with tempfile.TemporaryDirectory() as cwd:
        for _ in range(3):  # warm-up: page cache, first exec of bwrap and python
            await _plain(argv, cwd)
            for b in backends:
                await _confined(b, argv, cwd)
        for _ in range(runs):
            samples["plain"].append(await _plain(argv, cwd))
            for b in backends:
                samples[b.name].append(await _confined(b, argv, cwd))
    plain = statistics.median(samples["plain"])
    print(f"command: {argv!r}, {runs} runs each, alternating")
    print(_line("plain", samples["plain"], None))
    for b in backends:
        print(_line(b.name, samples[b.name], plain))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--command", default="echo hi")
    args = parser.parse_args()
    anyio.run(main, args.runs, args.command)
