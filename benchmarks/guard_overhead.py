"""
What ``guarded_run`` adds to spawning the same command: the guard's overhead.

    python benchmarks/guard_overhead.py [--runs 300] [--backend asyncio|trio]
        [--fsync batch,always,never] [--breakdown-runs 100]

An allowlisted command (``true``, allowlisted by its real path in an approvals file on
disk, security ``allowlist``, ask ``off``) is run through ``guarded_run`` with the
approvals file and the audit log on (each ``fsync`` mode of ``AuditLog``: ``batch``, the
default, then ``always`` and ``never``), and, alternately in the same run, spawned
directly with ``anyio.run_process`` exactly as ``guarded_run`` starts it
(``/bin/sh -c true``, the same cwd, environment and ``/dev/null`` stdin). Prints the p50
and p90 of both, their ratio (the goal is at most 1.10), ``authorize`` alone, and the
same command through ``guarded_run``'s own way of starting a process (``spawn``), so
the decision's cost and the start's saving can be told apart.

Then, per mode, a shorter pass with a timer around each phase of ``guarded_run`` (the
cwd, the environment, the approvals file, the policy, the analysis, the verdict, the
use stamp, the audit record, the start): the p50 of each, and what is left between
them (the flow itself: the checkpoint, the outcome, the answer).
"""

from __future__ import annotations

import argparse
import collections
import functools
import importlib
import inspect
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
from _figures import figure

from openclaw_exec.audit import AuditLog, FsyncMode
from openclaw_exec.guard import ExecGuard, exec_environment
from openclaw_exec.integrations import guarded_run

try:  # guarded_run's own start (this tree); older trees start with anyio.run_process
    from openclaw_exec.integrations._spawn import spawn as _own_spawn
except ImportError:  # pragma: no cover - an older tree
    _own_spawn = None  # type: ignore[assignment]
spawn: Any = _own_spawn

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
        out: dict[str, list[float]] = {"spawn": [], "guarded": [], "authorize": [], "own": []}
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
            if spawn is not None:
                await spawn((SHELL, "-c", command), cwd=cwd, env=env)
            t4 = time.perf_counter()
            if done.returncode != 0 or result.returncode != 0:
                raise SystemExit(f"the command failed: {result.authorization.message}")
            out["spawn"].append((t1 - t0) * 1e3)
            out["guarded"].append((t2 - t1) * 1e3)
            out["authorize"].append((t3 - t2) * 1e3)
            if spawn is not None:
                out["own"].append((t4 - t3) * 1e3)
        return out


# The phases of guarded_run timed in the breakdown pass: (module, attribute, label). Each is
# looked up where guarded_run's code calls it; a name a tree does not have is skipped.
_PHASES = (
    ("openclaw_exec.integrations._run", "checked_cwd", "cwd resolved (guarded_run)"),
    ("openclaw_exec.guard", "checked_cwd", "cwd resolved (the guard)"),
    ("openclaw_exec.integrations._run", "exec_environment", "host environment scrubbed"),
    ("openclaw_exec._guard_checking._Checking", "_load_file", "approvals file read"),
    ("openclaw_exec._guard_checking._Checking", "_resolve", "policy resolved"),
    ("openclaw_exec._guard_checking", "evaluate_command", "command analysed"),
    ("openclaw_exec._guard_checking", "decide_verdict", "verdict"),
    ("openclaw_exec.guard", "record_uses", "use stamp (skipped when recent)"),
    ("openclaw_exec.audit._log.AuditLog", "append", "audit record appended"),
    ("openclaw_exec._guard_effects", "_segment_summary", "audit fields gathered (part)"),
    ("openclaw_exec.integrations._run", "spawn", "process started and collected"),
)


def _target(path: str) -> Any:
    """The module or class *path* names (``package.module.Class``)."""
    parts = path.split(".")
    found: Any = importlib.import_module(parts[0])
    for i in range(1, len(parts)):
        name = ".".join(parts[: i + 1])
        try:
            found = importlib.import_module(name)
        except ImportError:
            found = getattr(found, parts[i])
    return found


def _timed(spent: dict[str, list[float]]) -> list[tuple[Any, str, Any]]:
    """Wrap each phase with a timer adding to *spent*; return what to restore."""
    restore: list[tuple[Any, str, Any]] = []
    for where, name, label in _PHASES:
        try:
            owner = _target(where)
        except (ImportError, AttributeError):
            continue
        original = getattr(owner, name, None)
        if original is None:
            continue
        if inspect.iscoroutinefunction(original):

            async def timed_async(*a: Any, _f: Any = original, _l: str = label, **k: Any) -> Any:
                t = time.perf_counter()
                try:
                    return await _f(*a, **k)
                finally:
                    spent[_l].append((time.perf_counter() - t) * 1e3)

            setattr(owner, name, timed_async)
        else:

            def timed(*a: Any, _f: Any = original, _l: str = label, **k: Any) -> Any:
                t = time.perf_counter()
                try:
                    return _f(*a, **k)
                finally:
                    spent[_l].append((time.perf_counter() - t) * 1e3)

            setattr(owner, name, timed)
        restore.append((owner, name, original))
    return restore


