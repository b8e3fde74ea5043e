"""
Bypass class: safe bins are the programs they claim to be (issue #12 class 8, issue #19).

A safe bin runs without an allowlist entry, so the analyser must be sure it is the small
stdin filter of that name, from a trusted folder, with harmless arguments:

* the resolved name must be the safe-bin name exactly: ``HEAD`` (libwww-perl's HTTP client)
  is not ``head``; a ``head`` symlink to another program is not ``head``;
* the real path must lie in a trusted folder: ``trusted/head -> ../elsewhere/head`` is not;
* jq (and the awk family, sed) are never safe bins: jq reads the environment (``$ENV``,
  ``$ ENV``, ``env``, ``$__loc__``, ``input_filename``) and loads modules;
* tokens with ``$`` expansions are not literals, and every letter of a short cluster must be
  allowed (``tail -fn 1`` follows forever).

Each program-identity shape plants the canary with real bash and dash (the program that
runs is a script doing so) and must not be auto-approved with the folder configured as a
trusted safe-bin folder; the jq shapes leak a secret with the real jq; the tail shape
follows with the real tail.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from _canary import (
    POLICY,
    SCRIPT,
    Shape,
    allowlist,
    assert_allowed,
    assert_real,
    build,
    environment,
    which_all,
)

from openclaw_exec.analysis import Evaluation, SatisfiedBy, evaluate_command
from openclaw_exec.analysis._safe_bins import (
    DEFAULT_SAFE_BIN_PROFILES,
    OPENCLAW_2026_9_SAFE_BIN_PROFILES,
    validate_safe_bin_argv,
)
from openclaw_exec.policy import AllowlistEntry, Verdict

TB = "tb"  # the trusted safe-bin folder of each shape (relative to its temp folder)
_PATH = "/usr/local/bin:/usr/bin:/bin"

# (command, files, symlinks {link: target}) for shapes whose program is not the safe bin
IDENTITY = [
    ("echo x | HEAD -n 1", {f"{TB}/HEAD": SCRIPT}, {}, "HEAD is not head"),
    ("echo x | Head -n 1", {f"{TB}/Head": SCRIPT}, {}, "case differs"),
    ("echo x | WC", {f"{TB}/WC": SCRIPT}, {}, "WC is not wc"),
    ("echo x | Tail -n 1", {f"{TB}/Tail": SCRIPT}, {}, "Tail is not tail"),
    ("echo a | TR a b", {f"{TB}/TR": SCRIPT}, {}, "TR is not tr"),
    (
        "echo x | head -n 1",
        {"elsewhere/head": SCRIPT},
        {f"{TB}/head": "../elsewhere/head"},
        "symlink into another tree",
    ),
    (
        "echo x | wc",
        {"elsewhere/wc": SCRIPT},
        {f"{TB}/wc": "../elsewhere/wc"},
        "symlink into another tree (wc)",
    ),
    (
        "echo x | head -n 1",
        {"elsewhere/deep/head": SCRIPT},
        {f"{TB}/head": "../elsewhere/deep/head"},
        "symlink two levels away",
    ),
    (
        "echo x | head -n 1",
        {f"{TB}/evil": SCRIPT},
        {f"{TB}/head": "evil"},
        "symlink to another program in the trusted folder",
    ),
    (
        "echo x | tail -n 1",
        {f"{TB}/python-ish": SCRIPT},
        {f"{TB}/tail": "python-ish"},
        "symlink to another name",
    ),
    (
        "echo x | cut -c 1",
        {"elsewhere/cut": SCRIPT},
        {f"{TB}/cut": "/PLACEHOLDER/elsewhere/cut"},
        "absolute symlink out of the trusted folder",
    ),
    (
        "echo x | uniq",
        {"elsewhere/uniq": SCRIPT},
        {f"{TB}/uniq": "../elsewhere/uniq"},
        "uniq symlinked out",
    ),
]


def _world(tmp_path: Path, files: dict[str, str], links: dict[str, str]) -> Shape:
    (tmp_path / TB).mkdir(exist_ok=True)
    shape = Shape(
        IDENTITY[0][0],
        files=files,
        env={"PATH": f"{tmp_path / TB}:{_PATH}"},
    )
    build(shape, tmp_path)
    for link, target in links.items():
        path = tmp_path / link
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(target.replace("/PLACEHOLDER", str(tmp_path)))
    return shape


@pytest.mark.parametrize(
    ("command", "files", "links", "note"), IDENTITY, ids=[i[3] for i in IDENTITY]
)
def test_identity_shape_is_real_and_refused(
    command: str, files: dict[str, str], links: dict[str, str], note: str, tmp_path: Path
) -> None:
    base = _world(tmp_path, files, links)
    shape = Shape(command, files=files, env=base.env, note=note)
    assert_real(shape, tmp_path)
    found = _host_analysis(shape, tmp_path, trusted=True)
    # Refused for the right reason: understood, and the filter segment is not a safe bin.
    assert found.analysis_ok, found.failure
    assert found.verdict(POLICY).verdict is not Verdict.ALLOW, note
    assert found.segments[-1].satisfied_by is None


def test_identity_control_a_real_copy_in_the_trusted_folder(tmp_path: Path) -> None:
    head = shutil.which("head", path=_PATH)
    assert head is not None
    base = _world(tmp_path, {}, {})
    shutil.copy(head, tmp_path / TB / "head")
    shape = Shape("echo x | head -n 1", env=base.env)
    found = _host_analysis(shape, tmp_path, trusted=True)
    assert found.verdict(POLICY).verdict is Verdict.ALLOW, [s.miss_reason for s in found.segments]
    assert found.segments[-1].satisfied_by is SatisfiedBy.SAFE_BINS
    # Without the folder trusted, the same file is not a safe bin.
    assert _host_analysis(shape, tmp_path, trusted=False).segments[-1].satisfied_by is None


def _host_analysis(shape: Shape, folder: Path, *, trusted: bool) -> Evaluation:
    # The PATH with the trusted folder is the host's (not a variable the agent asks for).
    honest = [e for e in allowlist(shape) if Path(e.pattern).name not in _FILTERS]
    return evaluate_command(
        shape.command,
        cwd=str(folder),
        env={**environment(shape, folder), **shape.env},
        allowlist=honest,
        safe_bin_trusted_dirs=[str(folder / TB)] if trusted else (),
    )


_FILTERS = {"head", "tail", "wc", "cut", "uniq", "tr"}


# --------------------------------------------------------------------------- jq

SECRET = "s3cr3t-value"
JQ_FILTERS = [
    "$ENV.SECRET",
    "$ ENV.SECRET",
    "$ENV | .SECRET",
    "env.SECRET",
    "env | .SECRET",
    " env .SECRET",
    "[env][0].SECRET",
    '$ENV["SECRET"]',
    "$__loc__ | tostring | . + env.SECRET",
    '"\\(env.SECRET)"',
]


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not installed")
@pytest.mark.parametrize("jq_filter", JQ_FILTERS)
def test_jq_reads_the_environment_and_is_never_a_safe_bin(jq_filter: str, tmp_path: Path) -> None:
    jq = shutil.which("jq")
    assert jq is not None
    quoted = "'" + jq_filter.replace("'", "'\"'\"'") + "'"
    command = f"echo null | jq -r {quoted}"
    for shell in ("bash", "dash"):
        out = subprocess.run(
            [shell, "-c", command],
            env={"PATH": _PATH, "SECRET": SECRET},
            capture_output=True,
            text=True,
            check=False,
            timeout=20,
        ).stdout
        assert SECRET in out, (shell, command, out)
    found = evaluate_command(
        command, cwd=str(tmp_path), env={"PATH": _PATH}, allowlist=(), safe_bins=["jq", "echo"]
    )
    assert not found.allowlist_satisfied
    jq_seg = found.segments[-1]
    assert jq_seg.miss_reason is not None
    assert "never a safe bin" in jq_seg.miss_reason


@pytest.mark.parametrize(
    "jq_filter",
    [".", ".a", "input_filename", 'include "x"; .', 'import "x" as y; .', "{include: 1}"],
)
def test_jq_is_refused_whatever_the_filter_and_profile(jq_filter: str) -> None:
    for profile in (DEFAULT_SAFE_BIN_PROFILES["jq"], OPENCLAW_2026_9_SAFE_BIN_PROFILES["jq"]):
        assert not validate_safe_bin_argv([jq_filter], profile, bin_name="jq")
    for name in ("awk", "gawk", "mawk", "nawk", "sed", "gsed"):
        assert not validate_safe_bin_argv(["1"], DEFAULT_SAFE_BIN_PROFILES["tr"], bin_name=name)


# --------------------------------------------------------------------------- tokens

TAIL = DEFAULT_SAFE_BIN_PROFILES["tail"]
HEAD = DEFAULT_SAFE_BIN_PROFILES["head"]
TR = DEFAULT_SAFE_BIN_PROFILES["tr"]


@pytest.mark.parametrize(
    ("args", "profile"),
    [
        (["-fn", "1"], TAIL),
        (["-Fn", "1"], TAIL),
        (["-qfn", "1"], TAIL),
        (["-f"], TAIL),
        (["--follow"], TAIL),
        (["--fol"], TAIL),
        (["--retry", "-n", "1"], TAIL),
        (["-zn", "1"], TAIL),  # -z is a boolean 2026.9.6 accepts; not in the default profile
        (["-n", "${IFS}"], HEAD),
        (["-n${IFS}1"], HEAD),
        (["--lines=${N}"], HEAD),
        (["--lines", "$N"], HEAD),
        (["-c", "$(id)"], HEAD),
        (["-n", "$[1+1]"], HEAD),
        (["$1"], TR),
        (["a", "${X}"], TR),
        (["a", "$@"], TR),
        (["-n", "~/x"], HEAD),
        (["-n", "*"], HEAD),
    ],
)
def test_tokens_that_are_not_literal_or_known_are_refused(args: list[str], profile: object) -> None:
    assert isinstance(profile, type(HEAD))
    assert not validate_safe_bin_argv(args, profile, bin_name="x")
    profile96 = {id(TAIL): "tail", id(HEAD): "head", id(TR): "tr"}[id(profile)]
    if args != ["-zn", "1"]:
        assert not validate_safe_bin_argv(
            args, OPENCLAW_2026_9_SAFE_BIN_PROFILES[profile96], bin_name=profile96
        )


def test_tail_fn_really_follows(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("a\n")
    tail = shutil.which("tail", path=_PATH)
    assert tail is not None
    with pytest.raises(subprocess.TimeoutExpired):
        subprocess.run(
            [tail, "-fn", "1", "f"], cwd=tmp_path, capture_output=True, timeout=1, check=False
        )
    found = evaluate_command("tail -fn 1 f", cwd=str(tmp_path), env={"PATH": _PATH}, allowlist=())
    assert not found.allowlist_satisfied


# --------------------------------------------------------------------------- controls

CONTROLS = [
    Shape("echo x | head -n 1", allow=("echo",)),
    Shape("echo x | head -c1", allow=("echo",)),
    Shape("echo x | tail -n 1", allow=("echo",)),
    Shape("echo x | tail -n1", allow=("echo",)),
    Shape("echo ab | tr a b", allow=("echo",)),
    Shape("echo x | wc", allow=("echo",)),
    Shape("echo x | cut -c 1", allow=("echo",)),
    Shape("echo x | uniq", allow=("echo",)),
    Shape("echo x | head --lines 2", allow=("echo",)),
]


@pytest.mark.parametrize("shape", [s.param() for s in CONTROLS])
def test_control_stays_allowed(shape: Shape, tmp_path: Path) -> None:
    # Remove the honest entries for the filters: they must pass as safe bins.
    found = evaluate_command(
        shape.command,
        cwd=str(tmp_path),
        env={"PATH": _PATH},
        allowlist=[AllowlistEntry(pattern=p) for p in which_all(["echo"])],
    )
    assert found.allowlist_satisfied, [s.miss_reason for s in found.segments]
    assert_allowed(shape, tmp_path)


def test_booleans_pass_with_the_2026_9_profiles(tmp_path: Path) -> None:
    def ok(command: str, *, latest: bool) -> bool:
        profiles = OPENCLAW_2026_9_SAFE_BIN_PROFILES if latest else None
        found = evaluate_command(
            command,
            cwd=str(tmp_path),
            env={"PATH": _PATH},
            allowlist=(),
            safe_bin_profiles=profiles,
        )
        return found.allowlist_satisfied

    assert not ok("wc -l", latest=False)
    assert ok("wc -l", latest=True)
    assert not ok("tail -fn 1", latest=True)
    assert ok("tail -qn 1", latest=True)


def test_the_corpus_is_large_enough() -> None:
    assert len(IDENTITY) + len(JQ_FILTERS) >= 20
