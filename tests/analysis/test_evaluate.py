from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from openclaw_exec import AnalysisError
from openclaw_exec.analysis import (
    EVALUATION_SCHEMA_VERSION,
    ResolutionCache,
    SafeBinProfile,
    SatisfiedBy,
    compile_allowlist,
    compile_pattern,
    durable_command_pattern,
    evaluate_command,
    evaluation_to_dict,
    format_evaluation_table,
)
from openclaw_exec.policy import AllowlistEntry, ExecPolicy, Verdict, cwd_bound_arg_pattern
from openclaw_exec.testing import VirtualResolver

CWD = "/p"
ENV = {"PATH": "/usr/local/bin:/usr/bin", "HOME": "/home/u"}


BINS: tuple[str, ...] = ("ls", "git", "rg", "cat", "echo", "rm", "bash", "sh", "env", "timeout")
BINS += ("nice", "sudo", "busybox", "python3", "node", "head", "wc", "sort", "tr", "awk")


@pytest.fixture
def vfs() -> VirtualResolver:
    v = VirtualResolver()
    for name in BINS:
        v.add_file(f"/usr/bin/{name}")
    v.add_file("/p/run.sh")
    v.add_file("/p/notexec", executable=False)
    v.add_file("/home/u/bin/mine")
    v.add_symlink("/usr/local/bin/ll", "/usr/bin/ls")
    return v


def ev(command: str | list[str], vfs: VirtualResolver, *patterns: str, **kw: object):  # type: ignore[no-untyped-def]
    allowlist = [AllowlistEntry(pattern=p) for p in patterns]
    return evaluate_command(command, cwd=CWD, env=ENV, allowlist=allowlist, resolver=vfs, **kw)  # type: ignore[arg-type]


def test_every_segment_is_listed_with_what_satisfied_it(vfs: VirtualResolver) -> None:
    e = ev("ls -la && rm -rf x | wc", vfs, "/usr/bin/ls")
    assert e.analysis_ok
    assert not e.allowlist_satisfied
    assert [s.argv for s in e.segments] == [("ls", "-la"), ("rm", "-rf", "x"), ("wc",)]
    assert [s.satisfied_by for s in e.segments] == [
        SatisfiedBy.ALLOWLIST,
        None,
        SatisfiedBy.SAFE_BINS,
    ]
    assert e.segments[0].matched_entry is not None
    assert e.segments[0].matched_entry.pattern == "/usr/bin/ls"
    assert e.segments[1].miss_reason == "no allowlist entry matches /usr/bin/rm"
    assert e.chain_ops == ("&&", "|", None)


def test_resolution_follows_path_order_and_records_realpath(vfs: VirtualResolver) -> None:
    e = ev("ll", vfs, "/usr/local/bin/*")
    (seg,) = e.segments
    assert seg.executable is not None
    assert seg.executable.path == "/usr/local/bin/ll"
    assert seg.executable.real_path == "/usr/bin/ls"
    assert seg.executable.via_path_lookup
    assert e.allowlist_satisfied
    assert e.enforced_argvs == (("/usr/bin/ls",),)


def test_unresolvable_and_non_executable_words_miss(vfs: VirtualResolver) -> None:
    for command in ("missing", "./notexec", "./nothere", "'~/bin/mine'", "' ls'"):
        e = ev(command, vfs, "/usr/bin/*", "/p/*", "/home/u/bin/*")
        assert e.analysis_ok, command
        assert not e.allowlist_satisfied, command
        assert "does not resolve" in (e.segments[0].miss_reason or ""), command
    # Control: the same words resolve when they name an executable.
    assert ev("./run.sh", vfs, "/p/*").allowlist_satisfied


