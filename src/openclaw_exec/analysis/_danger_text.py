"""
Danger-profile matchers for text and transfer tools.

find, sed, awk, tar, sort, zip. Each yields
``(row key, detail)``; the rows are in ``_danger_rows``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from openclaw_exec.analysis._danger import (
    Grammar,
    PathContext,
    contains_protected,
    operands,
    options,
    scan,
)
from openclaw_exec.analysis._danger_scripts import awk_program_hits, sed_script_hits
from openclaw_exec.analysis._danger_util import (
    Hit,
    harmless_output,
    option_names,
    protect,
)

__all__ = ["TEXT_MATCHERS"]

# --------------------------------------------------------------------------- find

_FIND_RUNS = frozenset({"-exec", "-execdir", "-ok", "-okdir"})
_FIND_WRITES = frozenset({"-fprint", "-fprint0", "-fprintf", "-fls"})
_FIND_VALUE = frozenset(
    [
        "-name",
        "-iname",
        "-path",
        "-ipath",
        "-wholename",
        "-iwholename",
        "-regex",
        "-iregex",
        "-lname",
        "-ilname",
        "-type",
        "-xtype",
        "-user",
        "-group",
        "-uid",
        "-gid",
        "-perm",
        "-size",
        "-mtime",
        "-mmin",
        "-atime",
        "-amin",
        "-ctime",
        "-cmin",
        "-newer",
        "-anewer",
        "-cnewer",
        "-samefile",
        "-inum",
        "-links",
        "-used",
        "-maxdepth",
        "-mindepth",
        "-fstype",
        "-context",
        "-printf",
        "-regextype",
        "-files0-from",
        "-D",
        "-O",
    ]
)


def _find(argv: Sequence[str], _ctx: PathContext) -> Iterator[Hit]:
    i = 1
    while i < len(argv):
        word = argv[i]
        i += 1
        if word in _FIND_RUNS:
            yield word, " ".join(argv[i - 1 : i + 3])
        elif word in _FIND_WRITES:
            yield "-fprint/-fprint0/-fprintf/-fls", f"{word} {argv[i] if i < len(argv) else ''}"
        elif word == "-delete":
            yield "-delete", word
        elif word in _FIND_VALUE or (word.startswith("-newer") and len(word) == 8):
            i += 1


# --------------------------------------------------------------------------- sed / awk

_SED = Grammar(
    short_value="efl",
    short_optional="i",
    long_value=frozenset({"expression", "file", "line-length"}),
    long_optional=frozenset({"in-place"}),
    long_flags=frozenset(
        {
            "quiet",
            "silent",
            "debug",
            "posix",
            "regexp-extended",
            "separate",
            "sandbox",
            "unbuffered",
            "null-data",
            "zero-terminated",
            "follow-symlinks",
            "binary",
            "help",
            "version",
        }
    ),
)


def _sed(argv: Sequence[str], ctx: PathContext) -> Iterator[Hit]:
    tokens = scan(argv[1:], _SED)
    scripts: list[str] = []
    files = operands(tokens)
    in_place: list[str | None] = []
    sandbox = False
    for name, value in options(tokens):
        if name in ("-e", "--expression"):
            scripts.append(value or "")
        elif name in ("-f", "--file"):
            yield "-f SCRIPTFILE", f"{name} {value}"
        elif name in ("-i", "--in-place"):
            in_place.append(value)
        elif name == "--sandbox":
            sandbox = True
    names = option_names(tokens)
    if not scripts and not names & {"-f", "--file"} and files:
        scripts.append(files.pop(0))
    if not sandbox:
        yield from sed_script_hits("\n".join(scripts))
    if in_place:
        for suffix in in_place:
            if suffix and "/" in suffix:
                yield "-i SUFFIX with a folder", f"-i{suffix}"
        yield from protect("-i on a protected file", files, ctx)


_AWK = Grammar(
    short_value="FfvWeEil",
    short_optional="dopD",
    long_value=frozenset(
        {"field-separator", "assign", "file", "source", "exec", "include", "load"}
    ),
    long_optional=frozenset({"dump-variables", "pretty-print", "profile", "debug", "lint"}),
    long_flags=frozenset(
        {
            "characters-as-bytes",
            "traditional",
            "copyright",
            "gen-pot",
            "help",
            "bignum",
            "use-lc-numeric",
            "non-decimal-data",
            "optimize",
            "posix",
            "re-interval",
            "no-optimize",
            "sandbox",
            "lint-old",
            "version",
            "csv",
        }
    ),
)
_AWK_FILE_OPTIONS = {
    "-f": "-f/-E PROGFILE",
    "--file": "-f/-E PROGFILE",
    "-E": "-f/-E PROGFILE",
    "--exec": "-f/-E PROGFILE",
    "-i": "-i/-l (loads a library)",
    "--include": "-i/-l (loads a library)",
    "-l": "-i/-l (loads a library)",
    "--load": "-i/-l (loads a library)",
}
_AWK_WRITE_OPTIONS = frozenset(
    {"-d", "-o", "-p", "-D", "--dump-variables", "--pretty-print", "--profile", "--debug"}
)


def _awk(argv: Sequence[str], _ctx: PathContext) -> Iterator[Hit]:
    tokens = scan(argv[1:], _AWK)
    programs: list[str] = []
    has_file = False
    sandbox = False
    for name, value in options(tokens):
        if name in _AWK_FILE_OPTIONS:
            has_file = True
            yield _AWK_FILE_OPTIONS[name], f"{name} {value}"
        elif name in ("-e", "--source"):
            programs.append(value or "")
        elif name in _AWK_WRITE_OPTIONS and value:
            yield "-o/-p/-d FILE (gawk writes a file)", f"{name}{value}"
        elif name == "-W" and value is not None and value.split("=")[0] in ("exec", "e"):
            yield "-f/-E PROGFILE", f"-W {value}"
        elif name == "--sandbox" or (name == "-W" and value == "sandbox"):
            sandbox = True
    words = operands(tokens)
    if not programs and not has_file and words:
        programs.append(words[0])
    if not sandbox:
        for program in programs:
            yield from awk_program_hits(program)


# --------------------------------------------------------------------------- tar

_TAR = Grammar(
    short_value="bCfFgHIKLNTVX",
    long_value=frozenset(
        [
            "directory",
            "file",
            "files-from",
            "exclude-from",
            "exclude",
            "to-command",
            "checkpoint-action",
            "info-script",
            "new-volume-script",
            "rsh-command",
            "rmt-command",
            "use-compress-program",
            "index-file",
            "listed-incremental",
            "format",
            "owner",
            "group",
            "mode",
            "mtime",
            "newer",
            "newer-mtime",
            "after-date",
            "transform",
            "xform",
            "strip-components",
            "blocking-factor",
            "record-size",
            "label",
            "tape-length",
            "volno-file",
            "suffix",
            "sparse-version",
            "level",
            "quoting-style",
            "quote-chars",
            "no-quote-chars",
            "warning",
            "starting-file",
        ]
    ),
    long_optional=frozenset(
        {"backup", "checkpoint", "occurrence", "one-top-level", "atime-preserve"}
    ),
    long_flags=frozenset(
        [
            "extract",
            "get",
            "create",
            "append",
            "update",
            "concatenate",
            "catenate",
            "delete",
            "list",
            "diff",
            "compare",
            "absolute-names",
            "to-stdout",
            "force-local",
            "verbose",
            "gzip",
            "bzip2",
            "xz",
            "zstd",
            "auto-compress",
        ]
    ),
)
_TAR_RUNS = {
    "--to-command": "--to-command",
    "-I": "-I/--use-compress-program",
    "--use-compress-program": "-I/--use-compress-program",
    "-F": "-F/--info-script/--new-volume-script",
    "--info-script": "-F/--info-script/--new-volume-script",
    "--new-volume-script": "-F/--info-script/--new-volume-script",
    "--rsh-command": "--rsh-command/--rmt-command",
    "--rmt-command": "--rsh-command/--rmt-command",
}
_TAR_WRITES = {
    "--index-file": "--index-file/--volno-file/-g",
    "--volno-file": "--index-file/--volno-file/-g",
    "-g": "--index-file/--volno-file/-g",
    "--listed-incremental": "--index-file/--volno-file/-g",
}
_TAR_QUIET_ACTIONS = re.compile(r"(bell|\.|dot|totals|echo(=.*)?|sleep=.*|ttyout=.*|wait=.*)\Z")
_TAR_CREATE = frozenset(
    {"-c", "-r", "-u", "-A", "--create", "--append", "--update", "--concatenate", "--catenate"}
)


def _tar_args(argv: Sequence[str]) -> list[str]:
    """GNU tar's old style (``tar xzf a.tar``) rewritten as dashed options."""
    args = list(argv[1:])
    if not args or args[0].startswith("-"):
        return args
    letters = args.pop(0)
    out: list[str] = []
    for letter in letters:
        if letter in _TAR.short_value and args:
            out.extend(["-" + letter, args.pop(0)])
        else:
            out.append("-" + letter)
    return out + args


