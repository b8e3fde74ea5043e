"""
The mypyc build must give exactly the Evaluations the source gives.

    python3 prototypes/mypyc/differential.py [--random 20000]

Runs the same texts through the pure-Python package (``src``) and the compiled one
(``build/src``), each in its own process, against the corpus fixture of
``tests/analysis/_corpus.py`` (every named allowlist), and compares a full dump of every
Evaluation: its repr (every compared field: failure, segments with their resolution,
matched entry, miss reason, danger row, inline-eval hits ...), the allow-always grants,
the must-ask triggers and the enforced argvs. Texts: the hand-written and generated
corpus, the shared harness mix with `` n<i>`` suffixes, and seeded random texts over
shell-significant pieces. Exits 1 on the first difference.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PIECES = (
    *("ls", "git", "rg", "cat", "echo", "bash", "sh", "python3", "env", "timeout", "eval"),
    *("-la", "-c", "-n", "5", "status", "x=1", "FOO=bar", "'a b'", '"c d"', "'git status'"),
    *("$x", "$(id)", "`id`", "~", "*", "#", "{a,b}", "\\ ", "|", "||", "&&", ";", "&", ">"),
    *("<", "(", ")", "if", "then", "fi", "done", "printf", "-v", "!", "find", "-exec", "xargs"),
    *("git -c core.pager=x", "sort -o f", "tee ~/.bashrc", "é", ""),
)


def texts(n_random: int) -> list[str]:
    """The corpus, the harness mix (suffixed) and *n_random* seeded random texts."""
    sys.path.insert(0, str(ROOT / "tests" / "analysis"))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from _corpus import HAND_WRITTEN, generated_commands  # noqa: PLC0415 - test helpers

    mix = json.loads((ROOT.parent / "shared" / "bench" / "commands.json").read_text())
    out = [*HAND_WRITTEN, *generated_commands()]
    out += [f"{c} n{i}" for i, c in enumerate(mix * 5)]
    rng = random.Random(16)
    for _ in range(n_random):
        sep = rng.choice((" ", "", " ", "\t"))
        out.append(sep.join(rng.choice(PIECES) for _ in range(rng.randint(1, 8))))
    return out


def dump(root: str, commands: list[str]) -> list[str]:
    """One line per (allowlist, command): everything the Evaluation carries."""
    sys.path.insert(0, str(ROOT / "tests" / "analysis"))
    from _corpus import Fixture, allowlists  # noqa: PLC0415 - test helpers

    from openclaw_exec.analysis import compile_allowlist, evaluate_command  # noqa: PLC0415
    from openclaw_exec.policy import AllowlistEntry  # noqa: PLC0415

    fx = Fixture(root=Path(root))
    env = {"PATH": fx.path_env, "HOME": "/nonexistent"}
    lines = []
    for name, patterns in allowlists(fx).items():
        compiled = compile_allowlist([AllowlistEntry(pattern=p) for p in patterns])
        for command in commands:
            ev = evaluate_command(command, cwd=fx.work, env=env, allowlist=compiled)
            lines.append(
                repr((name, ev, ev.allow_always, ev.must_ask, ev.enforced_argvs, ev.failure))
            )
    return lines


def main() -> int:
    """Dump both sides in child processes and compare them line by line."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--random", type=int, default=20000)
    parser.add_argument("--side", choices=("src", "build"), help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        lines = dump(args.root, texts(args.random))
        Path(args.out).write_text("\n".join(lines))
        return 0
    sys.path.insert(0, str(ROOT / "tests" / "analysis"))
    from _corpus import make_fixture  # noqa: PLC0415 - test helpers

    with tempfile.TemporaryDirectory() as tmp:
        fx = make_fixture(Path(tmp) / "fx")
        results = {}
        for side, path in (("src", ROOT / "src"), ("build", HERE / "build" / "src")):
            out = Path(tmp) / f"{side}.txt"
            env = {**os.environ, "PYTHONPATH": str(path)}
            command = [sys.executable, __file__, "--side", side, "--root", str(fx.root)]
            command += ["--out", str(out), "--random", str(args.random)]
            subprocess.run(command, env=env, check=True)
            results[side] = out.read_text().splitlines()
        check = [
            sys.executable,
            "-c",
            "import openclaw_exec.analysis._segment as s; print(s.__file__)",
        ]
        where = subprocess.run(
            check,
            env={**os.environ, "PYTHONPATH": str(HERE / "build" / "src")},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        if not where.endswith(".so"):
            print(f"the build side imported {where}, not a compiled module")
            return 1
        for a, b in zip(results["src"], results["build"], strict=True):
            if a != b:
                print(f"DIFFERENT:\n  src:   {a}\n  build: {b}")
                return 1
        print(f"{len(results['src'])} evaluations, identical (compiled: {Path(where).name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