def test_glob_semantics() -> None:
    star = compile_pattern("/usr/bin/*")
    assert star.matches_path("/usr/bin/ls")
    assert not star.matches_path("/usr/bin/x/ls")
    assert compile_pattern("/usr/**").matches_path("/usr/bin/x/ls")
    assert compile_pattern("/usr/bin/l?").matches_path("/usr/bin/ls")
    assert not compile_pattern("/usr/bin/l?").matches_path("/usr/bin/l/")
    assert not compile_pattern("/usr/bin/LS").matches_path("/usr/bin/ls")  # case-sensitive
    assert compile_pattern("/usr/bin/[ls]").matches_path("/usr/bin/[ls]")  # literal brackets
    assert compile_pattern("~/bin/*", "/home/u").matches_path("/home/u/bin/mine")
    for bad in ("~/bin/*", "/a/../b", "/a/./b", "//a", "a/b", "\\a"):
        assert compile_pattern(bad).kind == "invalid"
    assert compile_pattern("*").kind == "any"
    assert compile_pattern("rg").kind == "name"
    assert compile_pattern("=command:abc").kind == "command"


def test_bare_names_match_path_lookups_only_when_enabled(vfs: VirtualResolver) -> None:
    assert not ev("rg x", vfs, "rg").allowlist_satisfied
    assert ev("rg x", vfs, "rg", bare_name_patterns=True).allowlist_satisfied
    assert not ev("/usr/bin/rg x", vfs, "rg", bare_name_patterns=True).allowlist_satisfied


def test_first_matching_entry_wins_and_star_wins_overall(vfs: VirtualResolver) -> None:
    entries = [
        AllowlistEntry(pattern="/usr/bin/*", id="a"),
        AllowlistEntry(pattern="/usr/bin/ls", id="b"),
    ]
    e = evaluate_command("ls", cwd=CWD, env=ENV, allowlist=entries, resolver=vfs)
    assert e.segments[0].matched_entry is entries[0]
    entries.append(AllowlistEntry(pattern="*", id="c"))
    e = evaluate_command("ls", cwd=CWD, env=ENV, allowlist=compile_allowlist(entries), resolver=vfs)
    assert e.segments[0].matched_entry is entries[2]


def test_wrappers(vfs: VirtualResolver) -> None:
    e = ev("timeout 5 nice rg x", vfs, "/usr/bin/rg")
    assert e.allowlist_satisfied
    assert e.segments[0].wrappers == ("timeout", "nice")
    assert e.segments[0].effective_argv == ("rg", "x")
    for blocked in ("sudo rg x", "env FOO=1 rg x", "env -i rg", "nice nice nice nice nice rg"):
        e = ev(blocked, vfs, "/usr/bin/*")
        assert not e.allowlist_satisfied, blocked
        assert e.segments[0].blocked_wrapper is not None


def test_shell_wrappers_are_analysed_recursively(vfs: VirtualResolver) -> None:
    e = ev("bash -c 'ls | wc'", vfs, "/usr/bin/bash", "/usr/bin/ls")
    assert not ev("bash -lc 'ls | wc'", vfs, "/usr/bin/bash", "/usr/bin/ls").allowlist_satisfied
    assert e.allowlist_satisfied
    assert [s.argv for s in e.segments[0].inner] == [("ls",), ("wc",)]
    assert not ev("bash -c 'ls; rm x'", vfs, "/usr/bin/bash", "/usr/bin/ls").allowlist_satisfied
    assert not ev(
        "bash -c 'ls'", vfs, "/usr/bin/ls"
    ).allowlist_satisfied  # the shell must match too
    failed = ev("bash -c 'ls > x'", vfs, "/usr/bin/bash", "/usr/bin/ls")
    assert not failed.analysis_ok
    assert failed.failure is not None
    assert "shell payload" in failed.failure.message
    assert ev("busybox sh -c ls", vfs, "/usr/bin/busybox", "/usr/bin/ls").allowlist_satisfied


def test_shell_scripts_need_the_script_allowlisted(vfs: VirtualResolver) -> None:
    assert ev("sh ./run.sh", vfs, "/p/run.sh").allowlist_satisfied
    assert not ev("sh ./run.sh", vfs, "/usr/bin/sh").allowlist_satisfied
    assert not ev("sh", vfs, "/usr/bin/sh").allowlist_satisfied
    assert not ev("sh -s", vfs, "/usr/bin/sh", "/p/*").allowlist_satisfied


