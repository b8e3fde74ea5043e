"""
Throughput and latency of ``evaluate_command``, and the ratio to OpenClaw 2026.4.1.

    python benchmarks/analysis.py [--evaluations 20000] [--rounds 3] [--seconds 2]

First the shared harness (``HARNESS_MIX``, the 12 commands of the team's
``shared/bench/commands.json``; ``--commands FILE`` reads another list): both sides
evaluate the mix, each command made unique with a `` n<i>`` suffix so that no parse cache
could help, against the same 53-entry allowlist (``BIN/tool0`` ... ``BIN/tool49``,
``BIN/ls``, ``BIN/git``, ``BIN/rg``), safe bins ``wc`` and ``head``, cwd ``/tmp`` and
``PATH=BIN``; our side with no resolution cache and no parse cache. The two sides
alternate ``--rounds`` times in one run; the figure is the median of the round ratios
(also printed per CPU second: the machine's load moves CPU time much less than wall time;
Node's CPU time includes its JIT and GC threads). A second pass of each round runs blocks
of 50 evaluations of one command, cycling through the mix, and gives the wall and CPU
time of every command on both sides (the median over the rounds). ``--fastwalk`` plugs in
the compiled-walker prototype (``prototypes/fastwalk``); ``--mypyc`` runs the analysis core
compiled by mypyc (``prototypes/mypyc``).

Then the project's own 20-command mix against a 50-entry allowlist: evaluations per
second with cold caches (no ResolutionCache: every PATH lookup
asks the filesystem) and warm caches (a shared ResolutionCache), the p50/p99 latency of
single evaluations, and the ratio to OpenClaw 2026.4.1's ``evaluateShellAllowlist`` run on
the same mix in the same run (through Node 24; skipped with a message when absent; install
with ``scripts/setup-openclaw.sh``). No parse cache is used anywhere.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MYPYC_BUILD = REPO / "prototypes" / "mypyc" / "build" / "src"
if "--mypyc" in sys.argv[1:]:
    # The compiled prototype replaces the package, so it goes first on the path before
    # anything imports openclaw_exec (built by prototypes/mypyc/build.sh).
    if not any(MYPYC_BUILD.glob("openclaw_exec/analysis/_segment.*.so")):
        sys.exit(f"--mypyc: no compiled build in {MYPYC_BUILD}; run prototypes/mypyc/build.sh")
    sys.path.insert(0, str(MYPYC_BUILD))

from _figures import figure  # noqa: E402 - after the optional path change above

from openclaw_exec.analysis import (  # noqa: E402
    ResolutionCache,
    compile_allowlist,
    evaluate_command,
)
from openclaw_exec.policy import AllowlistEntry  # noqa: E402

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


HARNESS_MIX = [
    "ls -la",
    "git status",
    "git log --oneline -n 5 && git diff --stat",
    "rg -n TODO src | head -n 20",
    "ls -la; rm -rf /tmp/x",
    "cat /etc/passwd",
    'echo "$(whoami)"',
    "FOO=bar git commit -m 'msg with spaces'",
    "timeout 5 rg foo",
    "bash -lc 'git status && ls'",
    "ls | wc -l",
    "python3 -c 'print(1)'",
]
HARNESS_STUBS = ("cat", "echo", "rm", "timeout", "bash", "python3", "whoami", "wc", "head")


def harness_world(root: Path, mix: list[str]) -> Path:
    """BIN_DIR of the shared harness: an executable stub for every name the mix uses."""
    bindir = root / "harness-bin"
    bindir.mkdir()
    names = {f"tool{i}" for i in range(50)} | {"ls", "git", "rg", *HARNESS_STUBS}
    names |= {c.split()[0] for c in mix if c.split() and "=" not in c.split()[0]}
    for name in sorted(names):
        path = bindir / name
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
    return bindir


def harness_python(bindir: Path, mix: list[str], n: int) -> dict[str, object]:
    """The harness loop on our side: the same allowlist, options and unique commands."""
    patterns = [f"{bindir}/tool{i}" for i in range(50)]
    patterns += [f"{bindir}/ls", f"{bindir}/git", f"{bindir}/rg"]
    compiled = compile_allowlist([AllowlistEntry(pattern=p) for p in patterns])
    env = {"PATH": str(bindir)}
    safe = ["wc", "head"]
    for command in mix:
        evaluate_command(command, cwd="/tmp", env=env, allowlist=compiled, safe_bins=safe)
    ok = 0
    cpu_start = time.process_time()
    start = time.perf_counter()
    for i in range(n):
        ev = evaluate_command(
            f"{mix[i % len(mix)]} n{i}", cwd="/tmp", env=env, allowlist=compiled, safe_bins=safe
        )
        ok += ev.allowlist_satisfied
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start
    # Per command: blocks of 50 evaluations of one command, cycling through the mix; wall
    # and CPU time per block (CPU time moves much less than wall time on a loaded machine).
    block = 50
    per = [0] * len(mix)
    per_cpu = [0] * len(mix)
    k = 0
    for done in range(0, n, block):
        j = (done // block) % len(mix)
        cpu0 = time.process_time_ns()
        t0 = time.perf_counter_ns()
        for _ in range(block):
            evaluate_command(
                f"{mix[j]} m{k}", cwd="/tmp", env=env, allowlist=compiled, safe_bins=safe
            )
            k += 1
        per[j] += time.perf_counter_ns() - t0
        per_cpu[j] += time.process_time_ns() - cpu0
    runs = n // block // len(mix) * block
    return {
        "per_second": n / seconds,
        "per_cpu_second": n / cpu_seconds,
        "satisfied": ok,
        "per_command_us": [t / 1000 / runs for t in per],
        "per_command_cpu_us": [t / 1000 / runs for t in per_cpu],
    }


def harness_openclaw(bindir: Path, mix: list[str], n: int) -> dict[str, object] | None:
    """The same loop on OpenClaw 2026.4.1's evaluateShellAllowlist (Node 24)."""
    node, pkg = _openclaw_paths()
    if not node.is_file() or not (pkg / "dist").is_dir():
        return None
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "commands.json"
        data.write_text(json.dumps(mix))
        proc = subprocess.run(
            [str(node), str(HARNESS_BENCH), str(pkg), str(bindir), str(n), str(data)],
            capture_output=True,
            text=True,
            check=False,
        )
    if proc.returncode != 0:
        print("openclaw benchmark failed:", proc.stderr[-2000:])
        return None
    figures: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return figures


