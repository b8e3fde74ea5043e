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

__all__ = ["GIT_CONFIG_ROWS", "GIT_SUBCOMMANDS", "git_hits"]

Hit = tuple[str, str]

# (section, key, label): ``*`` in the key matches any key; a subsection is ignored.
GIT_CONFIG_ROWS: tuple[tuple[str, str, str], ...] = (
    ("core", "pager", "core.pager"),
    ("core", "editor", "core.editor"),
    ("core", "sshcommand", "core.sshCommand"),
    ("core", "fsmonitor", "core.fsmonitor"),
    ("core", "hookspath", "core.hooksPath"),
    ("core", "askpass", "core.askPass"),
    ("core", "gitproxy", "core.gitProxy"),
    ("core", "alternaterefscommand", "core.alternateRefsCommand"),
    ("core", "attributesfile", "core.attributesFile"),
    ("sequence", "editor", "sequence.editor"),
    ("pager", "*", "pager.<command>"),
    ("alias", "*", "alias.<name>"),
    ("diff", "external", "diff.external"),
    ("diff", "command", "diff.<driver>.command"),
    ("diff", "textconv", "diff.<driver>.textconv"),
    ("difftool", "cmd", "difftool.<tool>.cmd"),
    ("difftool", "path", "difftool.<tool>.path"),
    ("mergetool", "cmd", "mergetool.<tool>.cmd"),
    ("mergetool", "path", "mergetool.<tool>.path"),
    ("merge", "driver", "merge.<driver>.driver"),
    ("filter", "clean", "filter.<driver>.clean"),
    ("filter", "smudge", "filter.<driver>.smudge"),
    ("filter", "process", "filter.<driver>.process"),
    ("credential", "helper", "credential.helper"),
    ("gpg", "program", "gpg.program"),
    ("gpg", "defaultkeycommand", "gpg.ssh.defaultKeyCommand"),
    ("uploadpack", "packobjectshook", "uploadpack.packObjectsHook"),
    ("remote", "uploadpack", "remote.<name>.uploadpack"),
    ("remote", "receivepack", "remote.<name>.receivepack"),
    ("remote", "url", "remote.<name>.url"),
    ("remote", "pushurl", "remote.<name>.pushurl"),
    ("remote", "vcs", "remote.<name>.vcs"),
    ("url", "insteadof", "url.<base>.insteadOf"),
    ("url", "pushinsteadof", "url.<base>.pushInsteadOf"),
    ("protocol", "allow", "protocol.allow"),
    ("include", "path", "include.path"),
    ("includeif", "path", "includeIf.<condition>.path"),
    ("init", "templatedir", "init.templateDir"),
    ("submodule", "update", "submodule.<name>.update"),
    ("hook", "command", "hook.<name>.command"),
    ("trailer", "command", "trailer.<token>.command"),
    ("trailer", "cmd", "trailer.<token>.cmd"),
    ("tar", "command", "tar.<format>.command"),
    ("imap", "tunnel", "imap.tunnel"),
    ("interactive", "difffilter", "interactive.diffFilter"),
    ("browser", "cmd", "browser.<tool>.cmd"),
    ("browser", "path", "browser.<tool>.path"),
    ("web", "browser", "web.browser"),
    ("man", "cmd", "man.<tool>.cmd"),
    ("man", "path", "man.<tool>.path"),
    ("man", "viewer", "man.viewer"),
    ("help", "browser", "help.browser"),
    ("sendemail", "*", "sendemail.*"),
    ("safe", "directory", "safe.directory"),
    ("safe", "barerepository", "safe.bareRepository"),
)
GIT_UNKNOWN_CONFIG = "<config key not known to be harmless>"