def test_assignments_always_miss(vfs: VirtualResolver) -> None:
    e = ev("FOO=1 ls", vfs, "*")
    assert e.analysis_ok
    assert not e.allowlist_satisfied
    assert e.segments[0].assignments == (("FOO", "1"),)


def test_safe_bins(vfs: VirtualResolver) -> None:
    assert ev("echo x | head -n 1", vfs, "/usr/bin/echo").allowlist_satisfied
    assert not ev("echo x | head -n 1", vfs, "/usr/bin/echo", safe_bins=[]).allowlist_satisfied
    assert not ev("echo x | wc -l", vfs, "/usr/bin/echo").allowlist_satisfied  # boolean flag
    assert not ev("head /etc/passwd", vfs).allowlist_satisfied
    assert ev("sort -k 1", vfs, safe_bins=["sort"]).allowlist_satisfied
    assert not ev("sort -o x", vfs, safe_bins=["sort"]).allowlist_satisfied
    assert not ev(
        "awk 1", vfs, safe_bins=["awk"], safe_bin_profiles={"awk": SafeBinProfile()}
    ).allowlist_satisfied
    custom = {"ls": SafeBinProfile(max_positional=0)}
    assert ev("ls", vfs, safe_bins=["ls"], safe_bin_profiles=custom).allowlist_satisfied
    vfs.add_file("/opt/bin/head")
    env = {"PATH": "/opt/bin:/usr/bin"}
    e = evaluate_command("head -n 1", cwd=CWD, env=env, resolver=vfs)
    assert not e.allowlist_satisfied  # not from a trusted folder
    e = evaluate_command(
        "head -n 1", cwd=CWD, env=env, resolver=vfs, safe_bin_trusted_dirs=["/opt/bin"]
    )
    assert e.allowlist_satisfied


def test_skill_bins(vfs: VirtualResolver) -> None:
    skills = [("mine", "/home/u/bin/mine")]
    env = {"PATH": "/home/u/bin:/usr/bin"}
    e = evaluate_command(
        "mine x", cwd=CWD, env=env, resolver=vfs, auto_allow_skills=True, skill_bins=skills
    )
    assert e.segments[0].satisfied_by is SatisfiedBy.SKILLS
    e = evaluate_command(
        "mine x", cwd=CWD, env=env, resolver=vfs, auto_allow_skills=False, skill_bins=skills
    )
    assert not e.allowlist_satisfied
    e = evaluate_command(
        "/home/u/bin/mine",
        cwd=CWD,
        env=env,
        resolver=vfs,
        auto_allow_skills=True,
        skill_bins=skills,
    )
    assert not e.allowlist_satisfied  # typed as a path, not a bare name


def test_inline_eval_and_strict_mode(vfs: VirtualResolver) -> None:
    e = ev("python3 -c 'print(1)'", vfs, "/usr/bin/python3")
    assert e.allowlist_satisfied
    assert [h.describe() for h in e.inline_eval_hits] == ["python3 -c"]
    assert e.must_ask == ()
    assert e.verdict(ExecPolicy(security="allowlist", ask="off")).verdict is Verdict.ALLOW
    strict = ev("python3 -c 'print(1)'", vfs, "/usr/bin/python3", strict_inline_eval=True)
    assert strict.must_ask == ("strict-inline-eval: python3 -c",)
    assert strict.verdict(ExecPolicy(security="allowlist", ask="off")).verdict is Verdict.ASK
    assert strict.allow_always == ()
    nested = ev('bash -c "node -e 1"', vfs, strict_inline_eval=True)
    assert nested.must_ask == ("strict-inline-eval: node -e",)