def harness(mix: list[str], n: int, rounds: int) -> None:
    """Alternate the two sides *rounds* times; print round ratios and the per-command table."""
    with tempfile.TemporaryDirectory() as tmp:
        bindir = harness_world(Path(tmp).resolve(), mix)
        ratios: list[float] = []
        cpu_ratios: list[float] = []
        ours_rates: list[float] = []
        theirs_rates: list[float] = []
        ours_per: list[list[float]] = []
        theirs_per: list[list[float]] = []
        ours_cpu: list[list[float]] = []
        theirs_cpu: list[list[float]] = []
        for r in range(rounds):
            ours = harness_python(bindir, mix, n)
            theirs = harness_openclaw(bindir, mix, n)
            if theirs is None:
                print("OpenClaw 2026.4.1: skipped (no Node 24 / OpenClaw; see setup-openclaw.sh)")
                return
            ours_eps = float(ours["per_second"])  # type: ignore[arg-type]
            theirs_eps = float(theirs["per_second"])  # type: ignore[arg-type]
            ratios.append(ours_eps / theirs_eps)
            ours_rates.append(ours_eps)
            theirs_rates.append(theirs_eps)
            cpu_ratios.append(
                float(ours["per_cpu_second"]) / float(theirs["per_cpu_second"])  # type: ignore[arg-type]
            )
            ours_per.append(list(ours["per_command_us"]))  # type: ignore[call-overload]
            theirs_per.append(list(theirs["per_command_us"]))  # type: ignore[call-overload]
            ours_cpu.append(list(ours["per_command_cpu_us"]))  # type: ignore[call-overload]
            theirs_cpu.append(list(theirs["per_command_cpu_us"]))  # type: ignore[call-overload]
            print(
                f"round {r + 1}: openclaw-exec {ours_eps:>8,.0f}/s "
                f"(satisfied {ours['satisfied']}/{n})   OpenClaw 2026.4.1 {theirs_eps:>8,.0f}/s "
                f"(satisfied {theirs['satisfied']}/{n})   ratio {ratios[-1]:.2f}x "
                f"(per CPU second {cpu_ratios[-1]:.2f}x)",
                flush=True,
            )
    print(
        f"shared harness ({len(mix)} commands, 53-entry allowlist, no parse cache, no "
        f"resolution cache): median ratio {statistics.median(ratios):.2f}x over {rounds} rounds "
        f"(per CPU second {statistics.median(cpu_ratios):.2f}x; Node's count includes its JIT "
        "and GC threads)"
    )
    print("us per evaluation (median over the rounds), wall clock and CPU time:")
    head = ("ours", "OpenClaw", "ratio", "ours cpu", "OC cpu", "ratio")
    print("{:>8} {:>9} {:>6} | {:>8} {:>8} {:>6}  command".format(*head))
    slower = 0
    for i, command in enumerate(mix):
        a = statistics.median(p[i] for p in ours_per)
        b = statistics.median(p[i] for p in theirs_per)
        ca = statistics.median(p[i] for p in ours_cpu)
        cb = statistics.median(p[i] for p in theirs_cpu)
        slower += ca > cb
        print(
            f"{a:>8.1f} {b:>9.1f} {b / a:>5.2f}x | {ca:>8.1f} {cb:>8.1f} {cb / ca:>5.2f}x  "
            f"{command}"
        )
    print(f"commands slower than OpenClaw's (CPU time): {slower} of {len(mix)}")
    best = ratios.index(statistics.median(ratios)) if len(ratios) % 2 else 0
    figure(
        f"analyser evaluations/s vs OpenClaw 2026.4.1 (shared harness, the median of "
        f"{rounds} rounds' ratios: {statistics.median(ratios):.2f}x)",
        ours_rates[best],
        "evaluations/s",
        reference="OpenClaw 2026.4.1 evaluateShellAllowlist, same round",
        reference_value=theirs_rates[best],
        target=">= 3x",
    )
    figure(
        "analyser per CPU second vs OpenClaw 2026.4.1 (median of the rounds' ratios)",
        statistics.median(cpu_ratios),
        "x",
        target=">= 3x",
    )
    figure(
        "analyser: commands of the mix slower than OpenClaw's (CPU time)",
        slower,
        "commands",
        target=f"0 of {len(mix)}",
    )


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
HARNESS_BENCH = Path(__file__).resolve().parent / "_openclaw_mix.mjs"


