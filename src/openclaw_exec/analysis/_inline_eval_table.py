"""
The inline-eval table: which interpreters run code given on their command line, and how.

Data for ``_inline_eval.py``: OpenClaw 2026.9.6's ``FLAG_INTERPRETER_INLINE_EVAL_SPECS`` and
``POSITIONAL_INTERPRETER_INLINE_EVAL_SPECS`` (same names, flags, clusters and abbreviations),
extended with the forms listed in ``docs/analysis.md`` ("Inline eval"): module runners,
programs on stdin, ``sed --expression``, the vim family, ``gdb --ex``, ``deno eval``,
``node --import data:…`` and more interpreter names.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

__all__ = [
    "FLAG_SPECS",
    "INTERPRETER_NAMES",
    "POSITIONAL_SPECS",
    "Abbrev",
    "Cluster",
    "FlagSpec",
    "PositionalSpec",
    "StdinSpec",
]


@attrs.frozen
class Cluster:
    """A short flag that may end a cluster of other short flags (``-Ic``, ``-lne``)."""

    label: str
    flag: str
    prefix_chars: frozenset[str]
    numeric_record_separator: bool = False
    numeric_value_chars: frozenset[str] = frozenset()


@attrs.frozen
class Abbrev:
    label: str
    full: str
    min: str


@attrs.frozen
class StdinSpec:
    """
    When the interpreter reads its program from stdin: no script operand (or ``-``).

    Attributes:
        value_flags: Options that take the next word as their value.
        value_letters: Short-option letters that take a value (rest of the cluster or
            the next word).
        info_flags: Options that print and exit without reading a program.
        script_flags: Options whose value is the script (``php -f x``): not stdin.
        bare_reads_stdin: Without any operand the program comes from stdin (a
            non-terminal stdin, as under ``guarded_run``).
    """

    value_flags: frozenset[str] = frozenset()
    value_letters: frozenset[str] = frozenset()
    info_flags: frozenset[str] = frozenset()
    script_flags: frozenset[str] = frozenset()
    bare_reads_stdin: bool = True


@attrs.frozen
class FlagSpec:
    names: frozenset[str]
    exact: frozenset[str]
    raw_exact: Mapping[str, str] = attrs.field(factory=dict)
    raw_prefixes: tuple[tuple[str, str], ...] = ()
    prefixes: tuple[tuple[str, str], ...] = ()
    abbreviated: tuple[Abbrev, ...] = ()
    joined: frozenset[str] | None = None  # None: the single-letter exact flags
    joined_raw: Mapping[str, str] | None = None  # None: the single-letter raw exact flags
    joined_deny_exact: frozenset[str] = frozenset()
    joined_deny_prefixes: tuple[str, ...] = ()
    clusters: tuple[Cluster, ...] = ()
    scan_past_double_dash: bool = False
    # Extensions beyond OpenClaw 2026.9.6:
    subcommands: frozenset[str] = frozenset()  # `deno eval`
    code_values: Mapping[str, str] = attrs.field(factory=dict)  # flag -> value prefix (data:)
    stdin: StdinSpec | None = None
    always: bool = False  # every run reads code from stdin (`ex`)


@attrs.frozen
class PositionalSpec:
    names: frozenset[str]
    flag: str
    file_flags: frozenset[str] = frozenset()
    file_prefixes: tuple[str, ...] = ()
    value_flags: frozenset[str] = frozenset()
    optional_value_flags: frozenset[str] = frozenset()
    value_prefixes: tuple[str, ...] = ()


def _fs(*items: str) -> frozenset[str]:
    return frozenset(items)


def _w(words: str) -> frozenset[str]:
    return frozenset(words.split())


_PY_PREFIX = _fs(*"BEIOPRSbdiqsuvx")
_PERL_PREFIX = _fs(*"STWXUVacdflnpstuw")
_RUBY_PREFIX = _fs(*"SUWacdlnpsvw")
_PYTHON_NAMES = _fs(
    "python", "python2", "python3", "pypy", "pypy3",
    # beyond 9.6: the Windows launcher and other CPython-compatible front ends
    "py", "pythonw", "ipython", "ipython3", "micropython", "jython", "graalpy",
)  # fmt: skip
_NODE_NAMES = _w("node nodejs bun deno ts-node")
_VIM_NAMES = _w("vim vi nvim view gvim gview vimdiff rvim rview evim nvi")  # fmt: skip
_GDB_LONG = (
    "eval-command",
    "init-eval-command",
    "early-init-eval-command",
)

FLAG_SPECS: tuple[FlagSpec, ...] = (
    FlagSpec(
        _PYTHON_NAMES,
        _w("-c -m"),
        clusters=(Cluster("-c", "c", _PY_PREFIX), Cluster("-m", "m", _PY_PREFIX)),
        stdin=StdinSpec(
            value_flags=_w("-W -X --check-hash-based-pycs"),
            value_letters=_w("W X"),
            info_flags=_w("-V -VV --version -h -? --help --help-env --help-xoptions --help-all"),
        ),
    ),
    FlagSpec(
        _NODE_NAMES,
        _w("-e --eval -p --print"),
        clusters=(Cluster("-e", "e", _w("p i")), Cluster("-p", "p", _w("e i"))),
        subcommands=_w("eval"),
        code_values={
            "--import": "data:",
            "--require": "data:",
            "-r": "data:",
            "--loader": "data:",
            "--experimental-loader": "data:",
        },
        stdin=StdinSpec(
            value_flags=_w(
                "-r --require --import --loader --experimental-loader -C --conditions "
                "--input-type --env-file --title --redirect-warnings --inspect-port"
            ),
            info_flags=_w("-v --version -h --help --v8-options -c --check"),
        ),
    ),
    FlagSpec(
        _w("awk gawk mawk nawk"),
        _w("-e --source"),
        abbreviated=(Abbrev("--source", "--source", "--s"),),
        prefixes=(("--source", "--source="),),
    ),
    FlagSpec(
        _w("ruby"),
        _w("-e"),
        clusters=(
            Cluster(
                "-e",
                "e",
                _RUBY_PREFIX,
                numeric_record_separator=True,
                numeric_value_chars=_w("W"),
            ),
        ),
        stdin=StdinSpec(
            value_flags=_w("-I -r -C -E --encoding"),
            info_flags=_w("-v --version -h --help"),
        ),
    ),
    FlagSpec(
        _w("perl"),
        _w("-e -E"),
        # beyond 9.6: -M/-m put their text into `use MODULE ...;` code, -d:MOD likewise.
        raw_exact={"-M": "-M", "-m": "-m"},
        raw_prefixes=(("-M", "-M"), ("-m", "-m"), ("-d:", "-d:")),
        joined_raw={},
        clusters=tuple(
            Cluster(
                "-e" if f in "eE" else f"-{f}",
                f,
                _PERL_PREFIX,
                numeric_record_separator=True,
                numeric_value_chars=_w("l"),
            )
            for f in "eEMm"
        ),
        stdin=StdinSpec(
            value_flags=_w("-I"),
            info_flags=_w("-v -V -h --version --help"),
        ),
    ),
    FlagSpec(
        _w("php"),
        _w("-r"),
        raw_exact={"-B": "-B", "-E": "-E", "-R": "-R"},
        stdin=StdinSpec(
            value_flags=_w("-c -d -z"),
            info_flags=_w(
                "-v --version -h --help -i --info -m --modules --ini -l --syntax-check -s "
                "--syntax-highlight -w --strip"
            ),
            script_flags=_w("-f --file"),
        ),
    ),
    FlagSpec(
        _w("r rscript"),
        _w("-e"),
        stdin=StdinSpec(
            value_flags=_w("-f --file"),
            info_flags=_w("--version -h --help"),
            script_flags=_w("-f --file"),
            bare_reads_stdin=False,
        ),
    ),
    FlagSpec(
        _w("julia"),
        _w("-e --eval --print"),
        raw_exact={"-E": "-E"},
        stdin=StdinSpec(
            value_flags=_w("-L --load -J --sysimage -p --procs -t"),
            info_flags=_w("-v --version -h --help"),
            bare_reads_stdin=False,
        ),
    ),
    FlagSpec(_w("elixir iex"), _w("-e --eval --rpc-eval"), joined=frozenset()),
    FlagSpec(_w("guile"), _w("-c -e"), joined=frozenset()),
    FlagSpec(
        _w("groovy"),
        _w("-e"),
        joined_deny_exact=_w("-encoding"),
        joined_deny_prefixes=("-encoding=",),
        clusters=(Cluster("-e", "e", _w("n p")),),
    ),
    FlagSpec(
        _w("scala scala-cli"),
        _w(
            "-e --script-snippet --execute-script --execute-sc --execute-scala-script "
            "--scala-snippet --execute-scala --java-snippet --execute-java --markdown-snippet "
            "--md-snippet --execute-markdown --execute-md"
        ),
        joined=frozenset(),
    ),
    FlagSpec(_w("clojure clj"), _w("-e --eval"), joined=frozenset()),
    FlagSpec(
        _w("raku perl6"),
        _w("-e"),
        joined=_w("-e"),
        clusters=(Cluster("-e", "e", _w("n p")),),
    ),
    FlagSpec(_w("ghc ghci"), _w("-e"), joined=frozenset()),
    FlagSpec(_w("erl werl"), _w("-eval -run -s"), joined=frozenset()),
    FlagSpec(
        _w("gdb"),
        _fs(
            "-ex",
            "-iex",
            "-eiex",
            "--ex",
            "--iex",
            "--eiex",
            *(f"-{n}" for n in _GDB_LONG),
            *(f"--{n}" for n in _GDB_LONG),
        ),
        abbreviated=(
            Abbrev("-eval-command", "-eval-command", "-ev"),
            Abbrev("--eval-command", "--eval-command", "--ev"),
            Abbrev("-init-eval-command", "-init-eval-command", "-init-e"),
            Abbrev("--init-eval-command", "--init-eval-command", "--init-e"),
            Abbrev("-early-init-eval-command", "-early-init-eval-command", "-early-init-e"),
            Abbrev("--early-init-eval-command", "--early-init-eval-command", "--early-init-e"),
        ),
        prefixes=(
            ("-ex", "-ex="),
            ("-iex", "-iex="),
            ("-eiex", "-eiex="),
            ("-ex", "--ex="),
            ("-iex", "--iex="),
            ("-eiex", "--eiex="),
            *((f"-{n}", f"-{n}=") for n in _GDB_LONG),
        ),
    ),
    FlagSpec(
        _w("expect"),
        _w("-c"),
        stdin=StdinSpec(value_flags=_w("-D"), info_flags=_w("-v"), script_flags=_w("-f")),
    ),
    FlagSpec(
        _w("tclsh wish jimsh"),
        frozenset(),
        joined=frozenset(),
        stdin=StdinSpec(value_flags=_w("-encoding")),
    ),
    FlagSpec(
        _w("lua luajit"),
        _w("-e"),
        stdin=StdinSpec(
            value_flags=_w("-l"),
            info_flags=_w("-v"),
        ),
    ),
    FlagSpec(
        _w("osascript"),
        _w("-e"),
        stdin=StdinSpec(value_flags=_w("-l -s")),
    ),
    FlagSpec(
        _VIM_NAMES,
        _w("-c --cmd -s"),
        # -e/-E/-es: ex mode reads its commands from stdin; -S sources a session script;
        # +cmd runs an ex command (+N and +/pattern only move the cursor).
        raw_exact={"-S": "-S", "-e": "-e", "-E": "-E", "-es": "-es", "-Es": "-Es"},
        raw_prefixes=(("+cmd", "+"),),
        joined_raw={},
    ),
    FlagSpec(_w("ex"), frozenset(), joined=frozenset(), always=True),
    FlagSpec(
        _w("find"),
        _w("-exec -execdir -ok -okdir"),
        scan_past_double_dash=True,
    ),
    FlagSpec(
        _w("make gmake"),
        _w("-f --file --makefile --eval"),
        raw_exact={"-E": "-E"},
        raw_prefixes=(("-E", "-E"),),
        abbreviated=(Abbrev("--eval", "--eval", "--ev"),),
        prefixes=(
            ("-f", "-f"),
            ("--file", "--file="),
            ("--makefile", "--makefile="),
            ("--eval", "--eval="),
        ),
    ),
    FlagSpec(
        _w("sed gsed"),
        _w("--expression"),
        raw_exact={"-e": "-e"},
        raw_prefixes=(("-e", "-e"),),
        abbreviated=(Abbrev("--expression", "--expression", "--e"),),
        prefixes=(("--expression", "--expression="),),
        joined=frozenset(),
    ),
)
POSITIONAL_SPECS = (
    PositionalSpec(
        _w("awk gawk mawk nawk"),
        "<program>",
        file_flags=_w("-f --file"),
        file_prefixes=("-f", "--file="),
        value_flags=_w("-f --file -F --field-separator -v --assign -i --include -l --load -W"),
        value_prefixes=("-F", "--field-separator=", "-v", "--assign=", "--include=", "--load="),
    ),
    PositionalSpec(
        _w("xargs"),
        "<command>",
        value_flags=_w(
            "-a --arg-file -d --delimiter -E -I -L --max-lines -n --max-args -P --max-procs "
            "-s --max-chars"
        ),
        optional_value_flags=_w("--eof --replace"),
        value_prefixes=(
            "-a",
            "--arg-file=",
            "-d",
            "--delimiter=",
            "-E",
            "--eof=",
            "-I",
            "--replace=",
            "-i",
            "-L",
            "--max-lines=",
            "-l",
            "-n",
            "--max-args=",
            "-P",
            "--max-procs=",
            "-s",
            "--max-chars=",
        ),
    ),
    PositionalSpec(
        _w("sed gsed"),
        "<program>",
        file_flags=_w("-f --file"),
        file_prefixes=("-f", "--file="),
        value_flags=_w("-f --file -l --line-length"),
        optional_value_flags=_w("-i --in-place"),
        value_prefixes=("-f", "--file=", "--in-place=", "--line-length="),
    ),
)

INTERPRETER_NAMES = frozenset(
    [name for spec in FLAG_SPECS for name in spec.names]
    + [name for pspec in POSITIONAL_SPECS for name in pspec.names]
)
"""Executables whose allow-always grant would allow arbitrary code (never persisted)."""