def test_allow_always_derivation(vfs: VirtualResolver) -> None:
    assert ev("timeout 5 rg foo", vfs).allow_always_patterns == ("/usr/bin/rg",)
    assert ev("bash -c 'ls | wc'", vfs).allow_always_patterns == ("/usr/bin/ls", "/usr/bin/wc")
    assert ev("python3 script.py", vfs).allow_always_patterns[0].startswith("=command:")
    assert ev("sudo ls", vfs).allow_always_patterns == (durable_command_pattern("sudo ls"),)
    grants = ev("git status", vfs).allow_always
    assert grants[0].kind == "path"
    assert "exactly these arguments" in grants[0].preview
    assert grants[0].arg_pattern == cwd_bound_arg_pattern(["git", "status"], CWD)
    # Only chain parts up to the first miss (as OpenClaw): rm is not persisted with ls.
    assert ev("ls && rm x", vfs).allow_always_patterns == ("/usr/bin/ls",)
    assert ev("ls && rm x", vfs, "/usr/bin/ls").allow_always_patterns == (
        "/usr/bin/ls",
        "/usr/bin/rm",
    )
    assert ev("ls $(x)", vfs).allow_always == ()


def test_durable_approval(vfs: VirtualResolver) -> None:
    grant = AllowlistEntry(pattern=durable_command_pattern("cd x && ls"), source="allow-always")
    e = evaluate_command(" cd x && ls\n".strip(), cwd=CWD, env=ENV, allowlist=[grant], resolver=vfs)
    assert e.durable_approval_satisfied
    assert e.verdict(ExecPolicy(security="allowlist", ask="on-miss")).verdict is Verdict.ALLOW
    hand = [AllowlistEntry(pattern="/usr/bin/ls")]
    assert not evaluate_command(
        "ls", cwd=CWD, env=ENV, allowlist=hand, resolver=vfs
    ).durable_approval_satisfied
    # Since OpenClaw 2026.9.6 a path grant counts only with the cwd-bound hash of its
    # arguments: a bare path grant (what 4.1 wrote) is inactive.
    bare = [AllowlistEntry(pattern="/usr/bin/ls", source="allow-always")]
    assert not evaluate_command(
        "ls", cwd=CWD, env=ENV, allowlist=bare, resolver=vfs
    ).durable_approval_satisfied
    bound = cwd_bound_arg_pattern(["ls"], CWD)
    durable = [AllowlistEntry(pattern="/usr/bin/ls", source="allow-always", arg_pattern=bound)]
    assert evaluate_command(
        "ls", cwd=CWD, env=ENV, allowlist=durable, resolver=vfs
    ).durable_approval_satisfied
    assert not evaluate_command(
        "ls -l", cwd=CWD, env=ENV, allowlist=durable, resolver=vfs
    ).durable_approval_satisfied
    legacy = [AllowlistEntry(pattern="x", source="allow-always", command_text="ls -l")]
    assert evaluate_command(
        "ls -l", cwd=CWD, env=ENV, allowlist=legacy, resolver=vfs
    ).durable_approval_satisfied
    assert durable_command_pattern("ls") == durable_command_pattern(" ls \u00a0")
    assert durable_command_pattern("ls") == "=command:" + hashlib.sha256(b"ls").hexdigest()[:16]


def test_argv_input(vfs: VirtualResolver) -> None:
    e = ev(["ls", "a b", "$HOME"], vfs, "/usr/bin/ls")
    assert e.analysis_ok
    assert e.allowlist_satisfied
    assert e.command is None
    assert e.command_text == "ls 'a b' '$HOME'"
    assert not ev(["", "ls"], vfs, "*").analysis_ok
    assert not ev([], vfs, "*").analysis_ok


def test_misuse_raises_analysis_error(vfs: VirtualResolver) -> None:
    with pytest.raises(AnalysisError, match="absolute"):
        evaluate_command("ls", cwd="relative", env=ENV, resolver=vfs)
    with pytest.raises(AnalysisError, match="mapping"):
        evaluate_command("ls", cwd=CWD, env=[], resolver=vfs)  # type: ignore[arg-type]
    with pytest.raises(AnalysisError, match="string or a sequence"):
        evaluate_command(42, cwd=CWD, env=ENV, resolver=vfs)  # type: ignore[arg-type]
    with pytest.raises(AnalysisError, match="env names must be strings"):
        evaluate_command("ls", cwd=CWD, env={**ENV, b"X": "1"}, resolver=vfs)  # type: ignore[dict-item]


