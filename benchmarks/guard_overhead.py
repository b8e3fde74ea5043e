"""
What ``guarded_run`` adds to spawning the same command: the guard's overhead.

    python benchmarks/guard_overhead.py [--runs 300] [--backend asyncio|trio]

An allowlisted command (``true``, allowlisted by its real path in an approvals file on
disk, security ``allowlist``, ask ``off``) is run through ``guarded_run`` with the
approvals file and the audit log on (each ``fsync`` mode of ``AuditLog``: ``batch``, the
default, then ``always`` and ``never``), and, alternately in the same run, spawned
directly with ``anyio.run_process`` exactly as ``guarded_run`` starts it
(``/bin/sh -c true``, the same cwd, environment and ``/dev/null`` stdin). Prints the p50
and p90 of both, their ratio (the goal is at most 1.10), and the guard's own phases
(``authorize`` alone, evaluation alone) for the breakdown.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import anyio
from _figures import figure

from openclaw_exec.audit import AuditLog, FsyncMode
from openclaw_exec.guard import ExecGuard, exec_environment
from openclaw_exec.integrations import guarded_run

SHELL = "/bin/sh"
FSYNC_MODES_MEASURED: tuple[FsyncMode, ...] = ("batch", "always", "never")


def _write_approvals(path: Path, true_path: str) -> None:
    document = {
        "version": 1,
        "defaults": {"security": "allowlist", "ask": "off", "askFallback": "deny"},
        "agents": {
            "*": {"allowlist": [{"pattern": f"/opt/tool{i}/bin/*"} for i in range(20)]},
            "main": {"allowlist": [{"pattern": true_path}, {"pattern": "/usr/bin/git"}]},
        },
    }
    path.write_text(json.dumps(document, indent=2))
    path.chmod(0o600)


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


async def _measure(runs: int, command: str, *, fsync: FsyncMode) -> dict[str, list[float]]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(os.path.realpath(tmp))  # noqa: ASYNC240 - set-up, not measured
        approvals = root / "exec-approvals.json"
        true_path = os.path.realpath(shutil.which("true") or "/bin/true")  # noqa: ASYNC240
        _write_approvals(approvals, true_path)
        audit = AuditLog(root / "audit.jsonl", fsync=fsync)
        guard = ExecGuard(approvals=approvals, audit=audit)
        cwd = str(root)
        env = exec_environment(None).env
        out: dict[str, list[float]] = {"spawn": [], "guarded": [], "authorize": []}
        for _ in range(10):  # warm up both paths (imports, first compile, page cache)
            await guarded_run(guard, command, cwd=cwd)
            await anyio.run_process(
                [SHELL, "-c", command], cwd=cwd, env=env, check=False, stdin=subprocess.DEVNULL
            )
        for _ in range(runs):
            t0 = time.perf_counter()
            done = await anyio.run_process(
                [SHELL, "-c", command], cwd=cwd, env=env, check=False, stdin=subprocess.DEVNULL
            )
            t1 = time.perf_counter()
            result = await guarded_run(guard, command, cwd=cwd)
            t2 = time.perf_counter()
            await guard.authorize(command, cwd=cwd)
            t3 = time.perf_counter()
            if done.returncode != 0 or result.returncode != 0:
                raise SystemExit(f"the command failed: {result.authorization.message}")
            out["spawn"].append((t1 - t0) * 1e3)
            out["guarded"].append((t2 - t1) * 1e3)
            out["authorize"].append((t3 - t2) * 1e3)
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--backend", default="asyncio", choices=("asyncio", "trio"))
    parser.add_argument("--command", default="true")
    args = parser.parse_args()
    print(f"command: {args.command!r}, {args.runs} runs of each, alternating, {args.backend}")
    for fsync in FSYNC_MODES_MEASURED:
        figures = anyio.run(
            functools.partial(_measure, args.runs, args.command, fsync=fsync),
            backend=args.backend,
        )
        spawn = statistics.median(figures["spawn"])
        guarded = statistics.median(figures["guarded"])
        print(f"audit log fsync={fsync!r}{' (the default)' if fsync == 'batch' else ''}:")
        for label in ("spawn", "guarded", "authorize"):
            samples = figures[label]
            print(
                f"{label:>10}: p50 {statistics.median(samples):7.3f} ms   "
                f"p90 {_pct(samples, 0.9):7.3f} ms"
            )
        print(f"guarded_run / anyio.run_process (p50): {guarded / spawn:.3f} (goal <= 1.10)")
        figure(
            f"guard overhead: guarded_run p50, audit log fsync={fsync}",
            guarded,
            "ms",
            reference="anyio.run_process of the same command, p50",
            reference_value=spawn,
            target="ratio <= 1.10",
        )


if __name__ == "__main__":
    main()
