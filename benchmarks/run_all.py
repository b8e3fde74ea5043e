"""
Run every benchmark in this folder and print every headline figure with its reference ratio.

    python benchmarks/run_all.py                # everything (several minutes on 2 cores)
    python benchmarks/run_all.py redis websocket  # only scripts whose name contains a word

Each benchmark is a standalone script (``python benchmarks/<name>.py --help``) and runs here
with the arguments below (sized for a 2-core machine). Its output is shown as it runs; the
lines it marks as figures (``@figure``, see ``_figures.py``) are collected and printed again at
the end in one table: the figure, its reference measured in the same run (the memory store,
OpenClaw, a bare anyio stream, ``anyio.run_process``), the ratio, and the issue's target. The
issue's figures that no script printed are listed as missing, with the script that should
print them. Scripts that need OpenClaw or ``redis-server`` say so and skip that part when it is
unavailable. A failing script is reported and the others still run; the exit code is 1 if any
failed.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# Arguments per script (others run once with their defaults); a script listed with several
# argument lists runs once per list.
ARGUMENTS: dict[str, list[list[str]]] = {
    "redis_replicas.py": [["--replicas", "1,3,6,12", "--approvals", "3000"]],
    "websocket_load.py": [["--seconds", "20"]],
    # The target holds on both backends: the default audit mode on trio too.
    "guard_overhead.py": [["--backend", "asyncio"], ["--backend", "trio", "--fsync", "batch"]],
}

# Issue #16's figures, and which script prints each (the name prefix of its @figure line).
EXPECTED: dict[str, str] = {
    "redis one at a time p50": "redis_replicas.py",
    "redis 3 replicas": "redis_replicas.py",
    "redis 6 replicas vs 3": "redis_replicas.py",
    "redis 12 replicas": "redis_replicas.py",
    "gateway kit 200 requesters": "websocket_load.py",
    "analyser": "analysis.py",
    "guard overhead": "guard_overhead.py",
}

Figure = dict[str, object]


def _scrape_analysis(lines: list[str]) -> list[Figure]:
    """analysis.py's harness summary: the median ratio to OpenClaw 2026.4.1."""
    out: list[Figure] = []
    for line in lines:
        found = re.search(r"median ratio ([0-9.]+)x over (\d+) rounds", line)
        if found:
            out.append(
                {
                    "name": f"analyser vs OpenClaw 2026.4.1 (shared harness, median of "
                    f"{found.group(2)} rounds)",
                    "value": float(found.group(1)),
                    "unit": "x",
                    "reference": None,
                    "reference_value": None,
                    "target": ">= 3x",
                }
            )
        slower = re.search(r"commands slower than OpenClaw's[^:]*: (\d+) of (\d+)", line)
        if slower:
            out.append(
                {
                    "name": f"analyser: commands of the mix slower than OpenClaw's "
                    f"(of {slower.group(2)})",
                    "value": float(slower.group(1)),
                    "unit": "commands",
                    "reference": None,
                    "reference_value": None,
                    "target": "0",
                }
            )
    return out


def _scrape_guard(lines: list[str]) -> list[Figure]:
    """guard_overhead.py: guarded_run's p50 beside anyio.run_process's, per audit mode."""
    out: list[Figure] = []
    mode = ""
    p50: dict[str, float] = {}
    for line in lines:
        if line.startswith("audit log"):
            mode = line.removeprefix("audit log").strip(" :")
            p50 = {}
        found = re.match(
            r"\s*(spawn|guarded|anyio\.run_process|guarded_run): p50\s+([0-9.]+) ms", line
        )
        if found:
            label = {"anyio.run_process": "spawn", "guarded_run": "guarded"}.get(found.group(1))
            p50[label or found.group(1)] = float(found.group(2))
        if line.startswith("guarded_run / anyio.run_process") and {"spawn", "guarded"} <= set(p50):
            out.append(
                {
                    "name": f"guard overhead p50, audit log {mode}",
                    "value": p50["guarded"],
                    "unit": "ms",
                    "reference": "anyio.run_process",
                    "reference_value": p50["spawn"],
                    "target": "ratio <= 1.10",
                }
            )
    return out


# Scripts that print no @figure lines: their headline lines are read instead.
SCRAPERS = {"analysis.py": _scrape_analysis, "guard_overhead.py": _scrape_guard}


def _run(script: Path, arguments: list[str]) -> tuple[int, list[Figure]]:
    """Run one script, echoing its output; its exit code and its figures."""
    figures: list[Figure] = []
    seen: list[str] = []
    command = [sys.executable, str(script), *arguments]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, bufsize=1) as process:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("@figure "):
                try:
                    figures.append({**json.loads(line[8:]), "script": script.name})
                except ValueError:
                    print(f"(unreadable figure line) {line}", end="")
                continue
            print(line, end="", flush=True)
            seen.append(line.rstrip("\n"))
    if not figures and script.name in SCRAPERS:
        figures = [{**f, "script": script.name} for f in SCRAPERS[script.name](seen)]
    return process.returncode, figures


def _table(figures: list[Figure]) -> None:
    print("\n=== figures (ratio = figure / reference, same run)")
    for f in figures:
        value = float(f["value"])  # type: ignore[arg-type]
        unit = f["unit"]
        line = f"{f['name']:<44} {value:>11,.2f} {unit}"
        ref = f.get("reference_value")
        if ref:
            line += f"   vs {f['reference']}: {float(ref):,.2f} {unit}"  # type: ignore[arg-type]
            line += f"   ratio {value / float(ref):.3g}"  # type: ignore[arg-type]
        if f.get("target"):
            line += f"   (target: {f['target']})"
        print(line)
    names = [str(f["name"]) for f in figures]
    for expected, source in EXPECTED.items():
        if not any(name.startswith(expected) for name in names):
            print(f"{expected:<44} missing (printed by {source})")


def main(argv: list[str]) -> int:
    scripts = sorted(
        p for p in HERE.glob("*.py") if p.name != Path(__file__).name and not p.name.startswith("_")
    )
    if argv:
        scripts = [p for p in scripts if any(word in p.name for word in argv)]
    failed: list[str] = []
    figures: list[Figure] = []
    for script in scripts:
        for arguments in ARGUMENTS.get(script.name, [[]]):
            shown = " ".join([script.name, *arguments])
            print(f"\n=== {shown}", flush=True)
            started = time.perf_counter()
            code, found = _run(script, arguments)
            figures += found
            took = time.perf_counter() - started
            print(f"=== {shown}: exit {code} in {took:.1f} s", flush=True)
            if code != 0:
                failed.append(shown)
    _table(figures)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