def test_cache_revalidates(vfs: VirtualResolver) -> None:
    cache = ResolutionCache()
    allowlist = [AllowlistEntry(pattern="/usr/bin/ls")]
    first = evaluate_command("ls", cwd=CWD, env=ENV, allowlist=allowlist, resolver=vfs, cache=cache)
    assert first.allowlist_satisfied
    evaluate_command("ls", cwd=CWD, env=ENV, allowlist=allowlist, resolver=vfs, cache=cache)
    assert cache.hits == 1
    vfs.add_file("/usr/local/bin/ls")  # a trojan earlier in PATH
    again = evaluate_command("ls", cwd=CWD, env=ENV, allowlist=allowlist, resolver=vfs, cache=cache)
    assert not again.allowlist_satisfied
    trusting = ResolutionCache(validate=False)
    vfs.remove("/usr/local/bin/ls")
    evaluate_command("ls", cwd=CWD, env=ENV, resolver=vfs, cache=trusting)
    vfs.add_file("/usr/local/bin/ls")
    stale = evaluate_command("ls", cwd=CWD, env=ENV, resolver=vfs, cache=trusting)
    assert stale.segments[0].executable is not None
    assert stale.segments[0].executable.path == "/usr/bin/ls"  # documented: trust until clear()
    trusting.clear()
    assert len(trusting) == 0


def test_json_document_is_stable_and_serialisable(vfs: VirtualResolver) -> None:
    e = ev(
        "timeout 5 rg x && bash -c 'ls | wc'", vfs, "/usr/bin/rg", "/usr/bin/bash", "/usr/bin/ls"
    )
    verdict = e.verdict(ExecPolicy(security="allowlist", ask="on-miss"))
    doc = evaluation_to_dict(e, verdict)
    json.dumps(doc)
    assert list(doc) == [
        "schemaVersion",
        "command",
        "argv",
        "analysisOk",
        "failure",
        "allowlistSatisfied",
        "durableApprovalSatisfied",
        "mustAsk",
        "inlineEval",
        "segments",
        "chainOps",
        "allowAlways",
        "enforcedCommand",
        "verdict",
    ]
    assert doc["schemaVersion"] == EVALUATION_SCHEMA_VERSION
    assert doc["allowlistSatisfied"] is True
    assert doc["verdict"]["verdict"] == "allow"
    seg = doc["segments"][1]
    assert set(seg) == {
        "argv",
        "assignments",
        "raw",
        "position",
        "depth",
        "effectiveArgv",
        "wrappers",
        "blockedWrapper",
        "executable",
        "policyExecutable",
        "satisfiedBy",
        "matchedEntry",
        "missReason",
        "inlineEval",
        "danger",
        "inner",
    }
    assert [s["argv"] for s in seg["inner"]] == [["ls"], ["wc"]]
    assert doc["segments"][0]["wrappers"] == ["timeout"]
    assert doc["enforcedCommand"] == "'/usr/bin/rg' 'x' && '/usr/bin/bash' '-c' 'ls | wc'"
    failed = evaluation_to_dict(ev("ls > x", vfs))
    assert failed["failure"] == {
        "construct": "redirection",
        "position": 0,
        "message": "redirection at position 0",
    }
    assert "verdict" not in failed


def test_table_text(vfs: VirtualResolver) -> None:
    e = ev("ls && rm x", vfs, "/usr/bin/ls")
    text = format_evaluation_table(e, e.verdict(ExecPolicy(security="allowlist", ask="off")))
    assert text.startswith("verdict: deny")
    assert "allowlist satisfied: no" in text
    assert "MISS" in text
    assert "/usr/bin/rm" in text
    assert "allow-always would persist:" in text
    bad = format_evaluation_table(ev("ls $(x)", vfs))
    assert "analysis: FAILED: command substitution at position 3" in bad