# Keys known to be harmless: whole sections, or (section, key) pairs.
_SAFE_SECTIONS = frozenset(
    {"color", "advice", "i18n", "column", "status", "versionsort", "pretty", "gc", "pack"}
)
_SAFE_KEYS = frozenset(
    {
        ("user", "name"),
        ("user", "email"),
        ("user", "useconfigonly"),
        ("author", "name"),
        ("author", "email"),
        ("committer", "name"),
        ("committer", "email"),
        *(
            ("core", k)
            for k in (
                "quotepath",
                "autocrlf",
                "safecrlf",
                "eol",
                "abbrev",
                "filemode",
                "ignorecase",
                "precomposeunicode",
                "symlinks",
                "trustctime",
                "checkstat",
                "preloadindex",
                "untrackedcache",
                "commentchar",
                "commentstring",
                "warnambiguousrefs",
                "logallrefupdates",
                "bigfilethreshold",
                "compression",
                "loosecompression",
                "splitindex",
                "multipackindex",
                "commitgraph",
                "whitespace",
                "longpaths",
                "deltabasecachelimit",
                "packedgitwindowsize",
                "packedgitlimit",
            )
        ),
        *(
            ("diff", k)
            for k in (
                "noprefix",
                "mnemonicprefix",
                "renames",
                "renamelimit",
                "algorithm",
                "context",
                "interhunkcontext",
                "indentheuristic",
                "relative",
                "statgraphwidth",
                "statnamewidth",
                "colormoved",
                "colormovedws",
                "submodule",
                "ignoresubmodules",
                "suppressblankempty",
                "dirstat",
                "wserrorhighlight",
                "srcprefix",
                "dstprefix",
                "autorefreshindex",
            )
        ),
        *(
            ("log", k)
            for k in (
                "date",
                "decorate",
                "abbrevcommit",
                "follow",
                "graphcolors",
                "showroot",
                "excludedecoration",
                "initialdecorationset",
                "showsignature",
                "mailmap",
            )
        ),
        ("init", "defaultbranch"),
        ("pull", "rebase"),
        ("pull", "ff"),
        *(
            ("merge", k)
            for k in ("conflictstyle", "ff", "log", "renames", "stat", "autostash", "verbosity")
        ),
        *(
            ("rebase", k)
            for k in ("autosquash", "autostash", "stat", "abbreviatecommands", "updaterefs")
        ),
        ("push", "default"),
        ("push", "autosetupremote"),
        ("push", "followtags"),
        ("fetch", "prune"),
        ("fetch", "prunetags"),
        ("fetch", "parallel"),
        ("fetch", "writecommitgraph"),
        ("protocol", "version"),
        ("http", "sslverify"),
        ("http", "version"),
        ("http", "postbuffer"),
        ("tag", "sort"),
        ("tag", "gpgsign"),
        ("commit", "gpgsign"),
        ("commit", "verbose"),
        ("commit", "status"),
        ("commit", "cleanup"),
        ("branch", "sort"),
        ("branch", "autosetupmerge"),
        ("branch", "autosetuprebase"),
        ("checkout", "defaultremote"),
        ("checkout", "workers"),
        ("grep", "linenumber"),
        ("grep", "patterntype"),
        ("grep", "extendedregexp"),
        ("grep", "column"),
        ("grep", "fullname"),
        ("blame", "date"),
        ("blame", "showemail"),
        ("blame", "showroot"),
        ("blame", "blankboundary"),
        ("submodule", "recurse"),
        ("submodule", "fetchjobs"),
        ("maintenance", "auto"),
        ("am", "threeway"),
        ("apply", "whitespace"),
        ("help", "autocorrect"),
        ("rerere", "enabled"),
        ("rerere", "autoupdate"),
        ("transfer", "fsckobjects"),
        ("feature", "manyfiles"),
        ("feature", "experimental"),
        ("index", "version"),
        ("index", "threads"),
        ("format", "pretty"),
        ("clone", "defaultremotename"),
    }
)


def config_label(name: str) -> str | None:
    """The row label for setting config *name*, ``None`` when it is known harmless."""
    parts = name.split(".")
    if len(parts) < 2 or not parts[0] or not parts[-1]:
        return GIT_UNKNOWN_CONFIG
    section = parts[0].lower()
    key = parts[-1].lower()
    for row_section, row_key, label in GIT_CONFIG_ROWS:
        if section == row_section and row_key in ("*", key):
            return label
    if section in _SAFE_SECTIONS or (section, key) in _SAFE_KEYS:
        return None
    return GIT_UNKNOWN_CONFIG


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
