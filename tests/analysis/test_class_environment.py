"""
Issue #12 class 4: the environment the agent asks for, and PATH entries (class 11's cap).

Every refused shape is checked against the real shells (it plants the canary when run with
the variables it asks for) and against the analyser (never ALLOW); its twin without the
variables stays ALLOW and harmless, so what is refused is the environment, not the command.
The tables are compared with OpenClaw 2026.9.6's dist (drift), and the decisions with its own
functions (never looser).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import attrs
import pytest
from _canary import (
    BASE_PATH,
    CANARY,
    HONEST,
    POLICY,
    SCRIPT,
    Shape,
    assert_allowed,
    assert_real,
    assert_refused,
    build,
)
from hypothesis import given
from hypothesis import strategies as st

from _oracle import find_openclaw, skip_or_fail
from openclaw_exec.analysis import (
    MAX_PATH_ENTRIES,
    evaluate_command,
    is_blocked_inherited,
    is_blocked_override,
    plan_exec_env,
    sanitize_inherited_env,
)
from openclaw_exec.analysis import _host_env_data as data
from openclaw_exec.analysis._host_env import environment_failure
from openclaw_exec.policy import AllowlistEntry, Verdict

EVIL = SCRIPT
SSH_CFG = "[core]\n\tsshCommand = ./evil\n"
LS_REMOTE = "git ls-remote ssh://example.invalid/r"
HAVE = {name: shutil.which(name, path=BASE_PATH) is not None for name in ("perl", "less", "zip")}


def _needs(name: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(not HAVE[name], reason=f"{name} is not installed")


# (shape, twin_allowed): the twin is the same command and files without the requested env.
REQUESTED: list[tuple[Shape, bool]] = [
    (
        Shape(
            LS_REMOTE,
            files={"evil": EVIL},
            env={
                "GIT_CONFIG_COUNT": "1",
                "GIT_CONFIG_KEY_0": "core.sshCommand",
                "GIT_CONFIG_VALUE_0": "./evil",
            },
            note="git config from the environment: core.sshCommand runs a program",
        ),
        True,
    ),
    (
        Shape(
            LS_REMOTE,
            files={"evil": EVIL},
            env={"GIT_CONFIG_PARAMETERS": "'core.sshcommand'='./evil'"},
        ),
        True,
    ),
    (
        Shape(
            LS_REMOTE, files={"g.cfg": SSH_CFG, "evil": EVIL}, env={"GIT_CONFIG_GLOBAL": "g.cfg"}
        ),
        True,
    ),
    (Shape(LS_REMOTE, files={"eh/.gitconfig": SSH_CFG, "evil": EVIL}, env={"HOME": "eh"}), True),
    (
        Shape(
            LS_REMOTE,
            files={"cfg/git/config": SSH_CFG, "evil": EVIL},
            env={"XDG_CONFIG_HOME": "cfg"},
        ),
        True,
    ),
    (Shape("git ls-remote ssh://x.invalid/r", env={"GIT_SSH_COMMAND": f"touch {CANARY} #"}), True),
    (
        Shape(
            "git ls-remote ssh://example.invalid/r", files={"evil": EVIL}, env={"GIT_SSH": "./evil"}
        ),
        True,
    ),
    (
        Shape(
            "git ls-remote git://example.invalid/r",
            files={"evil": EVIL},
            env={"GIT_PROXY_COMMAND": "./evil"},
        ),
        True,
    ),
    (
        Shape(
            "git ls-remote https://example.invalid/r",
            files={"ex/git-remote-https": EVIL},
            env={"GIT_EXEC_PATH": "ex"},
        ),
        True,
    ),
    (
        Shape(
            "git diff --no-index a b",
            files={"a": "1\n", "b": "2\n", "evil": EVIL},
            env={"GIT_EXTERNAL_DIFF": "./evil"},
        ),
        True,
    ),
    (
        Shape("git config --global --edit", files={"evil": EVIL}, env={"GIT_EDITOR": "./evil"}),
        False,  # without an editor variable git starts vi: not a twin to run
    ),
    (
        Shape(
            "git config --global --edit",
            files={"evil": EVIL},
            env={"VISUAL": "./evil", "TERM": "xterm"},
        ),
        False,
    ),
    (Shape("git config --global --edit", files={"evil": EVIL}, env={"EDITOR": "./evil"}), False),
    (
        Shape(
            "git status",
            files={
                "r/HEAD": "ref: refs/heads/main\n",
                "r/objects": None,
                "r/refs": None,
                "r/config": "[core]\n\tfsmonitor = ./evil\n\tbare = false\n",
                "evil": EVIL,
            },
            env={"GIT_DIR": "r", "GIT_WORK_TREE": "."},
        ),
        True,
    ),
    (
        Shape(
            "tar cf x.tar a",
            files={"a": "1", "evil": EVIL},
            env={"TAR_OPTIONS": "--checkpoint=1 --checkpoint-action=exec=./evil"},
        ),
        True,
    ),
    (
        Shape(
            "python3 x.py",
            files={"x.py": "pass\n", "evil": EVIL},
            env={"PYTHONWARNINGS": "ignore::antigravity.X", "BROWSER": "./evil"},
            note="the warning category imports antigravity, which opens $BROWSER",
        ),
        True,
    ),
    (
        Shape(
            "python3 x.py",
            files={"x.py": "pass\n", "ev/sitecustomize.py": "open('CANARY', 'w')\n"},
            env={"PYTHONPATH": "ev"},
        ),
        True,
    ),
    (
        Shape(
            "make all",
            files={"Makefile": "all:\n\t@true\n", "e.mk": "$(shell touch CANARY)\n"},
            env={"MAKEFILES": "e.mk"},
        ),
        True,
    ),
    (
        Shape(
            "make x",
            files={"x.c": "int main(void) { return 0; }\n", "evil": EVIL},
            env={"CC": "./evil"},
        ),
        True,
    ),
    (Shape("ls", files={"evil": EVIL}, env={"BASH_ENV": "./evil"}, shells=("bash",)), True),
    (Shape("ls", env={"BASH_FUNC_ls%%": f"() {{ touch {CANARY}; }}"}, shells=("bash",)), True),
    (Shape("sh -i -c true", files={"evil": EVIL}, env={"ENV": "./evil"}), False),
]

NEEDS_TOOLS: list[tuple[Shape, str]] = [
    (
        Shape(
            "perl x.pl",
            files={"x.pl": "1;\n", "ev/E.pm": "open(F, '>CANARY'); 1;\n"},
            env={"PERL5OPT": "-Iev -ME"},
            allow=("perl",),
        ),
        "perl",
    ),
    (
        Shape(
            "perl x.pl",
            files={"x.pl": "use strict; 1;\n", "ev/strict.pm": "open(F, '>CANARY'); 1;\n"},
            env={"PERLLIB": "ev"},
            allow=("perl",),
        ),
        "perl",
    ),
    (
        Shape(
            "perl -d x.pl",
            files={"x.pl": "1;\n"},
            env={"PERL5DB": "BEGIN { open(F, '>CANARY') }"},
            allow=("perl",),
        ),
        "perl",
    ),
    (
        Shape(
            "less a",
            files={"a": "1\n", "evil": EVIL},
            env={"LESSOPEN": "|./evil %s"},
            allow=("less",),
        ),
        "less",
    ),
    (
        Shape(
            "zip -T z.zip a",
            files={"a": "1", "evil": EVIL},
            env={"ZIPOPT": "-TT ./evil"},
            allow=("zip",),
        ),
        "zip",
    ),
]

ALL_REFUSED = [s for s, _ in REQUESTED] + [s for s, _ in NEEDS_TOOLS]


def _params() -> list[object]:
    out: list[object] = [s.param(f"{'+'.join(s.env)}: ") for s, _ in REQUESTED]
    for shape, tool in NEEDS_TOOLS:
        out.append(
            pytest.param(shape, id=f"{'+'.join(shape.env)}: {shape.command}", marks=_needs(tool))
        )
    return out


def test_class_has_enough_shapes() -> None:
    assert len(ALL_REFUSED) >= 20
    assert len({tuple(sorted(s.env)) for s in ALL_REFUSED}) >= 20


@pytest.mark.parametrize("shape", _params())
def test_requested_variable_really_runs_code(shape: Shape, tmp_path: Path) -> None:
    assert_real(shape, tmp_path)


@pytest.mark.parametrize("shape", _params())
def test_requested_variable_is_refused(shape: Shape, tmp_path: Path) -> None:
    assert_refused(shape, tmp_path)
    found = evaluate_command(
        shape.command,
        cwd=str(tmp_path),
        env={"PATH": BASE_PATH, "HOME": str(tmp_path / "home")},
        env_overrides=dict(shape.env),
        allowlist=[AllowlistEntry(pattern=p) for p in HONEST],
    )
    assert found.failure is not None
    assert found.failure.construct.startswith("environment variable ")
    assert any(t.startswith("blocked-env: ") for t in found.must_ask)


@pytest.mark.parametrize(
    "shape",
    [
        pytest.param(attrs.evolve(s, env={}), id=s.command + " (no env)")
        for s, ok in REQUESTED
        if ok
    ],
)
def test_twin_without_the_variables_stays_allowed(shape: Shape, tmp_path: Path) -> None:
    assert_allowed(shape, tmp_path)


CONTROLS = [
    Shape("ls", env={"LANG": "C.UTF-8"}),
    Shape("ls", env={"TERM": "xterm-256color", "COLORTERM": "truecolor"}),
    Shape("ls", env={"TZ": "UTC", "LC_ALL": "C", "LC_CTYPE": "C.UTF-8"}),
    Shape("ls", env={"NO_COLOR": "1", "FORCE_COLOR": "0"}),
    Shape("git --version", env={"PAGER": "cat", "GIT_PAGER": ""}),
    Shape("git --version", env={"GIT_AUTHOR_NAME": "a", "GIT_COMMITTER_EMAIL": "a@b"}),
    Shape("python3 x.py", files={"x.py": "pass\n"}, env={"PYTHONUNBUFFERED": "1"}),
    Shape("python3 x.py", files={"x.py": "pass\n"}, env={"PYTHONDONTWRITEBYTECODE": "1"}),
    Shape("ls", env={"NODE_ENV": "production", "CI": "true", "DEBUG": "1"}),
    Shape("ls", env={"RUST_LOG": "debug", "RUST_BACKTRACE": "1", "GOOS": "linux"}),
]


@pytest.mark.parametrize("shape", [s.param("control: ") for s in CONTROLS])
def test_benign_requested_variables_stay_allowed(shape: Shape, tmp_path: Path) -> None:
    assert_allowed(shape, tmp_path)


# --------------------------------------------------------------------------- the tables

NAME = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,20}", fullmatch=True)
TABLE_NAMES = sorted(
    {
        *data.OPENCLAW_BLOCKED_EVERYWHERE_KEYS,
        *data.OPENCLAW_BLOCKED_OVERRIDE_ONLY_KEYS,
        *data.OPENCLAW_ALLOWED_INHERITED_OVERRIDE_ONLY_KEYS,
        *data.EXTRA_BLOCKED_EVERYWHERE_KEYS,
        *data.EXTRA_BLOCKED_OVERRIDE_KEYS,
        *data.EXTRA_EXEMPT_KEYS,
    }
)
ANY_NAME = st.one_of(
    NAME,
    st.sampled_from(TABLE_NAMES),
    st.sampled_from(TABLE_NAMES).map(str.lower),
    st.tuples(
        st.sampled_from(
            [*data.OPENCLAW_BLOCKED_PREFIXES, *data.EXTRA_BLOCKED_PREFIXES, "GIT_", "XDG_"]
        ),
        NAME,
    ).map("".join),
)


@given(ANY_NAME)
def test_matching_ignores_case(name: str) -> None:
    for variant in (name.lower(), name.upper()):
        assert is_blocked_override(variant) == is_blocked_override(name)
        assert is_blocked_inherited(variant) == is_blocked_inherited(name)


@given(ANY_NAME)
def test_what_is_stripped_when_inherited_is_refused_when_asked_for(name: str) -> None:
    if is_blocked_inherited(name) and name.upper() != "GIT_ALLOW_PROTOCOL":
        assert is_blocked_override(name)


@given(
    st.dictionaries(ANY_NAME, st.text(max_size=8)), st.dictionaries(ANY_NAME, st.text(max_size=8))
)
def test_no_blocked_name_ever_reaches_the_process(
    base: dict[str, str], asked: dict[str, str]
) -> None:
    inherited, stripped = sanitize_inherited_env(base)
    assert not set(inherited) & set(stripped)
    plan = plan_exec_env(inherited, asked, stripped=stripped)
    for key in plan.env:
        assert key not in plan.blocked
        assert not is_blocked_inherited(key) or key.upper() == "GIT_ALLOW_PROTOCOL"
        if key in asked:
            assert not is_blocked_override(key, asked[key])
    assert set(plan.env) <= set(inherited) | set(asked)
    for key, value in asked.items():
        assert (key in plan.blocked) == (is_blocked_override(key, value) or "\x00" in value)


@given(st.dictionaries(ANY_NAME, st.just("x"), max_size=12))
def test_the_fast_scan_agrees_with_the_rules(env: dict[str, str]) -> None:
    """``environment_failure``'s one-regex fast path says what the per-name rule says."""
    failure = environment_failure(env)
    assert (failure is not None) == any(is_blocked_inherited(k) for k in env)