def _openclaw_paths() -> tuple[Path, Path]:
    node = Path(os.environ.get("OPENCLAW_EXEC_NODE", CACHE / "node24" / "bin" / "node"))
    pkg = Path(
        os.environ.get(
            "OPENCLAW_EXEC_OPENCLAW_41", CACHE / "openclaw-2026.4.1" / "node_modules" / "openclaw"
        )
    )
    return node, pkg


def bench_openclaw(
    path_env: str, patterns: list[str], cwd: str, seconds: float
) -> dict[str, float] | None:
    node, pkg = _openclaw_paths()
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
    parser.add_argument(
        "--evaluations", type=int, default=20000, help="per harness round (the harness default)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="alternating harness rounds")
    parser.add_argument("--commands", type=Path, help="a JSON list of commands (harness mix)")
    parser.add_argument("--harness-only", action="store_true", help="skip the own-mix figures")
    parser.add_argument(
        "--fastwalk",
        action="store_true",
        help="plug in the compiled-walker prototype (prototypes/fastwalk, built by its build.sh)",
    )
    parser.add_argument(
        "--mypyc",
        action="store_true",
        help="use the mypyc-compiled analysis core (prototypes/mypyc, built by its build.sh)",
    )
    args = parser.parse_args()
    if args.mypyc:
        segment = importlib.import_module("openclaw_exec.analysis._segment")
        print(f"mypyc prototype: on ({Path(segment.__file__ or '').name})")
    if args.fastwalk:
        sys.path.insert(0, str(REPO / "prototypes" / "fastwalk"))
        fastpath = importlib.import_module("fastpath")  # only when asked for
        fastpath.install()
        print("compiled walker prototype: on (prototypes/fastwalk)")
    mix = HARNESS_MIX if args.commands is None else json.loads(args.commands.read_text())
    harness(mix, args.evaluations, args.rounds)
    if args.harness_only:
        return
    print()
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