@pytest.mark.parametrize(
    "name", ["BASH_FUNC_ls%%", "BASH_ENV", "ENV", "LD_PRELOAD", "LD_AUDIT", "DYLD_INSERT_LIBRARIES"]
)
def test_code_injecting_environment_fails_analysis(vfs: VirtualResolver, name: str) -> None:
    env = {**ENV, name: "/tmp/evil"}
    e = evaluate_command(
        "ls", cwd=CWD, env=env, allowlist=[AllowlistEntry(pattern="*")], resolver=vfs
    )
    assert not e.analysis_ok
    assert e.failure is not None
    assert name in e.failure.construct
    ok = evaluate_command(
        "ls",
        cwd=CWD,
        env={**ENV, "LANG": "C"},
        allowlist=[AllowlistEntry(pattern="*")],
        resolver=vfs,
    )
    assert ok.allowlist_satisfied


@pytest.mark.parametrize(
    "path", [".:/usr/bin", ":/usr/bin", "bin:/usr/bin", "/usr/local/bin::/usr/bin"]
)
def test_relative_path_entries_before_the_match_leave_the_word_unresolved(
    vfs: VirtualResolver, path: str
) -> None:
    e = evaluate_command(
        "ls",
        cwd=CWD,
        env={"PATH": path},
        allowlist=[AllowlistEntry(pattern="/usr/bin/ls")],
        resolver=vfs,
    )
    assert not e.allowlist_satisfied
    after = evaluate_command(
        "ls",
        cwd=CWD,
        env={"PATH": "/usr/bin:."},
        allowlist=[AllowlistEntry(pattern="/usr/bin/ls")],
        resolver=vfs,
    )
    assert after.allowlist_satisfied


def test_cache_is_safe_to_share_between_threads(vfs: VirtualResolver) -> None:
    import threading  # noqa: PLC0415

    cache = ResolutionCache(max_entries=8)
    errors: list[BaseException] = []
    words = [f"w{i}" for i in range(40)] + ["ls", "git", "rg"]

    def work() -> None:
        try:
            for _ in range(20):
                for word in words:
                    evaluate_command(word, cwd=CWD, env=ENV, resolver=vfs, cache=cache)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(cache) <= 8


def test_cache_notices_chmod_in_an_earlier_path_folder(vfs: VirtualResolver) -> None:
    vfs.add_file("/usr/local/bin/ls", executable=False)
    cache = ResolutionCache()
    allowlist = [AllowlistEntry(pattern="/usr/bin/ls")]
    first = evaluate_command("ls", cwd=CWD, env=ENV, allowlist=allowlist, resolver=vfs, cache=cache)
    assert first.allowlist_satisfied
    vfs.chmod_executable("/usr/local/bin/ls", executable=True)
    again = evaluate_command("ls", cwd=CWD, env=ENV, allowlist=allowlist, resolver=vfs, cache=cache)
    assert not again.allowlist_satisfied


def test_command_runners_always_miss(vfs: VirtualResolver) -> None:
    vfs.add_file("/usr/bin/find")
    vfs.add_file("/usr/bin/xargs")
    for command in ("find . -exec rm '{}' +", "find . -- -execdir x", "xargs rm", "xargs -n 1 rm"):
        e = ev(command, vfs, "*")
        assert not e.allowlist_satisfied, command
        assert "not analysed" in (e.segments[0].miss_reason or "")
    assert ev("find . -name x", vfs, "/usr/bin/find").allowlist_satisfied
    assert ev("xargs", vfs, "/usr/bin/xargs").allowlist_satisfied