def test_non_portable_names_are_refused_and_stripped() -> None:
    for name in ("BASH_FUNC_ls%%", "A-B", "1X", " LD_PRELOAD", "X Y", "é"):
        assert is_blocked_override(name)
        assert is_blocked_inherited(name)
    assert plan_exec_env({"PATH": "/bin"}, {"A=B": "x"}).blocked == ("A=B",)


def test_pager_off_is_accepted_as_openclaw_does() -> None:
    plan = plan_exec_env({}, {"PAGER": "cat", "GIT_PAGER": ""})
    assert plan.ok
    assert plan.env == {"PAGER": "", "GIT_PAGER": ""}
    assert plan_exec_env({}, {"PAGER": "./evil"}).blocked == ("PAGER",)


def test_git_protocol_knobs_are_tamed_not_stripped() -> None:
    env, stripped = sanitize_inherited_env(
        {"GIT_ALLOW_PROTOCOL": "ext:https:fd:ssh", "GIT_PROTOCOL_FROM_USER": "1"}
    )
    assert env == {"GIT_ALLOW_PROTOCOL": "https:ssh", "GIT_PROTOCOL_FROM_USER": "0"}
    assert stripped == ()


def test_issue_19_inherited_list_is_stripped() -> None:
    named = [
        "BROWSER",
        "SHELL",
        "GIT_EDITOR",
        "GIT_EXTERNAL_DIFF",
        "GIT_EXEC_PATH",
        "GIT_SEQUENCE_EDITOR",
        "GIT_TEMPLATE_DIR",
        "CC",
        "CXX",
        "PS4",
        "JAVA_TOOL_OPTIONS",
        "GLIBC_TUNABLES",
        "MAKEFLAGS",
        "NODE_OPTIONS",
        "NODE_PATH",
        "NODE_REPL_EXTERNAL_MODULE",
        "VIMINIT",
        "LUA_INIT",
        "CONFIG_SHELL",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "CARGO_HOME",
        "LD_PRELOAD",
        "LD_LIBRARY_PATH",
        "DYLD_INSERT_LIBRARIES",
        "GIT_CONFIG_COUNT",
        "GIT_CONFIG_KEY_0",
        "GIT_CONFIG_VALUE_0",
        "GIT_CONFIG_PARAMETERS",
        "GIT_SSH_COMMAND",
        "LESSOPEN",
        "TAR_OPTIONS",
        "PYTHONWARNINGS",
        "PERL5DB",
    ]
    for name in named:
        assert is_blocked_inherited(name), name
        assert is_blocked_inherited(name.lower()), name
    for name in ("PATH", "HOME", "LANG", "TERM", "TZ", "USER", "PWD", "LC_ALL", "NODE_ENV"):
        assert not is_blocked_inherited(name), name


