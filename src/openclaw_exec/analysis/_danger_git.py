"""
The git danger profile: global options, config keys, subcommands and their options.

git reads configuration from the command line (``-c``, ``--config-env``, ``clone -c``) and
writes it (``git config``); dozens of keys name programs git runs. Rather than trusting a
list of dangerous keys to be complete, a key fires unless it is on a short list of keys
known to be harmless; the dangerous keys have their own rows so explain can name them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence

from openclaw_exec.analysis._danger import Grammar, operands, options, scan
from openclaw_exec.analysis._danger_git_config import (
    GIT_CONFIG_ROWS,
    GIT_UNKNOWN_CONFIG,
    config_label,
)

__all__ = ["GIT_CONFIG_ROWS", "GIT_SUBCOMMANDS", "GIT_UNKNOWN_CONFIG", "git_hits"]

Hit = tuple[str, str]

GIT_SUBCOMMANDS = frozenset(
    [
        "add",
        "am",
        "annotate",
        "apply",
        "archive",
        "bisect",
        "blame",
        "branch",
        "bugreport",
        "bundle",
        "cat-file",
        "check-attr",
        "check-ignore",
        "check-mailmap",
        "check-ref-format",
        "checkout",
        "checkout-index",
        "cherry",
        "cherry-pick",
        "clean",
        "clone",
        "column",
        "commit",
        "commit-graph",
        "commit-tree",
        "config",
        "count-objects",
        "credential",
        "credential-cache",
        "credential-store",
        "daemon",
        "describe",
        "diagnose",
        "diff",
        "diff-files",
        "diff-index",
        "diff-tree",
        "difftool",
        "fast-export",
        "fast-import",
        "fetch",
        "fetch-pack",
        "filter-branch",
        "fmt-merge-msg",
        "for-each-ref",
        "for-each-repo",
        "format-patch",
        "fsck",
        "fsck-objects",
        "gc",
        "get-tar-commit-id",
        "grep",
        "hash-object",
        "help",
        "hook",
        "http-backend",
        "http-fetch",
        "http-push",
        "imap-send",
        "index-pack",
        "init",
        "init-db",
        "instaweb",
        "interpret-trailers",
        "log",
        "ls-files",
        "ls-remote",
        "ls-tree",
        "mailinfo",
        "mailsplit",
        "maintenance",
        "merge",
        "merge-base",
        "merge-file",
        "merge-index",
        "merge-octopus",
        "merge-one-file",
        "merge-ours",
        "merge-recursive",
        "merge-resolve",
        "merge-subtree",
        "merge-tree",
        "mergetool",
        "mktag",
        "mktree",
        "multi-pack-index",
        "mv",
        "name-rev",
        "notes",
        "pack-objects",
        "pack-redundant",
        "pack-refs",
        "patch-id",
        "pickaxe",
        "prune",
        "prune-packed",
        "pull",
        "push",
        "quiltimport",
        "range-diff",
        "read-tree",
        "rebase",
        "receive-pack",
        "reflog",
        "remote",
        "remote-ext",
        "remote-fd",
        "repack",
        "replace",
        "request-pull",
        "rerere",
        "reset",
        "restore",
        "rev-list",
        "rev-parse",
        "revert",
        "rm",
        "send-email",
        "send-pack",
        "shortlog",
        "show",
        "show-branch",
        "show-index",
        "show-ref",
        "sparse-checkout",
        "stage",
        "stash",
        "status",
        "stripspace",
        "submodule",
        "switch",
        "symbolic-ref",
        "tag",
        "unpack-file",
        "unpack-objects",
        "update-index",
        "update-ref",
        "update-server-info",
        "upload-archive",
        "upload-pack",
        "var",
        "verify-commit",
        "verify-pack",
        "verify-tag",
        "version",
        "whatchanged",
        "worktree",
        "write-tree",
        "lfs",
    ]
)

_GLOBAL_VALUE = frozenset(
    {"-C", "--git-dir", "--work-tree", "--namespace", "--super-prefix", "--list-cmds"}
)

# Subcommand options that run a program or write a file: long name -> row key.
_LONG_ROWS = {
    "upload-pack": "--upload-pack",
    "receive-pack": "--receive-pack",
    "exec": "--exec",
    "output": "--output",
    "output-directory": "format-patch --output-directory",
    "ext-diff": "--ext-diff",
    "template": "--template",
    "extcmd": "difftool --extcmd",
    "open-files-in-pager": "grep --open-files-in-pager",
    "to-cmd": "send-email --to-cmd/--cc-cmd/--sendmail-cmd/--smtp-server",
    "cc-cmd": "send-email --to-cmd/--cc-cmd/--sendmail-cmd/--smtp-server",
    "sendmail-cmd": "send-email --to-cmd/--cc-cmd/--sendmail-cmd/--smtp-server",
    "smtp-server": "send-email --to-cmd/--cc-cmd/--sendmail-cmd/--smtp-server",
    "access-hook": "daemon --access-hook",
}
# Short options that take a value, per subcommand (only where certain: a letter read as a
# flag keeps the next word visible, which is the safe mistake).
_SHORT_VALUES = {
    "commit": "mFCct",
    "tag": "mFu",
    "merge": "mFsX",
    "log": "nSGLO",
    "show": "nSGLO",
    "whatchanged": "nSGLO",
    "diff": "SGO",
    "grep": "efABCm",
    "rebase": "xsX",
    "difftool": "xtX",
    "clone": "cubjo",
    "archive": "o",
    "format-patch": "ov",
    "checkout": "bB",
    "switch": "cC",
    "stash": "m",
    "push": "o",
    "pull": "sX",
    "config": "f",
}
# Short options that fire, per subcommand: letter -> row key.
_SHORT_ROWS = {
    "clone": {"u": "--upload-pack"},
    "rebase": {"x": "rebase --exec"},
    "difftool": {"x": "difftool --extcmd"},
    "grep": {"O": "grep --open-files-in-pager"},
    "archive": {"o": "--output"},
    "format-patch": {"o": "format-patch --output-directory"},
}
_LONG_VALUES = frozenset(
    {
        "upload-pack",
        "receive-pack",
        "exec",
        "output",
        "output-directory",
        "template",
        "extcmd",
        "config",
        "message",
        "file",
        "author",
        "date",
        "branch",
        "origin",
        "depth",
        "reference",
        "separate-git-dir",
        "format",
        "prefix",
        "remote",
        "to-cmd",
        "cc-cmd",
        "sendmail-cmd",
        "smtp-server",
        "access-hook",
        "strategy",
        "strategy-option",
        "tool",
        "blob",
        "type",
        "default",
        "comment",
        "value",
    }
)
_LONG_OPTIONAL = frozenset({"open-files-in-pager", "gpg-sign"})
_LONG_FLAGS = frozenset({"ext-diff", "no-ext-diff", "textconv", "no-textconv"})
_WHOLE_SUBCOMMANDS = {
    "filter-branch": "filter-branch",
    "instaweb": "instaweb",
    "remote-ext": "remote-ext",
    "remote-fd": "remote-ext",
}
_CONFIG_READS = frozenset(
    {
        "--get",
        "--get-all",
        "--get-regexp",
        "--get-urlmatch",
        "--get-color",
        "--get-colorbool",
        "-l",
        "--list",
    }
)
_CONFIG_WRITES = frozenset(
    {
        "--add",
        "--replace-all",
        "--unset",
        "--unset-all",
        "--rename-section",
        "--remove-section",
    }
)


def git_hits(argv: Sequence[str]) -> Iterator[Hit]:
    """``(row key, detail)`` for every dangerous thing in a git argv."""
    for word in argv[1:]:
        lowered = word.lower()
        if lowered.startswith(("ext::", "fd::")) or "::ext::" in lowered:
            yield "ext:: or fd:: transport URL", word
    i = 1
    n = len(argv)
    sub: str | None = None
    while i < n:
        word = argv[i]
        i += 1
        if word == "-c" or (word.startswith("-c") and word[2:3] != "-" and len(word) > 2):
            value = word[2:] if len(word) > 2 else (argv[i] if i < n else "")
            if len(word) == 2:
                i += 1
            yield from _config(value.partition("=")[0], f"-c {value}")
        elif word == "--config-env" or word.startswith("--config-env="):
            value = word.partition("=")[2] if "=" in word else (argv[i] if i < n else "")
            if "=" not in word:
                i += 1
            yield from _config(value.partition("=")[0], f"--config-env {value}")
        elif word.startswith("--exec-path="):
            yield "--exec-path", word
        elif word in _GLOBAL_VALUE:
            i += 1
        elif word.startswith("-"):  # other global options: flags (or --opt=value)
            continue
        else:
            sub = word
            break
    if sub is None:
        return
    yield from _subcommand(sub, list(argv[i:]))


def _config(name: str, detail: str) -> Iterator[Hit]:
    label = config_label(name)
    if label is not None:
        yield f"config {label}", detail


@functools.lru_cache(maxsize=256)
def _grammar(sub: str) -> Grammar:
    return Grammar(
        short_value=_SHORT_VALUES.get(sub, ""),
        short_optional="O" if sub == "grep" else "",
        long_value=_LONG_VALUES,
        long_optional=_LONG_OPTIONAL,
        long_flags=_LONG_FLAGS,
    )


def _subcommand(sub: str, rest: list[str]) -> Iterator[Hit]:
    if sub in _WHOLE_SUBCOMMANDS:
        yield _WHOLE_SUBCOMMANDS[sub], f"git {sub}"
        return
    if sub not in GIT_SUBCOMMANDS:
        yield "<alias or git-NAME program>", f"git {sub}"
        return
    if sub in _OPERAND_ROWS or any(w.startswith("-") for w in rest):
        yield from _subcommand_rows(sub, rest)
    # else: no option to read (`git status`), and no row reads this subcommand's operands


# The subcommands whose operands alone can fire a row (see the end of _subcommand_rows).
_OPERAND_ROWS = frozenset({"bisect", "submodule", "maintenance", "config"})


def _subcommand_rows(sub: str, rest: list[str]) -> Iterator[Hit]:
    tokens = scan(rest, _grammar(sub))
    short_rows = _SHORT_ROWS.get(sub, {})
    for name, value in options(tokens):
        shown = name if value is None else f"{name} {value}"
        if name.startswith("--"):
            key = _LONG_ROWS.get(name[2:])
            if key == "--exec" and sub == "rebase":
                key = "rebase --exec"
            if key is not None:
                yield key, shown
            elif name == "--config" and sub == "clone":
                yield from _config((value or "").partition("=")[0], f"clone {shown}")
        else:
            key = short_rows.get(name[1:])
            if key is not None:
                yield key, shown
            elif name == "-c" and sub == "clone":
                yield from _config((value or "").partition("=")[0], f"clone {shown}")
    words = operands(tokens)
    if sub == "bisect" and words[:1] == ["run"]:
        yield "bisect run", "git bisect run"
    elif sub == "submodule" and "foreach" in words:
        yield "submodule foreach", "git submodule foreach"
    elif sub == "maintenance" and words[:1] in (["start"], ["register"]):
        yield "maintenance start/register", f"git maintenance {words[0]}"
    elif sub == "config":
        yield from _config_command(tokens, words)


def _config_command(tokens: list[tuple[str, str, str | None]], words: list[str]) -> Iterator[Hit]:
    names = {name for kind, name, _ in tokens if kind == "opt"}
    if names & {"-e", "--edit"} or words[:1] == ["edit"]:
        yield "config --edit", "git config --edit"
        return
    action = words[0] if words else ""
    if action in ("get", "list") or names & _CONFIG_READS:
        return
    if action in ("set", "unset", "rename-section", "remove-section"):
        keys = words[1:2]
    elif names & _CONFIG_WRITES or len(words) >= 2:
        keys = words[:1]
    else:
        return  # one key and no value: a read
    if names & {"-f", "--file", "--blob"}:
        yield "config --file", "git config --file (writes the file it names)"
    for key in keys:
        yield from _config(key, f"git config {' '.join(words)}")
