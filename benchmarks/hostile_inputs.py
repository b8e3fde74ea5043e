"""
Worst-case cost of ``evaluate_command`` on hostile inputs at the length cap.

    python benchmarks/hostile_inputs.py [--repeat 5]

Prints, for each hostile shape (at or just under ``MAX_COMMAND_CHARS``), the best of
``--repeat`` runs in milliseconds and whether it was parsed, then the cost of a 20,000-
entry allowlist: the first compile, and an evaluation with the same file loaded again
(new entry objects, equal patterns: served from the content-keyed cache). The target is
about 10 ms per input on an idle machine; the tests in
``tests/analysis/test_class_bounded_cost.py`` assert the work done, not the time.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterator

from openclaw_exec.analysis import MAX_COMMAND_CHARS, compile_allowlist, evaluate_command
from openclaw_exec.policy import AllowlistEntry
from openclaw_exec.testing import VirtualResolver

CAP = MAX_COMMAND_CHARS
ENV = {"PATH": "/usr/bin:/bin", "HOME": "/home/u"}


def shapes() -> Iterator[tuple[str, str]]:
    yield "a=a=... assignment chain", "a=" * (CAP // 2 - 1) + "a"
    yield "echo a=aa=a...", "echo " + "a=a" * ((CAP - 5) // 3)
    yield "escaped letters", "echo " + "\\a" * ((CAP - 5) // 2)
    yield "double-quoted escapes", 'echo "' + "a\\b" * ((CAP - 7) // 3) + '"'
    yield "non-ASCII word, glob at the end", "echo " + "é=é" * ((CAP - 6) // 3) + "*"
    yield "one long word", "a" * CAP
    yield "many words (over the word cap)", "echo " + "a " * ((CAP - 5) // 2)
    yield "1000 words (under the word cap)", "echo " + "a " * 1000
    yield "1000 quoted pieces", "echo " + "'a'" * 1000
    yield "300 mixed concatenations", "echo " + 'a"b"c ' * 300
    yield "pipeline at the operator cap", "a|" * 256 + "a"
    yield "and-chain at the operator cap", "a && " * 255 + "a"
    yield "only double quotes", '"' * CAP
    yield "only backslashes", "\\" * CAP
    yield "parentheses", "(" * CAP
    yield "git -c options (danger profile)", "git " + "-c a.b=c " * 110 + "status"
    yield "find expression (danger profile)", "find . " + "-name x -o " * 300 + "-print"
    yield "tee with 1000 targets (danger profile)", "tee " + " ".join(f"d{i}" for i in range(1000))
    yield "tee with 60 targets (danger profile)", "tee " + " ".join(f"d{i}" for i in range(60))


def best_ms(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - began)
    return best * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    vfs = VirtualResolver()
    for name in ("a", "echo", "git", "find", "bash", "tee"):
        vfs.add_file(f"/usr/bin/{name}")
    vfs.add_dir("/w")
    allow = [AllowlistEntry(pattern=f"/usr/bin/{n}") for n in ("a", "echo", "git", "find", "tee")]
    worst = 0.0
    for name, text in shapes():
        ev = evaluate_command(text, cwd="/w", env=ENV, allowlist=allow, resolver=vfs)

        def once(text: str = text) -> object:
            return evaluate_command(text, cwd="/w", env=ENV, allowlist=allow, resolver=vfs)

        ms = best_ms(once, args.repeat)
        worst = max(worst, ms)
        state = "parsed" if ev.analysis_ok else "refused"
        print(f"{name:36} {len(text):6} chars  {ms:8.2f} ms  {state}")
    print(f"{'worst':36} {'':6}        {worst:8.2f} ms")

    def entries() -> list[AllowlistEntry]:
        out = [AllowlistEntry(pattern=f"/opt/t{i}/bin/tool") for i in range(19_800)]
        out += [AllowlistEntry(pattern=f"/opt/w{i}/*") for i in range(200)]
        return [*out, AllowlistEntry(pattern="/usr/bin/git")]

    first = entries()
    began = time.perf_counter()
    compile_allowlist(first)
    print(f"20,000 entries: first compile {(time.perf_counter() - began) * 1000:8.1f} ms")
    again = entries()
    ms = best_ms(
        lambda: evaluate_command("git status", cwd="/w", env=ENV, allowlist=again, resolver=vfs),
        args.repeat,
    )
    print(f"20,000 entries: evaluation with the file loaded again {ms:8.2f} ms")


if __name__ == "__main__":
    main()
