"""
Per-file agree / stricter / looser counts of the restated OpenClaw unit tests.

Run from the repository root: ``PYTHONPATH=src:tests/upstream python3 tests/upstream/report.py``
(``--looser`` also lists every looser case, ``--json`` prints the table as JSON).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

from _upstream import load_cases, load_skipped, load_sources, measure, precompute_env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--looser", action="store_true", help="list every looser case")
    parser.add_argument("--json", action="store_true", help="print the table as JSON")
    args = parser.parse_args(argv)
    cases = load_cases()
    skipped = load_skipped()
    table: dict[str, Counter[str]] = {}
    commits: dict[str, str] = {}
    looser: list[str] = []
    for name, source in load_sources().items():
        commits[name] = f"{source['path']} @ {source['commit'][:12]}"
        table.setdefault(name, Counter())
    with tempfile.TemporaryDirectory() as tmp:
        precompute_env(cases, Path(tmp).resolve())
    for case in cases:
        with tempfile.TemporaryDirectory() as tmp:
            outcome = measure(case, Path(tmp).resolve())
        table.setdefault(case.file, Counter())[outcome.status] += 1
        if outcome.status == "looser":
            looser.append(f"{case.id}: ours {dict(outcome.ours)} openclaw {dict(outcome.openclaw)}")
    rows = {
        name: {
            "source": commits[name],
            "cases": sum(c.values()),
            "agree": c["agree"],
            "stricter": c["stricter"],
            "looser": c["looser"],
            "skipped": sum(int(e["count"]) for e in skipped.get(name, [])),
            "skipped_windows": sum(
                int(e["count"])
                for e in skipped.get(name, [])
                if e["why"].startswith("Windows-only")
            ),
        }
        for name, c in sorted(table.items())
    }
    if args.json:
        json.dump(rows, sys.stdout, indent=1)
        print()
    else:
        head = ("file", "cases", "agree", "strict", "looser", "skip", "win")
        print("{:34} {:>5} {:>5} {:>6} {:>6} {:>4} {:>3}  source".format(*head))
        for name, r in rows.items():
            print(
                f"{name:34} {r['cases']:5} {r['agree']:5} {r['stricter']:6} {r['looser']:6}"
                f" {r['skipped']:4} {r['skipped_windows']:3}  {r['source']}"
            )
        total = Counter[str]()
        for c in table.values():
            total.update(c)
        print(
            f"{'total':34} {sum(total.values()):5} {total['agree']:5} {total['stricter']:6}"
            f" {total['looser']:6}"
        )
    if args.looser:
        print("\n".join(looser))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
