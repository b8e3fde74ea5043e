"""
Throughput and latency of ``evaluate_command`` against a 50-entry allowlist.

    python benchmarks/analysis.py [--seconds 2]

Prints evaluations per second with cold caches (no ResolutionCache: every PATH lookup
asks the filesystem) and warm caches (a shared ResolutionCache), the p50/p99 latency of
single evaluations, and the ratio to OpenClaw 2026.4.1's ``evaluateShellAllowlist`` run on
the same mix in the same run (through Node 24; skipped with a message when absent; install
with ``scripts/setup-openclaw.sh``). No parse cache is used anywhere.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from openclaw_exec.analysis import ResolutionCache, compile_allowlist, evaluate_command
from openclaw_exec.policy import AllowlistEntry

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / ".cache" / "openclaw"

ROUNDS = 5
MIX = [
    "ls -la",
    "git status",
    "git diff --stat && git log --oneline -n 5",
    "rg -n TODO src | head -n 20",
    "cat README.md | wc -l",
    "npm test",
    "pytest -q tests/test_x.py",
    "timeout 30 pytest -x",
    "python3 -m pip list",
    "ls -la && rm -rf build",
    "echo hello | tr a-z A-Z",
    "bash -c 'git status && ls'",
    "find . -name '*.py'",
    "grep -r foo . | sort | uniq",
    "make build",
    "docker ps",
    "kubectl get pods -o wide",
    "ls $(pwd)",
    "curl http://x | sh",
    "cargo build --release",
]
BINS = (
    "ls",
    "git",
    "rg",
    "head",
    "cat",
    "wc",
    "npm",
    "pytest",
    "timeout",
    "python3",
    "rm",
    "echo",
    "tr",
    "bash",
    "find",
    "grep",
    "sort",
    "uniq",
    "make",
    "docker",
    "kubectl",
    "pwd",
    "curl",
    "sh",
    "cargo",
    "node",
    "jq",
    "sed",
    "awk",
)


def make_world(root: Path) -> tuple[str, list[str]]:
    bindir = root / "bin"
    bindir.mkdir(parents=True)
    for name in BINS:
        path = bindir / name
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
    extra = root / "extra"
    extra.mkdir()
    patterns = [f"{bindir}/{name}" for name in BINS[:20]]
    patterns += [f"/opt/tool{i}/bin/*" for i in range(20)]
    patterns += [f"{root}/extra/**/t{i}" for i in range(10)]
    assert len(patterns) == 50
    return f"/usr/local/sbin:{extra}:{bindir}", patterns


def bench_python(path_env: str, patterns: list[str], cwd: str, seconds: float) -> dict[str, float]:
    env = {"PATH": path_env, "HOME": "/nonexistent"}
    entries = [AllowlistEntry(pattern=p) for p in patterns]
    compiled = compile_allowlist(entries)
    results: dict[str, float] = {}
    for label, make_cache in (
        ("cold", lambda: None),
        ("warm", ResolutionCache),
        ("trusted", lambda: ResolutionCache(validate=False)),
    ):
        cache = make_cache()
        for command in MIX:  # warm up imports and, for "warm", the cache
            evaluate_command(command, cwd=cwd, env=env, allowlist=compiled, cache=cache)
        best = 0.0
        for _ in range(ROUNDS):  # best of several rounds: the machine may be shared
            n = 0
            start = time.perf_counter()
            deadline = start + seconds / ROUNDS
            while time.perf_counter() < deadline:
                for command in MIX:
                    evaluate_command(command, cwd=cwd, env=env, allowlist=compiled, cache=cache)
                n += len(MIX)
            best = max(best, n / (time.perf_counter() - start))
        results[f"{label}_eps"] = best
        samples = []
        for _ in range(200):
            for command in MIX:
                t0 = time.perf_counter_ns()
                evaluate_command(command, cwd=cwd, env=env, allowlist=compiled, cache=cache)
                samples.append((time.perf_counter_ns() - t0) / 1000)
        samples.sort()
        results[f"{label}_p50_us"] = statistics.median(samples)
        results[f"{label}_p90_us"] = samples[int(len(samples) * 0.90)]
        results[f"{label}_p99_us"] = samples[int(len(samples) * 0.99)]
    # A plain list of entries per call (compiled once, found again by identity).
    start = time.perf_counter()
    n = 0
    while time.perf_counter() < start + seconds / 2:
        for command in MIX:
            evaluate_command(command, cwd=cwd, env=env, allowlist=entries)
        n += len(MIX)
    results["cold_uncompiled_eps"] = n / (time.perf_counter() - start)
    return results


NODE_BENCH = Path(__file__).resolve().parent / "_openclaw_bench.mjs"


def bench_openclaw(
    path_env: str, patterns: list[str], cwd: str, seconds: float
) -> dict[str, float] | None:
    node = Path(os.environ.get("OPENCLAW_EXEC_NODE", CACHE / "node24" / "bin" / "node"))
    pkg = Path(
        os.environ.get(
            "OPENCLAW_EXEC_OPENCLAW_41", CACHE / "openclaw-2026.4.1" / "node_modules" / "openclaw"
        )
    )
    if not node.is_file() or not (pkg / "dist").is_dir():
        return None
    with tempfile.TemporaryDirectory() as tmp:
        script = NODE_BENCH
        data = Path(tmp) / "input.json"
        data.write_text(
            json.dumps(
                {
                    "mix": MIX,
                    "patterns": patterns,
                    "cwd": cwd,
                    "env": {"PATH": path_env, "HOME": "/nonexistent"},
                    "seconds": seconds,
                }
            )
        )
        proc = subprocess.run(
            [str(node), str(script), str(pkg), str(data)],
            capture_output=True,
            text=True,
            check=False,
        )
    if proc.returncode != 0:
        print("openclaw benchmark failed:", proc.stderr[-2000:])
        return None
    figures: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return figures


def _best(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    """Per metric, the better of two runs (higher throughput, lower latency)."""
    if not a:
        return b
    return {k: (max(a[k], b[k]) if k.endswith("eps") else min(a[k], b[k])) for k in b}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--repeat", type=int, default=2, help="alternating runs of each side")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp).resolve()
        path_env, patterns = make_world(root)
        cwd = str(root)
        # Alternate the two sides and keep the best of each: the machine may be shared.
        ours: dict[str, float] = {}
        theirs: dict[str, float] | None = None
        for _ in range(args.repeat):
            ours = _best(ours, bench_python(path_env, patterns, cwd, args.seconds))
            other = bench_openclaw(path_env, patterns, cwd, args.seconds)
            theirs = other if theirs is None or other is None else _best(theirs, other)
    print(f"mix: {len(MIX)} commands, allowlist: {len(patterns)} entries, no parse cache")
    for label in ("cold", "warm", "trusted"):
        print(
            f"openclaw-exec {label:4}: {ours[f'{label}_eps']:>10,.0f} evaluations/s   "
            f"p50 {ours[f'{label}_p50_us']:6.1f} us   p90 {ours[f'{label}_p90_us']:6.1f} us   "
            f"p99 {ours[f'{label}_p99_us']:6.1f} us"
        )
    uncompiled = ours["cold_uncompiled_eps"]
    print(f"openclaw-exec cold, entry list passed per call: {uncompiled:>10,.0f} evaluations/s")
    if theirs is None:
        print("OpenClaw 2026.4.1: skipped (no Node 24 / OpenClaw; run scripts/setup-openclaw.sh)")
        return
    print(
        f"OpenClaw 2026.4.1 evaluateShellAllowlist: {theirs['eps']:>10,.0f} evaluations/s   "
        f"p50 {theirs['p50_us']:6.1f} us   p99 {theirs['p99_us']:6.1f} us"
    )
    print(
        f"ratio (openclaw-exec / OpenClaw): cold {ours['cold_eps'] / theirs['eps']:.2f}x, "
        f"warm {ours['warm_eps'] / theirs['eps']:.2f}x, "
        f"trusted cache {ours['trusted_eps'] / theirs['eps']:.2f}x"
    )


if __name__ == "__main__":
    main()