def test_requested_path_home_and_xdg_are_refused() -> None:
    for name in ("PATH", "HOME", "XDG_CONFIG_HOME", "path", "Home", "ZDOTDIR", "TMPDIR"):
        assert is_blocked_override(name), name


# --------------------------------------------------------------------------- OpenClaw itself

DIST_NAME = re.compile(r"host-env-security-[A-Za-z0-9_-]+\.mjs")


def _dist_files() -> list[Path]:
    install = find_openclaw("2026.9.6")
    if install is None:
        skip_or_fail("Node 24 + OpenClaw 2026.9.6")
    assert install is not None
    return sorted(p for p in (install.package / "dist").iterdir() if DIST_NAME.fullmatch(p.name))


def _dist_policy() -> dict[str, list[str]]:
    for path in _dist_files():
        text = path.read_text(encoding="utf-8")
        if "host_env_security_policy_default = " not in text:
            continue
        body = text.split("host_env_security_policy_default = ", 1)[1].split("\n};", 1)[0]
        body = re.sub(r"(\n\t)(\w+):", r'\1"\2":', body + "\n}")
        loaded: dict[str, list[str]] = json.loads(body)
        return loaded
    pytest.fail("no host_env_security_policy_default in OpenClaw 2026.9.6's dist")


def test_tables_match_openclaw_dist() -> None:
    """Drift: the OPENCLAW_* tables are the dist's JSON, verbatim and in order."""
    policy = _dist_policy()
    assert data.UPSTREAM_VERSION == "2026.9.6"
    assert policy == {
        "blockedEverywhereKeys": list(data.OPENCLAW_BLOCKED_EVERYWHERE_KEYS),
        "blockedOverrideOnlyKeys": list(data.OPENCLAW_BLOCKED_OVERRIDE_ONLY_KEYS),
        "allowedInheritedOverrideOnlyKeys": list(
            data.OPENCLAW_ALLOWED_INHERITED_OVERRIDE_ONLY_KEYS
        ),
        "blockedOverridePrefixes": list(data.OPENCLAW_BLOCKED_OVERRIDE_PREFIXES),
        "blockedPrefixes": list(data.OPENCLAW_BLOCKED_PREFIXES),
    }


