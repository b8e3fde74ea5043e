"""
Run every benchmark in this folder, one after another: ``python benchmarks/run_all.py``.

Each benchmark is a standalone script (run one alone with ``python benchmarks/<name>.py
--help``). Extra arguments after ``--`` are not forwarded; every script runs with its own
defaults, which are sized for a 2-core machine. Scripts that compare against OpenClaw
(analysis) or need a server (Redis) say so and skip that part when it is unavailable.
A failing script is reported and the others still run; the exit code is 1 if any failed.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    scripts = sorted(p for p in HERE.glob("*.py") if p.name != Path(__file__).name)
    failed: list[str] = []
    for script in scripts:
        print(f"\n=== {script.name}", flush=True)
        started = time.perf_counter()
        done = subprocess.run([sys.executable, str(script)], check=False)
        took = time.perf_counter() - started
        print(f"=== {script.name}: exit {done.returncode} in {took:.1f} s", flush=True)
        if done.returncode != 0:
            failed.append(script.name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
