"""
Bypass class: an entry's ``argPattern`` is enforced (issue #12, class 3).

``{pattern: /usr/bin/git, argPattern: "^status$"}`` used to allow ``git -c alias.x='!cmd'
x``: the field was stored and shown but never consulted. It now follows OpenClaw 2026.9.6's
``matchAllowlist``: a JavaScript regex over the arguments joined by a space (NUL-terminated
when the pattern holds NUL), tested with ``RegExp.test`` (unanchored), on every segment
(chained, piped, inside ``bash -c``, behind dispatch wrappers). An argPattern that is not a
valid regex, or that cannot be translated into Python faithfully, never matches. Each shape
below plants the canary with real bash and dash and must not be auto-approved when the
administrator restricted the program with an argPattern; controls with the allowed
arguments stay allowed.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from _canary import CANARY, SCRIPT, TOUCH, Shape, assert_allowed, assert_real, assert_refused
from hypothesis import given, settings
from hypothesis import strategies as st

from _oracle import find_openclaw, find_oracle, skip_or_fail
from openclaw_exec.analysis import (
    arg_pattern_matches,
    compile_allowlist,
    evaluate_command,
    evaluation_to_dict,
    format_evaluation_table,
)
from openclaw_exec.cli import main as cli_main
from openclaw_exec.exceptions import ApprovalsFileError
from openclaw_exec.policy import (
    AllowlistEntry,
    arg_pattern_problem,
    check_arg_patterns,
    cwd_bound_arg_pattern,
    loads_approvals,
)
from openclaw_exec.policy._argpattern import MAX_SUBJECT, compile_arg_pattern
from openclaw_exec.testing import VirtualResolver

GIT = (("git", "^status$", None),)
GIT2 = (("git", "^(status|log)$", None),)
TOUCH_STAMP = (("touch", "^stamp$", None),)
TEE = (("tee", r"^out\.txt$", None),)
ALIAS = f"git -c alias.x='!{TOUCH}' x"

SHAPES = [
    Shape(ALIAS, entries=GIT, note="-c defines a shell alias: not status"),
    Shape(f"git -c alias.st='!{TOUCH}' st", entries=GIT2, note="alias under another name"),
    Shape(f"git -c alias.status2='!{TOUCH}' status2", entries=GIT2, note="prefix of status"),
    Shape(f"git status; {ALIAS}", entries=GIT, note="second segment of a list"),
    Shape(f"git status || {ALIAS}", entries=GIT, note="second segment of ||"),
    Shape(f"echo a | {ALIAS}", entries=GIT, note="inside a pipeline"),
    Shape(f'bash -c "{ALIAS}"', entries=GIT, note="inside a bash -c payload"),
    Shape(f'sh -c "git status; {ALIAS}"', entries=GIT, note="inside an sh -c payload"),
    Shape(f"env {ALIAS}", entries=GIT, note="behind env (dispatch wrapper)"),
    Shape(f"env -i {ALIAS}", entries=GIT, note="behind env -i"),
    Shape(f"touch {CANARY}", entries=TOUCH_STAMP, note="other operand"),
    Shape(f"touch stamp {CANARY}", entries=TOUCH_STAMP, note="extra operand"),
    Shape(f"touch {CANARY} stamp", entries=TOUCH_STAMP, note="extra operand first"),
    Shape(f"touch -- {CANARY}", entries=TOUCH_STAMP, note="after --"),
    Shape(f"sh -c 'touch {CANARY}'", entries=TOUCH_STAMP, note="payload operand"),
    Shape(f"echo x | tee {CANARY}", entries=TEE, note="tee writes another file"),
    Shape(f"echo x | tee out.txt {CANARY}", entries=TEE, note="tee writes two files"),
    Shape(
        f"tar -cf x.tar --checkpoint=1 --checkpoint-action=exec='{TOUCH}' f",
        files={"f": "data\n"},
        entries=(("tar", r"^-tf \S+$", None),),
        note="tar checkpoint action runs a command",
    ),
    Shape(
        f'python3 -c \'open("{CANARY}", "w")\'',
        entries=(("python3", "^-V$", None),),
        note="python restricted to -V runs code",
    ),
    Shape(
        "python3 x.py",
        files={"x.py": f"open('{CANARY}', 'w')\n"},
        entries=(("python3", "^-V$", None),),
        note="python restricted to -V runs a script",
    ),
    Shape(
        f"awk 'BEGIN {{ system(\"{TOUCH}\") }}'",
        entries=(("awk", r"^-F: \{print \$1\}$", None),),
        note="awk restricted to one program runs another",
    ),
    Shape(
        f"sed -n '1e {TOUCH}' f",
        files={"f": "line\n"},
        entries=(("sed", "^-n p$", None),),
        note="GNU sed e command",
    ),
    Shape(
        "make",
        files={"Makefile": f"all:\n\t{TOUCH}\n"},
        entries=(("make", "^-n$", None),),
        note="make restricted to -n runs the recipe",
    ),
    Shape(
        f"find . -maxdepth 0 -fprint {CANARY}",
        entries=(("find", r"^\. -name \S+$", None),),
        note="find -fprint writes a file",
    ),
    Shape(
        f"cp f {CANARY}",
        files={"f": "x\n"},
        entries=(("cp", "^-n src dst$", None),),
        note="cp to another destination",
    ),
    # What never matches: an invalid regex, an untranslatable one, inactive grants.
    Shape(f"touch {CANARY}", entries=(("touch", "((", None),), note="not a regex"),
    Shape(f"touch {CANARY}", entries=(("touch", r"(a)\1|.*", None),), note="backreference"),
    Shape(f"touch {CANARY}", entries=(("touch", r"(?<n>.*)", None),), note="named group"),
    Shape(f"touch {CANARY}", entries=(("touch", r"(.+)+", None),), note="nested quantifier"),
    Shape(
        f"touch {CANARY}",
        entries=(("touch", "sha256:argv:" + "0" * 64, None),),
        note="legacy hashed argPattern is inactive",
    ),
    Shape(
        f"touch {CANARY}",
        entries=(("touch", ".*", "allow-always"),),
        note="a regex argPattern on an allow-always grant is inactive",
    ),
    Shape(
        f"touch {CANARY}",
        entries=(("touch", None, "allow-always"),),
        note="a path-only allow-always grant is inactive (2026.9.6)",
    ),
    Shape(
        f"touch stamp {CANARY}",
        entries=(("touch", "^stamp\0$", None),),
        note="NUL-joined subject: stamp\\0CANARY\\0",
    ),
    Shape(
        f"touch {CANARY}",
        entries=(("touch", r"^(?!CANARY)", None),),
        note="lookahead refuses the operand",
    ),
    Shape("./x.sh", files={"x.sh": SCRIPT}, entries=TOUCH_STAMP, note="not the program"),
]

CONTROLS = [
    Shape("git status", entries=GIT, note="the allowed arguments"),
    Shape("git log", entries=GIT2, note="one alternative"),
    Shape("env git status", entries=GIT, note="behind env, the same arguments"),
    Shape("touch stamp", entries=TOUCH_STAMP, note="exactly the allowed operand"),
    Shape("echo x | tee out.txt", entries=TEE, note="tee to the allowed file"),
    Shape("python3 -V", entries=(("python3", "^-V$", None),), note="version only"),
    Shape("echo x | sed -n p", entries=(("sed", "^-n p$", None),), note="the allowed program"),
    Shape("find . -name f", entries=(("find", r"^\. -name \S+$", None),), note="a search"),
    Shape("touch stamp", entries=(("touch", "^stamp\0$", None),), note="NUL-joined subject"),
    Shape("touch stamp", entries=(("touch", "stamp", None),), note="RegExp.test is unanchored"),
    Shape("touch stamp", entries=(("touch", "", None),), note="an empty argPattern is none"),
    Shape(
        "touch stamp",
        entries=(("touch", "((", None), ("touch", "^stamp$", None)),
        note="an invalid entry does not hide a valid one",
    ),
]


@pytest.mark.parametrize("shape", [s.param() for s in SHAPES])
def test_shape_is_real(shape: Shape, tmp_path: Path) -> None:
    assert_real(shape, tmp_path)


@pytest.mark.parametrize("shape", [s.param() for s in SHAPES])
def test_shape_is_refused(shape: Shape, tmp_path: Path) -> None:
    assert_refused(shape, tmp_path)


@pytest.mark.parametrize("shape", [s.param() for s in CONTROLS])
def test_control_stays_allowed(shape: Shape, tmp_path: Path) -> None:
    assert_allowed(shape, tmp_path)


def test_the_corpus_is_large_enough() -> None:
    assert len(SHAPES) >= 20
    assert len({s.command for s in SHAPES}) >= 20


# --------------------------------------------------------------------------- semantics

_VFS_PATHS = ("/usr/bin/git", "/usr/bin/touch", "/usr/bin/env")


def _vfs() -> VirtualResolver:
    vfs = VirtualResolver()
    vfs.add_file("/w/.keep", executable=False)
    for path in _VFS_PATHS:
        vfs.add_file(path)
    return vfs


def _satisfied(command: str, entries: list[AllowlistEntry], cwd: str = "/w") -> bool:
    found = evaluate_command(
        command, cwd=cwd, env={"PATH": "/usr/bin"}, allowlist=entries, resolver=_vfs()
    )
    return found.allowlist_satisfied


def test_an_argpattern_match_wins_over_an_earlier_path_entry() -> None:
    plain = AllowlistEntry(pattern="/usr/bin/git")
    bound = AllowlistEntry(pattern="/usr/bin/git", arg_pattern="^status$")
    compiled = compile_allowlist([plain, bound])
    resolved = _resolved("/usr/bin/git")
    assert compiled.match(resolved, argv=("git", "status"), cwd="/w") is bound
    assert compiled.match(resolved, argv=("git", "push"), cwd="/w") is plain
    # Without arguments to test, an argPattern entry cannot match.
    assert compile_allowlist([bound]).match(resolved) is None


def _resolved(path: str) -> Any:
    found = evaluate_command(
        path, cwd="/w", env={"PATH": "/usr/bin"}, allowlist=(), resolver=_vfs()
    ).segments[0]
    return found.executable


def test_a_bare_star_with_an_argpattern_is_not_a_wildcard() -> None:
    star = AllowlistEntry(pattern="*", arg_pattern="^status$")
    assert not _satisfied("git status", [star])
    assert _satisfied("git status", [AllowlistEntry(pattern="*")])
    assert not _satisfied("git status", [AllowlistEntry(pattern="*", source="allow-always")])


def test_cwd_bound_grants_match_exact_arguments_in_their_folder() -> None:
    grant = AllowlistEntry(
        pattern="/usr/bin/git",
        source="allow-always",
        arg_pattern=cwd_bound_arg_pattern(["git", "status"], "/w"),
    )
    assert _satisfied("git status", [grant])
    assert _satisfied("env git status", [grant])
    assert not _satisfied("git status --short", [grant])
    assert not _satisfied("git status", [grant], cwd="/")
    assert not _satisfied("git 'status '", [grant])
    # argv[0] is not part of the hash: the same arguments to another program do not
    # match because the pattern names git.
    assert not _satisfied("touch status", [grant])
    found = evaluate_command(
        "git status", cwd="/w", env={"PATH": "/usr/bin"}, allowlist=[grant], resolver=_vfs()
    )
    assert found.durable_approval_satisfied


def test_argument_boundaries_count_in_the_hash() -> None:
    one = cwd_bound_arg_pattern(["x", "a b"], "/w")
    two = cwd_bound_arg_pattern(["x", "a", "b"], "/w")
    none = cwd_bound_arg_pattern(["x"], "/w")
    empty = cwd_bound_arg_pattern(["x", ""], "/w")
    assert len({one, two, none, empty}) == 4
    assert cwd_bound_arg_pattern(["x"], "/w/./") == cwd_bound_arg_pattern(["y"], "/w/")


def test_arg_pattern_matches_is_the_argument_half() -> None:
    entry = AllowlistEntry(pattern="/usr/bin/git", arg_pattern="^status$")
    assert arg_pattern_matches(entry, ["git", "status"], cwd="/w")
    assert not arg_pattern_matches(entry, ["git", "push"], cwd="/w")
    assert not arg_pattern_matches(AllowlistEntry(pattern="/usr/bin/git"), ["git"], cwd="/w")
    aa = AllowlistEntry(pattern="/usr/bin/git", arg_pattern=".*", source="allow-always")
    assert not arg_pattern_matches(aa, ["git", "status"], cwd="/w")


# Answers of Node 24's `new RegExp(pattern).test(subject)`, recorded (the live check below
# asks Node again when it is installed). (pattern, subject, JavaScript's answer)
JS_ANSWERS = [
    ("^status$", "status", True),
    ("^status$", "status\n", False),  # Python's $ also matches before a final newline
    ("^status$", "status ", False),
    ("status", "-s status", True),  # test() is unanchored
    ("^.$", "\u00e9", True),
    ("^.$", "\U0001f600", False),  # two UTF-16 code units
    ("^..$", "\U0001f600", True),
    ("^.$", "\r", False),  # '.' stops at every line terminator
    ("^.$", "\u2028", False),
    (r"^\d$", "\u0663", False),  # Arabic-Indic three: JavaScript's \d is ASCII
    (r"^\w$", "\u00e9", False),
    (r"^\s$", "\u00a0", True),
    (r"^\s$", "\ufeff", True),
    (r"^\s$", "\x1c", False),  # Python's \s includes \x1c-\x1f
    (r"^\S$", "\x1c", True),
    (r"^\B$", "", True),
    (r"\bpush\b", "a push", True),
    ("x{2}", "xx", True),
    ("^a{$", "a{", True),
    ("^[a-]+$", "a-a", True),
    (r"^\x41$", "A", True),
    (r"^\u0041$", "A", True),
    ("^a??$", "a", True),
    (r"^(?=st)status$", "status", True),
    (r"^(?!push)\w+$", "push", False),
    ("]", "]", True),
]


@pytest.mark.parametrize(("pattern", "subject", "expected"), JS_ANSWERS)
def test_regex_semantics_are_javascripts(pattern: str, subject: str, expected: bool) -> None:
    compiled = compile_arg_pattern(pattern)
    assert compiled.kind == "regex", compiled.problem
    assert compiled.matches(["x", subject]) is expected


INVALID = ["((", "(", ")", "[", "a**", "*a", "x{2,1}", "[z-a]", "\\", "a???", "(?i)a"]
UNSUPPORTED = [
    r"(a)\1",
    r"(?<n>a)",
    r"\k<n>",
    r"\cA",
    r"\p{L}",
    "[]",
    "[^]",
    r"[\d-z]",
    "x{,2}",
    "(a+)+",
    "(a|b)*",
    ".*.*.*.*",
    "a{0,30}a{0,30}a{0,30}a{0,30}b",
    r"\a",
    r"(?=a)*",
]


@pytest.mark.parametrize("pattern", INVALID + UNSUPPORTED)
def test_untranslatable_patterns_never_match_and_are_refused(pattern: str) -> None:
    compiled = compile_arg_pattern(pattern)
    assert compiled.kind == "invalid"
    assert arg_pattern_problem(pattern) is not None
    for subject in ("", "a", "aa", "status", pattern):
        assert not compiled.matches(["x", subject])


def test_long_subjects_fail_closed() -> None:
    compiled = compile_arg_pattern(".*")
    assert compiled.matches(["x", "a" * MAX_SUBJECT])
    assert not compiled.matches(["x", "a" * (MAX_SUBJECT + 1)])
    costly = compile_arg_pattern(".*.*x")
    assert costly.kind == "regex"
    assert costly.max_subject < MAX_SUBJECT
    assert not costly.matches(["x", "a" * costly.max_subject + "x" * 10])


def test_regex_semantics_agree_with_node() -> None:
    install = find_openclaw("2026.9.6")
    if install is None:
        pytest.skip("Node 24 is not installed (scripts/setup-openclaw.sh)")
    patterns = sorted({p for p, _, _ in JS_ANSWERS} | set(INVALID) | set(UNSUPPORTED))
    subjects = sorted({s for _, s, _ in JS_ANSWERS} | {"", "a", "aa", "ab", "status", "x{"})
    cases = [(p, s) for p in patterns for s in subjects]
    script = (
        "const c=JSON.parse(require('fs').readFileSync(0,'utf8'));"
        "console.log(JSON.stringify(c.map(([p,s])=>{try{return new RegExp(p).test(s)?1:0}"
        "catch(e){return -1}})))"
    )
    proc = subprocess.run(
        [str(install.node), "-e", script],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    answers = json.loads(proc.stdout)
    compared = 0
    for (pattern, subject), answer in zip(cases, answers, strict=True):
        compiled = compile_arg_pattern(pattern)
        if answer == -1:
            assert compiled.kind == "invalid", pattern
            continue
        ours = compiled.matches(["x", subject])
        assert ours <= bool(answer), (pattern, subject)  # never looser
        if compiled.kind == "regex":
            assert ours == bool(answer), (pattern, subject)
            compared += 1
    assert compared > 300


# --------------------------------------------------------------------------- properties

_ARGS = st.lists(st.text(alphabet="ab -\n\u00e9", max_size=6), max_size=4)
_PATTERNS = st.text(alphabet="ab.*+?|()[]^$\\-{}12 ", max_size=10)


@settings(max_examples=300, deadline=None)
@given(pattern=_PATTERNS, args=_ARGS)
def test_an_argpattern_never_allows_more_than_the_entry_without_it(
    pattern: str, args: list[str]
) -> None:
    argv = ("git", *args)
    with_it = compile_allowlist([AllowlistEntry(pattern="/usr/bin/git", arg_pattern=pattern)])
    without = compile_allowlist([AllowlistEntry(pattern="/usr/bin/git")])
    resolved = _resolved("/usr/bin/git")
    if with_it.match(resolved, argv=argv, cwd="/w") is not None:
        assert without.match(resolved, argv=argv, cwd="/w") is not None


@settings(max_examples=300, deadline=None)
@given(pattern=_PATTERNS, args=_ARGS)
def test_a_pattern_refused_on_write_never_matches(pattern: str, args: list[str]) -> None:
    if arg_pattern_problem(pattern) is None:
        return
    entry = AllowlistEntry(pattern="/usr/bin/git", arg_pattern=pattern)
    assert not arg_pattern_matches(entry, ["git", *args], cwd="/w")
    assert compile_allowlist([entry]).match(_resolved("/usr/bin/git"), argv=["git", *args]) is None


# --------------------------------------------------------------------------- writing


def _file(arg_pattern: str) -> str:
    entry = {"pattern": "/usr/bin/git", "argPattern": arg_pattern}
    return json.dumps({"version": 1, "agents": {"main": {"allowlist": [entry]}}})


def test_a_file_with_an_invalid_argpattern_loads_but_is_refused_on_write() -> None:
    loaded = loads_approvals(_file("(("), source="/etc/a.json")
    entry = loaded.agents["main"].allowlist[0]
    assert entry.arg_pattern == "(("
    assert not _satisfied("git status", [entry])
    with pytest.raises(ApprovalsFileError) as info:
        check_arg_patterns(loaded, source="/etc/a.json")
    text = str(info.value)
    assert "/etc/a.json" in text
    assert "agents.main.allowlist[0].argPattern" in text
    assert "regular expression" in text
    check_arg_patterns(loads_approvals(_file("^status$")))


def test_cli_refuses_an_invalid_argpattern(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "exec-approvals.json"
    add = ["approvals", "allowlist", "add", "--approvals", str(path), "/usr/bin/git"]
    assert _cli([*add, "--arg-pattern", "(("]) == 2
    err = capsys.readouterr().err
    assert "argPattern" in err
    assert str(path) in err
    assert "not a valid regular expression" in err
    assert "Traceback" not in err
    assert not path.exists() or "((" not in path.read_text()
    assert _cli([*add, "--arg-pattern", "^st$"]) == 0
    assert "^st$" in path.read_text()
    bad = tmp_path / "bad.json"
    bad.write_text(_file("(a)\\1"))
    capsys.readouterr()
    assert _cli(["approvals", "set", "--approvals", str(path), "--file", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "agents.main.allowlist[0].argPattern" in err
    assert "not supported" in err
    assert "^st$" in path.read_text()


def _cli(args: list[str]) -> int:
    try:
        return cli_main(args)
    except SystemExit as exc:
        return int(exc.code or 0)


# --------------------------------------------------------------------------- OpenClaw 2026.9.6

_ORACLE_COMMANDS = [
    "git status",
    "git push",
    "git status --short",
    "git log",
    "git -c alias.x=y x",
    "git status; git push",
    "git status | git log",
    "env git status",
    "touch stamp",
    "touch stamp other",
    "touch CANARY",
    "touch",
]
_ORACLE_ENTRIES = [
    [{"pattern": "{bin}/git", "argPattern": "^status$"}],
    [{"pattern": "{bin}/git", "argPattern": "^(status|log)( --short)?$"}],
    [{"pattern": "{bin}/git", "argPattern": "status"}],
    [{"pattern": "{bin}/git", "argPattern": "(("}],
    [{"pattern": "{bin}/git"}, {"pattern": "{bin}/git", "argPattern": "^push$"}],
    [{"pattern": "{bin}/git", "source": "allow-always"}],
    [{"pattern": "{bin}/git", "argPattern": ".*", "source": "allow-always"}],
    [{"pattern": "{bin}/touch", "argPattern": "^stamp\u0000$"}],
    [{"pattern": "{bin}/touch", "argPattern": "^stamp( other)?$"}],
    [{"pattern": "*", "argPattern": "^status$"}],
    [{"pattern": "{bin}/*", "argPattern": "^(status|stamp)$"}],
]


def _oracle_world(tmp_path: Path) -> tuple[str, dict[str, str]]:
    folder = tmp_path / "bin"
    folder.mkdir()
    for name in ("git", "touch", "env"):
        exe = folder / name
        exe.write_text("#!/bin/sh\nexit 0\n")
        exe.chmod(0o755)
    return str(folder), {"PATH": str(folder), "HOME": str(tmp_path)}


def test_never_looser_than_openclaw_2026_9(tmp_path: Path) -> None:
    oracle = find_oracle("2026.9.6")
    if oracle is None:
        skip_or_fail("OpenClaw 2026.9.6")
        return
    folder, env = _oracle_world(tmp_path)
    cwd = str(tmp_path)
    cases: list[dict[str, Any]] = []
    ours: list[bool] = []
    for e_index, entries in enumerate(_ORACLE_ENTRIES):
        allowlist = [{**e, "pattern": e["pattern"].format(bin=folder)} for e in entries]
        for c_index, command in enumerate(_ORACLE_COMMANDS):
            cases.append(
                {
                    "id": f"{e_index}:{c_index}",
                    "op": "shell",
                    "command": command,
                    "allowlist": allowlist,
                    "cwd": cwd,
                    "env": env,
                }
            )
            mine = [
                AllowlistEntry(
                    pattern=e["pattern"], arg_pattern=e.get("argPattern"), source=e.get("source")
                )
                for e in allowlist
            ]
            found = evaluate_command(command, cwd=cwd, env=env, allowlist=mine)
            ours.append(found.allowlist_satisfied)
    answers = oracle.results(cases)
    agree = 0
    for case, mine_ok, theirs in zip(cases, ours, answers, strict=True):
        assert mine_ok <= bool(theirs["allowlistSatisfied"]), (case["command"], case["allowlist"])
        agree += mine_ok == bool(theirs["allowlistSatisfied"])
    assert agree >= len(cases) * 0.9


def test_allow_always_grants_equal_openclaw_2026_9(tmp_path: Path) -> None:
    oracle = find_oracle("2026.9.6")
    if oracle is None:
        skip_or_fail("OpenClaw 2026.9.6")
        return
    _folder, env = _oracle_world(tmp_path)
    cwd = str(tmp_path)
    commands = ["git status", "git", "touch 'a b' c", "env git log -n 3", "git '' x"]
    cases = [
        {"id": str(i), "op": "allowAlways", "command": c, "cwd": cwd, "env": env}
        for i, c in enumerate(commands)
    ]
    answers = oracle.results(cases)
    for command, theirs in zip(commands, answers, strict=True):
        found = evaluate_command(command, cwd=cwd, env=env)
        mine = {(g.pattern, g.arg_pattern) for g in found.allow_always}
        entries = theirs["decision"]["entries"]
        assert mine == {(e["pattern"], e.get("argPattern")) for e in entries}, command


def test_explain_shows_the_arg_pattern_that_matched() -> None:
    entry = AllowlistEntry(pattern="/usr/bin/git", arg_pattern="^status$")
    found = evaluate_command(
        "git status; git push",
        cwd="/w",
        env={"PATH": "/usr/bin"},
        allowlist=[entry],
        resolver=_vfs(),
    )
    table = format_evaluation_table(found)
    assert "argPattern=^status$" in table
    assert "no allowlist entry matches /usr/bin/git" in table
    data = evaluation_to_dict(found)
    assert data["segments"][0]["matchedEntry"]["argPattern"] == "^status$"
    assert data["segments"][1]["matchedEntry"] is None
    grants = data["allowAlways"]
    assert grants[0]["argPattern"] == cwd_bound_arg_pattern(["git", "status"], "/w")