def _tar(argv: Sequence[str], ctx: PathContext) -> Iterator[Hit]:
    tokens = scan(_tar_args(argv), _TAR)
    names = option_names(tokens)
    folders: list[str] = []
    for name, value in options(tokens):
        shown = name if value is None else f"{name} {value}"
        if name in _TAR_RUNS:
            yield _TAR_RUNS[name], shown
        elif name in _TAR_WRITES:
            yield _TAR_WRITES[name], shown
        elif name == "--checkpoint-action" and not _TAR_QUIET_ACTIONS.match(value or ""):
            yield "--checkpoint-action=exec", shown
        elif name in ("-C", "--directory") and value is not None:
            folders.append(value)
        elif name in ("-f", "--file") and value is not None:
            host = value.split("/", 1)[0]
            if ":" in host and "--force-local" not in names:
                yield "-f HOST:FILE (runs rsh)", shown
            if names & _TAR_CREATE:
                yield from protect("-c -f ARCHIVE (writes a protected path)", [value], ctx)
    if names & {"-x", "--extract", "--get"}:
        if names & {"-P", "--absolute-names"}:
            yield "-x -P (extracts absolute names)", "-P"
        for folder in folders or ["."]:
            reason = contains_protected(folder, ctx)
            if reason is not None:
                yield "-x into a protected folder", reason