def test_symlinked_folders_need_the_real_path_allowlisted(vfs: VirtualResolver) -> None:
    vfs.add_symlink("/p/link", "/usr/bin")
    assert not ev("./link/rm x", vfs, "/p/**").allowlist_satisfied
    assert "symlinked folder" in (ev("./link/rm x", vfs, "/p/**").segments[0].miss_reason or "")
    assert ev("./link/rm x", vfs, "/p/**", "/usr/bin/rm").allowlist_satisfied
    assert ev("./link/rm x", vfs, "*").allowlist_satisfied
    # A symlinked final component (uutils-style) still matches by its path.
    assert ev("ll", vfs, "/usr/local/bin/ll").allowlist_satisfied


def test_os_resolver_on_a_real_folder(tmp_path: Path) -> None:
    from openclaw_exec.analysis import OsResolver  # noqa: PLC0415

    root = tmp_path.resolve()
    (root / "bin").mkdir()
    tool = root / "bin" / "tool"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    (root / "plain").write_text("x")
    (root / "link").symlink_to(root / "bin")
    resolver = OsResolver()
    assert resolver.is_executable_file(str(tool))
    assert not resolver.is_executable_file(str(root / "plain"))
    assert not resolver.is_executable_file(str(root / "bin"))
    assert resolver.realpath(str(root / "link" / "tool")) == str(tool)
    assert resolver.realpath(str(root / "missing")) is None
    assert resolver.has_symlink(str(root / "link"))
    assert not resolver.has_symlink(str(root / "bin"))
    assert resolver.stamp(str(tool)) is not None
    assert resolver.stamp(str(root / "missing")) is None
    env = {"PATH": f"{root}/bin"}
    allow = [AllowlistEntry(pattern=f"{root}/**")]
    assert evaluate_command("tool", cwd=str(root), env=env, allowlist=allow).allowlist_satisfied
    via_link = evaluate_command("./link/tool", cwd=str(root), env=env, allowlist=allow)
    assert via_link.allowlist_satisfied  # the real path is inside the tree too
    outside = [AllowlistEntry(pattern=f"{root}/link/*")]
    assert not evaluate_command(
        "./link/tool", cwd=str(root), env=env, allowlist=outside
    ).allowlist_satisfied
    # Several segments in one command: the symlinked-folder answer (looked up once per
    # folder and evaluation) still applies to every one of them.
    (root / "bin" / "other").write_text("#!/bin/sh\n")
    (root / "bin" / "other").chmod(0o755)
    both = [AllowlistEntry(pattern=f"{root}/link/*"), AllowlistEntry(pattern=f"{root}/bin/tool")]
    chained = evaluate_command(
        "./link/tool && ./link/other && ./link/tool", cwd=str(root), env=env, allowlist=both
    )
    assert [s.satisfied for s in chained.segments] == [True, False, True]
    assert "symlinked folder" in (chained.segments[1].miss_reason or "")


def test_os_resolver_stamp_changed_agrees_with_stamp(tmp_path: Path) -> None:
    from openclaw_exec.analysis import OsResolver  # noqa: PLC0415

    resolver = OsResolver()
    target = tmp_path / "tool"
    path = str(target)
    other = tmp_path / "elsewhere"
    other.write_text("#!/bin/sh\n")

    def create() -> None:
        target.write_text("#!/bin/sh\n")

    def chmod_x() -> None:
        target.chmod(0o755)

    def chmod_nx() -> None:
        target.chmod(0o644)

    def grow() -> None:
        target.write_text("#!/bin/sh\necho changed\n")

    def replace() -> None:
        fresh = tmp_path / "fresh"
        fresh.write_text("#!/bin/sh\n")
        fresh.replace(target)

    def remove() -> None:
        target.unlink()

    def dangle() -> None:
        target.symlink_to(tmp_path / "nowhere")

    def retarget() -> None:
        target.unlink()
        target.symlink_to(other)

    steps = (create, chmod_x, chmod_nx, grow, replace, remove, dangle, retarget, remove, create)
    for step in steps:
        previous = resolver.stamp(path)
        assert not resolver.stamp_changed(path, previous), step.__name__
        step()
        now = resolver.stamp(path)
        assert resolver.stamp_changed(path, previous) == (now != previous), step.__name__