_ORACLE_JS = """
import { createInterface } from "node:readline";
const mod = await import(process.argv[process.argv.length - 1]);
const lines = [];
for await (const line of createInterface({ input: process.stdin })) lines.push(line);
const cases = JSON.parse(lines.join("\\n"));
const out = { names: {}, sanitized: null };
for (const name of cases.names) {
  out.names[name] = {
    inherited: mod.isDangerousHostInheritedEnvVarName(name),
    override: mod.isDangerousHostEnvVarName(name) || mod.isDangerousHostEnvOverrideVarName(name),
  };
}
const result = mod.sanitizeHostExecEnvWithDiagnostics({
  baseEnv: cases.base, overrides: cases.overrides, blockPathOverrides: true,
});
out.sanitized = {
  env: result.env,
  blocked: [...result.rejectedOverrideBlockedKeys, ...result.rejectedOverrideInvalidKeys],
};
console.log(JSON.stringify(out));
"""


def _ask_openclaw(names: list[str], base: dict[str, str], overrides: dict[str, str]) -> dict:  # type: ignore[type-arg]
    install = find_openclaw("2026.9.6")
    assert install is not None
    # The small re-export module names the functions; the big one holds the policy.
    entry = next(
        p
        for p in _dist_files()
        if "host_env_security_policy_default" not in p.read_text(encoding="utf-8")
    )
    done = subprocess.run(
        [str(install.node), "--input-type=module", "-e", _ORACLE_JS, "--", entry.as_uri()],
        input=json.dumps({"names": names, "base": base, "overrides": overrides}),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    answer: dict = json.loads(done.stdout)  # type: ignore[type-arg]
    return answer


def test_never_looser_than_openclaw() -> None:
    """Every name OpenClaw strips or refuses, we strip or refuse (and its whole run env)."""
    _dist_files()
    names = sorted(
        {
            *TABLE_NAMES,
            *(n.lower() for n in TABLE_NAMES),
            *(
                p + "X"
                for p in (*data.OPENCLAW_BLOCKED_PREFIXES, *data.OPENCLAW_BLOCKED_OVERRIDE_PREFIXES)
            ),
            "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER",
            "CARGO_TARGET_AARCH64_APPLE_DARWIN_RUNNER",
            "PATH",
            "LANG",
            "TERM",
            "FOO",
            "PAGER",
        }
    )
    base = dict.fromkeys(names, "x")
    overrides = dict.fromkeys(names, "x")
    answer = _ask_openclaw(names, base, overrides)
    looser = []
    for name, theirs in answer["names"].items():
        if (
            theirs["inherited"]
            and not is_blocked_inherited(name)
            and name.upper()
            not in {
                "GIT_ALLOW_PROTOCOL",
                "GIT_PROTOCOL_FROM_USER",
            }
        ):
            looser.append(f"inherited {name}")
        if theirs["override"] and not is_blocked_override(name):
            looser.append(f"override {name}")
    assert not looser
    # The whole pipeline: what reaches the process is never more than OpenClaw passes on.
    inherited, stripped = sanitize_inherited_env(base)
    ours = plan_exec_env(inherited, overrides, stripped=stripped)
    # (OpenClaw adds its own marker variable; only names that were asked about count.)
    theirs_env = {k: v for k, v in answer["sanitized"]["env"].items() if k in base}
    extra = sorted(set(ours.env) - set(theirs_env))
    assert not extra
    assert set(answer["sanitized"]["blocked"]) <= {k.upper() for k in ours.blocked}


# --------------------------------------------------------------------------- PATH entries


def _traversal_world(tmp_path: Path) -> str:
    """``w/sym -> evil/sub``: ``w/sym/../bin`` is ``evil/bin`` to the kernel, ``w/bin`` by text."""
    (tmp_path / "evil" / "sub").mkdir(parents=True)
    (tmp_path / "evil" / "bin").mkdir()
    (tmp_path / "w" / "bin").mkdir(parents=True)
    (tmp_path / "w" / "sym").symlink_to(tmp_path / "evil" / "sub")
    ls = tmp_path / "evil" / "bin" / "ls"
    ls.write_text(SCRIPT)
    ls.chmod(0o755)
    return f"{tmp_path}/w/sym/../bin:{BASE_PATH}"


@pytest.mark.parametrize("shell", ["bash", "dash"])
def test_path_entry_with_dotdot_through_a_symlink(tmp_path: Path, shell: str) -> None:
    path = _traversal_world(tmp_path)
    env = {"PATH": path, "HOME": str(tmp_path)}
    exe = shutil.which(shell, path=BASE_PATH)
    assert exe is not None
    subprocess.run([exe, "-c", "ls"], cwd=tmp_path, env=env, capture_output=True, check=False)
    assert (tmp_path / CANARY).exists(), "the kernel follows the symlink before .."
    found = evaluate_command(
        "ls", cwd=str(tmp_path), env=env, allowlist=[AllowlistEntry(pattern=p) for p in HONEST]
    )
    assert found.verdict(POLICY).verdict is not Verdict.ALLOW
    # Without the traversal entry the same PATH resolves /usr/bin/ls: allowed.
    clean = {"PATH": BASE_PATH, "HOME": str(tmp_path)}
    ok = evaluate_command(
        "ls", cwd=str(tmp_path), env=clean, allowlist=[AllowlistEntry(pattern=p) for p in HONEST]
    )
    assert ok.verdict(POLICY).verdict is Verdict.ALLOW


@pytest.mark.parametrize(
    "entry",
    ["work/sym/../../../../usr/bin", "", ".", "bin", "/usr/bin/../bin", "/x/.."],
)
def test_unusable_path_entries_end_the_search(entry: str, tmp_path: Path) -> None:
    env = {"PATH": f"{entry}:{BASE_PATH}", "HOME": str(tmp_path)}
    found = evaluate_command(
        "ls", cwd=str(tmp_path), env=env, allowlist=[AllowlistEntry(pattern=p) for p in HONEST]
    )
    assert found.verdict(POLICY).verdict is not Verdict.ALLOW


def test_dot_components_and_double_slashes_are_kept_searchable(tmp_path: Path) -> None:
    env = {"PATH": "/usr/./bin//:/bin", "HOME": str(tmp_path)}
    found = evaluate_command(
        "ls", cwd=str(tmp_path), env=env, allowlist=[AllowlistEntry(pattern=p) for p in HONEST]
    )
    assert found.verdict(POLICY).verdict is Verdict.ALLOW


def test_path_entry_cap(tmp_path: Path) -> None:
    allow = [AllowlistEntry(pattern=p) for p in HONEST]
    filler = [f"/nonexistent/{i}" for i in range(MAX_PATH_ENTRIES - 1)]
    at_cap = {"PATH": ":".join([*filler, "/usr/bin"]), "HOME": str(tmp_path)}
    found = evaluate_command("ls", cwd=str(tmp_path), env=at_cap, allowlist=allow)
    assert found.verdict(POLICY).verdict is Verdict.ALLOW
    over = {"PATH": ":".join([*filler, "/x", "/usr/bin"]), "HOME": str(tmp_path)}
    found = evaluate_command("ls", cwd=str(tmp_path), env=over, allowlist=allow)
    assert found.failure is not None
    assert found.failure.construct == "PATH entries"


def test_huge_path_is_a_quick_failure_not_a_slowdown(tmp_path: Path) -> None:
    from openclaw_exec.analysis import ResolutionCache  # noqa: PLC0415

    cache = ResolutionCache()
    env = {"PATH": ":".join(f"/nonexistent/{i}" for i in range(10_000)), "HOME": str(tmp_path)}
    start = time.perf_counter()
    for _ in range(5):
        found = evaluate_command("ls", cwd=str(tmp_path), env=env, cache=cache)
        assert not found.analysis_ok
    assert time.perf_counter() - start < 2.0
    assert len(cache) == 0


def test_requested_path_is_refused(tmp_path: Path) -> None:
    shape = Shape("ls", env={"PATH": "/usr/bin:/bin"})
    assert_refused(shape, tmp_path)


def test_home_override_never_reroots_home_patterns(tmp_path: Path) -> None:
    """A ``~/bin/*`` entry expands with the host's home, not the command's HOME."""
    build(Shape("true", files={"eh/bin/tool": EVIL}), tmp_path)
    env = {"PATH": BASE_PATH, "HOME": str(tmp_path / "eh")}
    found = evaluate_command(
        f"{tmp_path}/eh/bin/tool",
        cwd=str(tmp_path),
        env=env,
        allowlist=[AllowlistEntry(pattern="~/bin/*")],
        allowlist_home=os.path.expanduser("~"),  # noqa: PTH111
    )
    assert found.verdict(POLICY).verdict is not Verdict.ALLOW