async def _breakdown(runs: int, command: str, *, fsync: FsyncMode) -> dict[str, float]:
    """p50 per phase of guarded_run (ms per call, summed within a call), timers on."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(os.path.realpath(tmp))  # noqa: ASYNC240 - set-up, not measured
        approvals = root / "exec-approvals.json"
        true_path = os.path.realpath(shutil.which("true") or "/bin/true")  # noqa: ASYNC240
        _write_approvals(approvals, true_path)
        guard = ExecGuard(approvals=approvals, audit=AuditLog(root / "audit.jsonl", fsync=fsync))
        cwd = str(root)
        for _ in range(10):
            await guarded_run(guard, command, cwd=cwd)
        spent: dict[str, list[float]] = collections.defaultdict(list)
        per_call: dict[str, list[float]] = collections.defaultdict(list)
        restore = _timed(spent)
        try:
            for _ in range(runs):
                spent.clear()
                t = time.perf_counter()
                await guarded_run(guard, command, cwd=cwd)
                per_call["guarded_run (timers on)"].append((time.perf_counter() - t) * 1e3)
                for label, times in spent.items():
                    per_call[label].append(sum(times))
                timed_total = sum(sum(times) for times in spent.values())
                per_call["the rest (the flow between phases)"].append(
                    per_call["guarded_run (timers on)"][-1] - timed_total
                )
        finally:
            for owner, name, original in restore:
                setattr(owner, name, original)
        return {label: statistics.median(v) for label, v in per_call.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--backend", default="asyncio", choices=("asyncio", "trio"))
    parser.add_argument("--command", default="true")
    parser.add_argument(
        "--breakdown-runs", type=int, default=100, help="runs of the timed pass (0: none)"
    )
    parser.add_argument(
        "--fsync",
        default=",".join(FSYNC_MODES_MEASURED),
        help="the audit log's fsync modes measured, comma-separated (default: all three)",
    )
    args = parser.parse_args()
    asked = {m for m in args.fsync.split(",") if m}
    modes: list[FsyncMode] = [m for m in FSYNC_MODES_MEASURED if m in asked]
    if not asked or len(modes) != len(asked):
        parser.error(f"--fsync: a comma-separated subset of {','.join(FSYNC_MODES_MEASURED)}")
    print(f"command: {args.command!r}, {args.runs} runs of each, alternating, {args.backend}")
    for fsync in modes:
        figures = anyio.run(
            functools.partial(_measure, args.runs, args.command, fsync=fsync),
            backend=args.backend,
        )
        spawn = statistics.median(figures["spawn"])
        guarded = statistics.median(figures["guarded"])
        print(f"audit log fsync={fsync!r}{' (the default)' if fsync == 'batch' else ''}:")
        names = {
            "spawn": "anyio.run_process",
            "guarded": "guarded_run",
            "authorize": "authorize",
            "own": "spawn (guarded_run's start, alone)",
        }
        for label, title in names.items():
            samples = figures[label]
            if not samples:
                continue
            print(
                f"{title:>36}: p50 {statistics.median(samples):7.3f} ms   "
                f"p90 {_pct(samples, 0.9):7.3f} ms"
            )
        print(f"guarded_run / anyio.run_process (p50): {guarded / spawn:.3f} (goal <= 1.10)")
        if figures["own"]:
            own = statistics.median(figures["own"])
            print(
                f"  the start saves {spawn - own:.3f} ms; guarded_run - its start alone: "
                f"{guarded - own:.3f} ms ({(guarded - own) / spawn:.1%} of anyio.run_process)"
            )
        if args.breakdown_runs > 0:
            phases = anyio.run(
                functools.partial(_breakdown, args.breakdown_runs, args.command, fsync=fsync),
                backend=args.backend,
            )
            print(f"  phases of guarded_run, p50 per call ({args.breakdown_runs} runs, timers on):")
            for label, value in phases.items():
                print(f"    {label:>38}: {value * 1e3:8.1f} us")
        figure(
            f"guard overhead ({args.backend}): guarded_run p50, audit log fsync={fsync}",
            guarded,
            "ms",
            reference="anyio.run_process of the same command, p50",
            reference_value=spawn,
            target="ratio <= 1.10",
        )


if __name__ == "__main__":
    main()
