"""
Bypass class: inline eval under strict mode, every flag form (issue #12, class 6).

With ``strict_inline_eval=True`` an interpreter running code that is not a file needs a
human even when the interpreter is allowlisted, and "allow always" persists nothing for
such a request. Every shape below is run with real bash and dash (the interpreter must
really run the payload and plant the canary) and must not be auto-approved with the
interpreter allowlisted. Interpreters missing here are skipped with the reason (CI
installs ruby, php-cli, lua5.4, expect, vim, gdb, tcl: see ``.ci/run``).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from _canary import (
    BASE_PATH,
    CANARY,
    Shape,
    analyse,
    assert_allowed,
    assert_real,
    assert_refused,
    build,
)
from hypothesis import given
from hypothesis import strategies as st

from openclaw_exec.analysis import detect_inline_eval, evaluate_command
from openclaw_exec.analysis._inline_eval import is_interpreter_like
from openclaw_exec.policy import AllowlistEntry
from openclaw_exec.testing import VirtualResolver

PY = f'open("{CANARY}","w")'
JS = f'require("fs").writeFileSync("{CANARY}","")'
PL = f'system("touch {CANARY}")'
RB = f'File.write("{CANARY}","")'
PHP = f'touch("{CANARY}");'
LUA = f'io.open("{CANARY}","w")'
TCL = f"exec touch {CANARY}"
SH = f"touch {CANARY}"
DATA_JS = f'import fs from "fs"; fs.writeFileSync("{CANARY}","")'
# The python payload without quotes, for shapes nested inside a quoted shell payload.
PYQ = "open(str().join(map(chr,[67,65,78,65,82,89])),chr(119))"


def S(command: str, *allow: str, note: str = "") -> Shape:
    return Shape(command, allow=allow, note=note)


SHAPES = [
    # python: attached, clustered, versioned names, module runners, stdin
    S(f"python3 -c'{PY}'", note="attached -c"),
    S(f"python3 -Ic '{PY}'", note="clustered -Ic"),
    S(f"python3 -BIc '{PY}'", note="clustered -BIc"),
    S(f"python3.11 -c '{PY}'", "python3.11", note="versioned name"),
    S(f"/usr/bin/python3.11 -Ec '{PY}'", "/usr/bin/python3.11", note="versioned path"),
    S(f"python3 -m timeit -n1 -r1 '{PY}'", note="module runner"),
    S(f"python3 -Im timeit -n1 -r1 '{PY}'", note="clustered module runner"),
    S(f"echo '{PY}' | python3", note="program on stdin"),
    S(f"echo '{PY}' | python3 -", note="program on stdin, -"),
    S(f"echo '{PY}' | python3 -I -u", note="stdin after flags"),
    S(f"timeout 5 python3 -c '{PY}'", "timeout", note="behind a dispatch wrapper"),
    # perl: clusters, -E, -M, versioned names, stdin
    S(f"perl -e '{PL}'", "perl"),
    S(f"perl -le '{PL}'", "perl", note="clustered -le"),
    S(f"echo x | perl -ne '{PL}'", "perl", note="clustered -ne"),
    S(f"echo x | perl -lpe '{PL}'", "perl", note="clustered -lpe"),
    S(f"perl -E '{PL}'", "perl"),
    S(f"perl -M'strict;{PL}' -e1", "perl", note="-M puts text into use …;"),
    S(f"perl5.36.0 -e '{PL}'", "perl5.36.0", note="versioned name"),
    S(f"echo '{PL}' | perl", "perl", note="program on stdin"),
    S(f"echo '{PL}' | perl -w -", "perl", note="program on stdin, -"),
    # node
    S(f"node -e '{JS}'", "node"),
    S(f"node -pe '{JS}'", "node", note="clustered -pe"),
    S(f"node --eval='{JS}'", "node", note="--eval="),
    S(f"node -p '{JS}'", "node", note="-p"),
    S(f"echo '{JS}' | node", "node", note="program on stdin"),
    S(
        f"node --import 'data:text/javascript,{DATA_JS}' -e 1",
        "node",
        note="--import data: URL",
    ),
    # ruby, php, lua, tcl, expect
    S(f"ruby -e '{RB}'", "ruby"),
    S(f"ruby3.1 -e '{RB}'", "ruby3.1", note="versioned name"),
    S(f"echo x | ruby -ne '{RB}'", "ruby", note="clustered -ne"),
    S(f"echo '{RB}' | ruby", "ruby", note="program on stdin"),
    S(f"php -r '{PHP}'", "php"),
    S(f"php8.2 -r'{PHP}'", "php8.2", note="versioned, attached"),
    S(f"echo x | php -B '{PHP}' -R '1;'", "php", note="-B/-R"),
    S(f"echo '<?php {PHP}' | php", "php", note="program on stdin"),
    S(f"lua5.4 -e '{LUA}'", "lua5.4", note="versioned name"),
    S(f"lua -e'{LUA}'", "lua", note="attached -e"),
    S(f"echo '{LUA}' | lua", "lua", note="program on stdin"),
    S(f"echo '{TCL}' | tclsh", "tclsh", note="program on stdin"),
    S(f"echo '{TCL}' | tclsh8.6 -", "tclsh8.6", note="versioned, stdin -"),
    S(f"expect -c '{TCL}'", "expect"),
    S(f"echo '{TCL}' | expect", "expect", note="program on stdin"),
    # awk, sed, make
    S(f"awk 'BEGIN{{system(\"{SH}\")}}'", note="awk program"),
    S(f"echo x | sed -n '1e {SH}'", note="sed e command"),
    S(f"echo x | sed -ne '1e {SH}'", note="sed -ne"),
    S(f"echo x | sed --expression='1e {SH}'", note="sed --expression="),
    S(f"echo x | sed --expr '1e {SH}'", note="sed --expr abbreviation"),
    S(f"echo '{SH}' | sed 's/.*/&/e'", note="sed s///e"),
    S(f"make --eval='$(shell {SH})'", note="make --eval="),
    S(f"make --ev='$(shell {SH})'", note="make --ev abbreviation"),
    S(f"make -E '$(shell {SH})'", note="make -E"),
    # vim / ex, gdb
    S(f"vim -es -c '!{SH}' -c 'qa!'", "vim"),
    S(f"vim -es +'!{SH}' +'qa!'", "vim", note="+cmd"),
    S(f"vim --cmd '!{SH}' --cmd 'qa!' -es", "vim", note="--cmd"),
    S(f"echo '!{SH}' | vim -es", "vim", note="ex commands on stdin"),
    S(f"echo '!{SH}' | ex -s", "ex", note="ex reads commands from stdin"),
    S(f"vim.basic -es -c '!{SH}' -c 'qa!'", "vim.basic", note="vim.basic"),
    S(f"gdb -batch -ex 'shell {SH}'", "gdb"),
    S(f"gdb -batch --ex='shell {SH}'", "gdb", note="--ex="),
    S(f"gdb -batch -eval-command='shell {SH}'", "gdb", note="-eval-command="),
    S(f"gdb -nx -batch -iex 'shell {SH}'", "gdb", note="-iex"),
    # at depth
    S(f"bash -c \"python3 -Ic '{PYQ}'\"", note="inside a shell payload"),
    S(f"sh -c \"echo '{PYQ}' | python3\"", note="stdin program inside a payload"),
    S(f"sh -c \"python3.11 -m timeit -n1 -r1 '{PYQ}'\"", "python3.11", note="-m in a payload"),
]

CONTROLS = [
    Shape("python3 script.py", files={"script.py": "print(1)\n"}),
    Shape("python3 -I -W ignore script.py", files={"script.py": "print(1)\n"}),
    Shape("python3 --version"),
    Shape("python3 -V"),
    Shape("perl script.pl", files={"script.pl": "print 1;\n"}, allow=("perl",)),
    Shape("perl -v", allow=("perl",)),
    Shape("node app.js", files={"app.js": "1;\n"}, allow=("node",)),
    Shape("node --version", allow=("node",)),
    Shape("awk -f prog.awk data", files={"prog.awk": "{print}\n", "data": "x\n"}),
    Shape("sed -f prog.sed data", files={"prog.sed": "p\n", "data": "x\n"}),
    Shape("make -n", files={"Makefile": "all:\n\t@true\n"}),
    Shape("echo hi | wc -l"),
    Shape("tclsh run.tcl", files={"run.tcl": "puts 1\n"}, allow=("tclsh",)),
    Shape("vim --version", allow=("vim",)),
    Shape("git --version"),
]


def _needs(shape: Shape) -> None:
    for name in shape.allow:
        found = Path(name).exists() if name.startswith("/") else shutil.which(name, path=BASE_PATH)
        if not found:
            pytest.skip(f"{name} is not installed")


@pytest.mark.parametrize("shape", [s.param() for s in SHAPES])
def test_shape_is_real(shape: Shape, tmp_path: Path) -> None:
    _needs(shape)
    assert_real(shape, tmp_path)


@pytest.mark.parametrize("shape", [s.param() for s in SHAPES])
def test_shape_is_refused_in_strict_mode(shape: Shape, tmp_path: Path) -> None:
    _needs(shape)
    assert_refused(shape, tmp_path, strict_inline_eval=True)
    found = analyse(shape, tmp_path, strict_inline_eval=True)
    assert found.inline_eval_hits, "no inline eval found"
    assert any(t.startswith("strict-inline-eval") for t in found.must_ask)
    assert found.allow_always == ()


@pytest.mark.parametrize("strict", [False, True])
@pytest.mark.parametrize("shape", [s.param() for s in SHAPES])
def test_allow_always_never_persists_the_interpreter(
    shape: Shape, strict: bool, tmp_path: Path
) -> None:
    _needs(shape)
    build(shape, tmp_path)
    found = analyse(shape, tmp_path, strict_inline_eval=strict)
    persisted = [g.pattern for g in found.allow_always if g.kind == "path"]
    assert not [p for p in persisted if is_interpreter_like(p)], persisted


@pytest.mark.parametrize("shape", [s.param() for s in CONTROLS])
def test_control_stays_allowed_in_strict_mode(shape: Shape, tmp_path: Path) -> None:
    _needs(shape)
    # The subject is strict inline eval; `awk -f FILE` / `sed -f FILE` are danger-profile
    # rows (a program the analyser cannot read), tested in test_class_danger_profiles.py.
    assert_allowed(shape, tmp_path, strict_inline_eval=True, danger_profiles=False)


# --------------------------------------------------------------------------- units


def _vfs(*paths: str) -> VirtualResolver:
    vfs = VirtualResolver()
    vfs.add_file("/w/.keep", executable=False)
    for path in paths:
        vfs.add_file(path)
    return vfs


def test_versioned_interpreter_is_never_persisted() -> None:
    # The example: allow-always on `python3.11 -c` saved /usr/bin/python3.11.
    for strict in (False, True):
        ev = evaluate_command(
            "python3.11 -c 'print(1)'",
            cwd="/w",
            env={"PATH": "/usr/bin"},
            allowlist=[],
            resolver=_vfs("/usr/bin/python3.11"),
            strict_inline_eval=strict,
        )
        assert all(g.kind == "command" for g in ev.allow_always), ev.allow_always
        if strict:
            assert ev.allow_always == ()


def test_blocked_wrapper_does_not_hide_the_hit() -> None:
    ev = evaluate_command(
        "sudo -u me python3 -c 'print(1)'",
        cwd="/w",
        env={"PATH": "/usr/bin"},
        allowlist=[AllowlistEntry(pattern="*")],
        resolver=_vfs("/usr/bin/sudo", "/usr/bin/python3"),
        strict_inline_eval=True,
    )
    assert [h.describe() for h in ev.inline_eval_hits] == ["python3 -c"]
    assert ev.allow_always == ()


@pytest.mark.parametrize(
    ("argv", "label"),
    [
        (["python3", "-c", "x"], "python3 -c"),
        (["pypy3.10", "-Sc", "x"], "pypy3.10 -c"),
        (["py", "-3", "-c", "x"], "py -c"),
        (["python3.11-dbg", "-c", "x"], "python3.11-dbg -c"),
        (["ipython", "-c", "x"], "ipython -c"),
        (["python3", "-mhttp.server"], "python3 -m"),
        (["node22", "-e", "1"], "node22 -e"),
        (["bun", "--print", "1"], "bun --print"),
        (["deno", "eval", "1"], "deno eval"),
        (["ts-node", "-e", "1"], "ts-node -e"),
        (["perl", "-Mstrict", "x.pl"], "perl -M"),
        (["perl", "-d:Trace", "x.pl"], "perl -d:"),
        (["perl5.36-x86_64-linux-gnu", "-e", "1"], "perl5.36-x86_64-linux-gnu -e"),
        (["ruby", "-0777ne", "1"], "ruby -e"),
        (["php", "-E", "1"], "php -E"),
        (["Rscript", "-e", "1"], "rscript -e"),
        (["julia", "-E", "1"], "julia -E"),
        (["osascript", "-e", "1"], "osascript -e"),
        (["osascript"], "osascript program on stdin"),
        (["nvim", "+!id"], "nvim +cmd"),
        (["vim", "-S", "s.vim"], "vim -S"),
        (["gdb", "--init-eval-command=x"], "gdb --init-eval-command"),
        (["gmake", "--eval", "x"], "gmake --eval"),
        (["gsed", "--expression", "1e id"], "gsed --expression"),
        (["expect"], "expect program on stdin"),
        (["jimsh"], "jimsh program on stdin"),
    ],
)
def test_detected_forms(argv: list[str], label: str) -> None:
    hit = detect_inline_eval(argv)
    assert hit is not None, argv
    assert hit.describe() == label


@pytest.mark.parametrize(
    "argv",
    [
        ["python3", "x.py"],
        ["python3", "-W", "ignore", "x.py"],
        ["python3", "-Wignore", "x.py"],
        ["python3", "-X", "dev", "x.py"],
        ["python3", "--version"],
        ["node", "-r", "dotenv/config", "app.js"],
        ["node", "--check", "app.js"],
        ["perl", "-I", "lib", "x.pl"],
        ["ruby", "-v"],
        ["php", "-f", "x.php"],
        ["php", "-l", "x.php"],
        ["lua", "-v"],
        ["tclsh", "-encoding", "utf-8", "x.tcl"],
        ["vim", "+10", "f.txt"],
        ["make"],
        ["make", "-j4", "all"],
        ["jq", "."],
        ["git", "-c", "x=y", "log"],
        ["python3-config", "--cflags"],
        ["exim4", "-bV"],
    ],
)
def test_not_inline_eval(argv: list[str]) -> None:
    assert detect_inline_eval(argv) is None, detect_inline_eval(argv)


_PY_FLAGS = st.text(alphabet="BEIOPRSbdiqsuvx", max_size=4)


@given(_PY_FLAGS, st.sampled_from(["c", "m"]))
def test_python_clusters_ending_in_c_or_m_hit(prefix: str, flag: str) -> None:
    hit = detect_inline_eval(["python3", f"-{prefix}{flag}", "x"])
    assert hit is not None
    assert hit.flag == f"-{flag}"


_ARGS = st.lists(
    st.sampled_from(["-c", "x", "-e", "-", "--", "-I", "x.py", "-W", "-V", "--eval=1", "-m"]),
    max_size=5,
)


@given(
    st.sampled_from(["python3", "perl", "node", "ruby", "php", "lua", "tclsh", "awk", "sed"]),
    st.sampled_from(["", "3", "3.11", "22", "5.36.0", "-2.1"]),
    _ARGS,
)
def test_version_suffix_never_changes_the_answer(name: str, version: str, args: list[str]) -> None:
    plain = detect_inline_eval([name, *args])
    versioned = detect_inline_eval([name + version, *args])
    assert (plain is None) == (versioned is None)
    if plain is not None and versioned is not None:
        assert plain.flag == versioned.flag


# --------------------------------------------------------------------------- OpenClaw 2026.9.6

_ORACLE_ARGVS: list[list[str]] = [
    [exe, *args]
    for exe in (
        "python3", "python3.11", "pypy3", "node", "node22", "nodejs", "bun", "deno", "perl",
        "perl5.36.0", "ruby", "php", "lua", "Rscript", "r", "julia", "elixir", "guile",
        "groovy", "scala", "clojure", "raku", "ghc", "erl", "gdb", "expect", "osascript",
        "awk", "gawk", "sed", "make", "find", "xargs",
    )
    for args in (
        ["-c", "x"], ["-cx"], ["-Ic", "x"], ["-e", "x"], ["-ex"], ["-pe", "x"], ["-le", "x"],
        ["-ne", "x"], ["-0777ne", "x"], ["-E", "x"], ["-Ex"], ["--eval", "x"], ["--eval=x"],
        ["--ev", "x"], ["--print", "x"], ["-p", "x"], ["-r", "x"], ["-B", "x"], ["-R", "x"],
        ["--source=x"], ["--so", "x"], ["-ex", "x"], ["-iex", "x"], ["-eval-command=x"],
        ["--init-eval-command", "x"], ["-eval", "x"], ["-s", "x"], ["-f", "x"], ["-fx"],
        ["--file=x"], ["x"], ["-n", "x"], ["--", "x"], ["-exec", "x", ";"], ["-W", "x"],
        ["-en", "x"], ["-encoding", "x"], ["--script-snippet", "x"], ["-m", "x"],
    )
]  # fmt: skip


@pytest.mark.oracle
def test_never_looser_than_openclaw_2026_9_6(oracle96: Any) -> None:
    cases = [
        {"id": str(i), "op": "inlineEval", "argv": argv} for i, argv in enumerate(_ORACLE_ARGVS)
    ]
    answers = oracle96.run(cases)
    hits = 0
    for case, answer in zip(cases, answers, strict=True):
        theirs = answer["result"]["hit"]
        if theirs is None or not answer["result"]["interpreterOnly"]:
            continue
        hits += 1
        ours = detect_inline_eval(case["argv"])
        assert ours is not None, case["argv"]
        assert ours.flag == theirs["flag"], (case["argv"], ours, theirs)
    assert hits > 300
