"""
The prototype must accept exactly what ``parse_raw`` accepts, with the same value.

    PYTHONPATH=src python3 prototypes/fastwalk/differential.py [--examples 20000]

Compares ``parse_raw`` and ``parse_raw_fast`` on the test corpus (hand-written and
generated commands of ``tests/analysis/_corpus.py``), and on random texts over an
alphabet of shell-significant characters (words, quotes, operators, ``$``, escapes,
blanks). Prints how many texts the compiled walker accepted itself; exits 1 on the first
difference.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "analysis"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _fastwalk  # noqa: E402
import fastpath  # noqa: E402
from _corpus import HAND_WRITTEN, generated_commands  # noqa: E402

from openclaw_exec.analysis._shell import parse_raw  # noqa: E402

PIECES = [
    "ls",
    "git",
    "a",
    "b",
    "-la",
    "--x",
    "n5",
    "x=1",
    "FOO=bar",
    "'a b'",
    "''",
    '"c d"',
    '""',
    '"$x"',
    "$x",
    "$(id)",
    "`id`",
    "\\ ",
    "\\",
    " ",
    "  ",
    "\t",
    "|",
    "||",
    "&&",
    ";",
    "&",
    "(",
    ")",
    "{",
    "}",
    "<",
    ">",
    "#",
    "~",
    "*",
    "?",
    "[",
    "]",
    "=",
    ":",
    "'",
    '"',
    "eval",
    "printf",
    "-v",
    "time",
    "cd",
    "!",
    "if",
    "then",
    "fi",
    "a=b",
    "1",
    "é",
]


def texts(n: int, seed: int) -> list[str]:
    """*n* random texts of 1-9 pieces (a seeded generator: the run is repeatable)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        k = rng.randint(1, 9)
        sep = rng.choice([" ", "", " "])
        out.append(sep.join(rng.choice(PIECES) for _ in range(k)))
    return out


def main() -> int:
    """Compare both walkers on every text; 1 on the first difference."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args()
    corpus = list(HAND_WRITTEN) + list(generated_commands()) + texts(args.examples, args.seed)
    accepted = 0
    for text in corpus:
        for variant in (text, text + " n5"):
            want = parse_raw(variant)
            got = fastpath.parse_raw_fast(variant)
            if got != want:
                print(f"DIFFERENT for {variant!r}:\n  python: {want}\n  fast:   {got}")
                return 1
            if variant.isascii() and _fastwalk.walk(variant.encode(), variant.count("|") >= 2):
                accepted += 1
    print(f"{2 * len(corpus)} texts, equal results; the compiled walker accepted {accepted}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