# --------------------------------------------------------------------------- sort / zip

_SORT = Grammar(
    short_value="kotST",
    long_value=frozenset(
        {
            "output",
            "compress-program",
            "key",
            "field-separator",
            "buffer-size",
            "temporary-directory",
            "parallel",
            "batch-size",
            "files0-from",
            "random-source",
            "sort",
        }
    ),
    long_optional=frozenset({"check", "color"}),
)


def _sort(argv: Sequence[str], _ctx: PathContext) -> Iterator[Hit]:
    for name, value in options(scan(argv[1:], _SORT)):
        if name in ("-o", "--output") and not harmless_output(value):
            yield "-o/--output", f"{name} {value}"
        elif name == "--compress-program":
            yield "--compress-program", f"{name} {value}"


def _zip(argv: Sequence[str], ctx: PathContext) -> Iterator[Hit]:
    grammar = Grammar(
        short_value="bnOtPZ",
        long_value=frozenset({"unzip-command", "output-file", "temp-path", "suffixes"}),
    )
    for word in argv[1:]:
        if word.startswith("-") and not word.startswith("--") and "TT" in word:
            yield "-TT/--unzip-command", word
    tokens = scan(argv[1:], grammar)
    for name, value in options(tokens):
        if name == "--unzip-command":
            yield "-TT/--unzip-command", f"{name} {value}"
        elif name in ("-O", "--output-file"):
            yield from protect("ARCHIVE (writes a protected path)", [value or ""], ctx)
    yield from protect("ARCHIVE (writes a protected path)", operands(tokens)[:1], ctx)


TEXT_MATCHERS = {
    "find": _find,
    "tar": _tar,
    "sed": _sed,
    "awk": _awk,
    "sort": _sort,
    "zip": _zip,
}
"""Profile name -> matcher, for the programs of this module."""
