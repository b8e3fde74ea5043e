r"""
Obfuscated commands: shapes that hide what they run, which always need a human.

A port of OpenClaw 2026.4.1's ``detectCommandObfuscation``
(``src/infra/exec-obfuscation-detect.ts``): the text is NFKC-normalised, invisible code
points are removed, and fifteen patterns are tried (base64/hex/printf decoded into a
shell, ``curl … | sh``, ``eval $(… base64 …)``, ``$'\x63\x61…'``, ``python3 -c
"exec(b64decode(…))"``...); a text over 10,000 characters is obfuscated by itself.
OpenClaw forces an approval for a hit even when every segment is allowlisted or an
allow-always grant covers the command, and a timeout never approves it; the library does
the same through :attr:`Evaluation.must_ask <openclaw_exec.analysis.Evaluation.must_ask>`
(``obfuscation: …`` triggers).

The port keeps OpenClaw's patterns and its one suppression (``curl`` of a known installer
URL piped to a shell, which then still needs approval as a shell reading stdin). It adds
one structural check the regexes miss (:func:`detect_encoded_inline_eval`): an inline
program (``python3.11 -Ic``, ``node -e``, ``php -r``, ``perl -le``, ``lua -e``...,
found by the inline-eval detector on the parsed segments) that decodes, evaluates or runs
commands.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence

import attrs

from openclaw_exec.analysis._inline_eval import detect_inline_eval

__all__ = [
    "MAX_COMMAND_CHARS",
    "OBFUSCATION_PATTERNS",
    "ObfuscationResult",
    "detect_command_obfuscation",
    "detect_encoded_inline_eval",
]

MAX_COMMAND_CHARS = 10_000
"""Longer texts are obfuscated by length alone (OpenClaw's ``MAX_COMMAND_CHARS``)."""

_INVISIBLE = frozenset(
    {
        173, 847, 1564, 4447, 4448, 6068, 6069, 6155, 6156, 6157, 6158, 6159, 12644, 65279,
        65440, 8203, 8204, 8205, 8206, 8207, 8234, 8235, 8236, 8237, 8238,
        *range(8288, 8304),
        *range(65024, 65040),
        917505,
        *range(917536, 917536 + 95),
        917631,
        *range(917760, 917760 + 240),
    }
)  # fmt: skip

_SHELLS = r"(?:sh|bash|zsh|dash|ksh|fish)"
# JavaScript's \s (Unicode white space and line terminators) and its line terminators:
# Python's \s under re.ASCII is narrower, and `$` under re.MULTILINE sees only \n.
_JS_WS = "\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"


@attrs.frozen
class _Pattern:
    """
    One of OpenClaw's patterns.

    ``source`` is OpenClaw's regular expression, for reference. ``matches`` decides the same
    question in linear time: several of the originals backtrack for seconds (up to minutes
    for ``var-expansion-obfuscation``) on a 10,000-character text, so each is rebuilt from
    steps that never match less than the original does (a few match slightly more).
    """

    id: str
    description: str
    source: str
    matches: Callable[[str], bool] = attrs.field(eq=False, repr=False)
    # Literal text every match contains (lower-cased), and one of `any_of` when given: a
    # text without it cannot match, which skips the pattern for nearly every command.
    all_of: tuple[str, ...] = ()
    any_of: tuple[str, ...] = ()


def _rx(pattern: str, *, ascii_only: bool = True, ignore_case: bool = True) -> re.Pattern[str]:
    # JavaScript's \s is Unicode white space and line terminators; its \b, \w and /i
    # (without /u) are ASCII-only: translate \s, keep ASCII for the rest.
    pattern = pattern.replace("[^;\\s]", f"[^;{_JS_WS}]").replace("\\s", f"[{_JS_WS}]")
    flags = (re.ASCII if ascii_only else 0) | (re.IGNORECASE if ignore_case else 0)
    return re.compile(pattern, flags)


def _in_order(*steps: str, ignore_case: bool = True) -> Callable[[str], bool]:
    r"""
    ``A.*B.*C``: each step after the last, with no line feed between (``.`` crosses none).

    The steps themselves may span lines (their ``\s`` does). Each step's leftmost match
    after the previous one is kept and reused while it still lies ahead, so the whole text
    is scanned about once per step whatever the number of ``A`` occurrences.
    """
    first, *rest = (_rx(step, ignore_case=ignore_case) for step in steps)

    def matches(text: str) -> bool:
        if first.search(text) is None:
            return False
        ahead: list[re.Match[str] | None] = [None] * len(rest)
        for lead in first.finditer(text):
            pos = lead.end()
            for k, step in enumerate(rest):
                found = ahead[k]
                if found is None or found.start() < pos:
                    found = step.search(text, pos)
                    if found is None:
                        return False  # none after this position, so none after a later one
                    ahead[k] = found
                line_end = text.find("\n", pos)
                if 0 <= line_end < found.start():
                    break  # only across a line feed: try the next A
                pos = found.end()
            else:
                return True
        return False

    return matches


def _regex(pattern: str, *, ignore_case: bool = True) -> Callable[[str], bool]:
    """A pattern without nested or adjacent unbounded repeats: searched as it is."""
    compiled = _rx(pattern, ignore_case=ignore_case)
    return lambda text: compiled.search(text) is not None


_PIPE_SHELL = _rx(rf"\|\s*{_SHELLS}\b")
_JS_LINE_END = re.compile("[\n\r\u2028\u2029]")
_JS_WS_SET = frozenset("\t\n\v\f\r \u00a0\u1680\u2028\u2029\u202f\u205f\u3000\ufeff") | {
    chr(c) for c in range(0x2000, 0x200B)
}


def _pipe_to_shell(text: str) -> bool:
    # \|\s*SHELL\b(?:\s+[^|;\n\r]+)?\s*$ under /m: on some line, after the shell word, the
    # rest of the line holds no | or ; and is empty, blank, or starts with a blank. The
    # match starts at a |, so only the line's last | can start it.
    for line in _JS_LINE_END.split(text):
        last = line.rfind("|")
        if last < 0:
            continue
        found = _PIPE_SHELL.match(line, last)
        if found is None:
            continue
        rest = line[found.end() :]
        if ";" not in rest and (not rest or rest[0] in _JS_WS_SET):
            return True
    return False


_CMDSUB_START = _rx(rf"{_SHELLS}\s+-c\s+[\"']")
_CMDSUB_DECODERS = (
    _rx(r"base64\s+(?:-d|--decode)|xxd\s+-r"),
    _rx(r"printf\s+"),
)
_HEX = _rx(r"\\x[0-9a-f]{2}")


def _command_substitution_decode(text: str) -> bool:
    # SHELL -c ["'][^"']*\$\([^)]*DECODER[^)]*\)[^"']*["']: a superset in linear steps
    # (the opening quote, then `$(`, a decoder, `)` and a quote, each after the last).
    start = _CMDSUB_START.search(text)
    if start is None:
        return False
    sub = text.find("$(", start.end())
    if sub < 0:
        return False
    ends: list[int] = []
    found = _CMDSUB_DECODERS[0].search(text, sub + 2)
    if found is not None:
        ends.append(found.end())
    printf = _CMDSUB_DECODERS[1].search(text, sub + 2)
    if printf is not None:
        line_end = text.find("\n", printf.end())
        hexed = _HEX.search(text, printf.end(), line_end if line_end >= 0 else len(text))
        if hexed is not None:
            ends.append(hexed.end())
    for end in ends:
        close = text.find(")", end)
        if close >= 0 and any(q in text[close + 1 :] for q in "\"'"):
            return True
    return False


_ANSI_C_START = re.compile(r"\$'")


def _escapes(escape: str) -> Callable[[str], bool]:
    # \$'(?:[^']*ESCAPE){2,}: two escapes in the run of non-quotes after a $'.
    compiled = re.compile(escape, re.ASCII)

    def matches(text: str) -> bool:
        for found in _ANSI_C_START.finditer(text):
            stop = text.find("'", found.end())
            run = text[found.end() : stop if stop >= 0 else len(text)]
            if len(compiled.findall(run)) >= 2:
                return True
        return False

    return matches


_UNIT = r"[a-zA-Z_]\w{0,2}=[^;\s]+\s*;\s*"
_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_EXPANSION = re.compile(r"\$(?:[a-zA-Z_]|\{[a-zA-Z_])", re.ASCII)


_JS_WS_CHARS = "".join(sorted(_JS_WS_SET))
_JS_WS_RUN = re.compile(f"[{re.escape(_JS_WS_CHARS)}]")


def _ends_with_unit(chunk: str) -> bool:
    """Whether *chunk* ends with ``NAME=VALUE`` plus blanks (NAME 1-3 word characters)."""
    body = chunk.rstrip(_JS_WS_CHARS)
    token = _JS_WS_RUN.split(body)[-1] if body else ""
    for j, ch in enumerate(token):
        if ch != "=" or j == 0 or j == len(token) - 1:
            continue
        for k in (1, 2, 3):
            name = token[j - k : j] if j - k >= 0 else ""
            if len(name) == k and not name[0].isdigit() and all(c in _WORD for c in name):
                return True
    return False


def _is_unit(chunk: str) -> bool:
    """Whether *chunk*, without leading blanks, is exactly ``NAME=VALUE`` plus blanks."""
    body = chunk.lstrip(_JS_WS_CHARS)
    return _UNIT_BODY.fullmatch(body) is not None


_UNIT_BODY = _rx(r"[a-zA-Z_]\w{0,2}=[^;\s]+\s*", ignore_case=False)


def _var_expansion(text: str) -> bool:
    # (?:UNIT){2,}[^$]*\$(?:[a-zA-Z_]|\{[a-zA-Z_]): a superset in linear steps. Units end
    # at a ';', so the text is cut at every ';': a chain of two is a chunk that ends with
    # an assignment followed by a chunk that is one, and an expansion must come after it.
    if "$" not in text or ";" not in text:
        return False
    chunks = text.split(";")
    offset = 0
    for i in range(len(chunks) - 2):
        offset += len(chunks[i]) + 1
        if _ends_with_unit(chunks[i]) and _is_unit(chunks[i + 1]):
            end = offset + len(chunks[i + 1]) + 1
            return _EXPANSION.search(text, end) is not None
    return False


_NEEDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "base64-pipe-exec": (("base64", "|"), ()),
    "hex-pipe-exec": (("xxd", "|"), ()),
    "printf-pipe-exec": (("printf", "\\x", "|"), ()),
    "eval-decode": (("eval",), ()),
    "base64-decode-to-shell": (("base64", "|"), ()),
    "pipe-to-shell": (("|",), ()),
    "command-substitution-decode-exec": (("-c", "$(", ")"), ()),
    "process-substitution-remote-exec": (("<(",), ()),
    "source-process-substitution-remote": (("<(",), ()),
    "shell-heredoc-exec": (("<<",), ()),
    "octal-escape": (("$'",), ()),
    "hex-escape": (("$'", "\\x"), ()),
    "python-exec-encoded": ((), ("python", "perl", "ruby")),
    "curl-pipe-shell": (("|",), ("curl", "wget")),
    "var-expansion-obfuscation": (("=", ";", "$"), ()),
}


# Every pattern needs one of these (its first need): most commands skip all fifteen.
_GATES = ("|", "eval", "$", "<(", "<<", "python", "perl", "ruby")


def _p(ident: str, description: str, source: str, matches: Callable[[str], bool]) -> _Pattern:
    all_of, any_of = _NEEDS[ident]
    return _Pattern(ident, description, source, matches, all_of, any_of)


_B64D = r"base64\s+(?:-d|--decode)\b"
_TO_SHELL = rf"\|\s*{_SHELLS}\b"
OBFUSCATION_PATTERNS: tuple[_Pattern, ...] = (
    _p(
        "base64-pipe-exec",
        "Base64 decode piped to shell execution",
        rf"/{_B64D}.*{_TO_SHELL}/i",
        _in_order(_B64D, _TO_SHELL),
    ),
    _p(
        "hex-pipe-exec",
        "Hex decode (xxd) piped to shell execution",
        rf"/xxd\s+-r\b.*{_TO_SHELL}/i",
        _in_order(r"xxd\s+-r\b", _TO_SHELL),
    ),
    _p(
        "printf-pipe-exec",
        "printf with escape sequences piped to shell execution",
        rf"/printf\s+.*\\x[0-9a-f]{{2}}.*{_TO_SHELL}/i",
        _in_order(r"printf\s+", r"\\x[0-9a-f]{2}", _TO_SHELL),
    ),
    _p(
        "eval-decode",
        "eval with encoded/decoded input",
        r"/eval\s+.*(?:base64|xxd|printf|decode)/i",
        _in_order(r"eval\s+", r"base64|xxd|printf|decode"),
    ),
    _p(
        "base64-decode-to-shell",
        "Base64 decode piped to shell",
        rf"/\|\s*{_B64D}.*{_TO_SHELL}/i",
        _in_order(rf"\|\s*{_B64D}", _TO_SHELL),
    ),
    _p(
        "pipe-to-shell",
        "Content piped directly to shell interpreter",
        rf"/{_TO_SHELL}(?:\s+[^|;\n\r]+)?\s*$/im",
        _pipe_to_shell,
    ),
    _p(
        "command-substitution-decode-exec",
        "Shell -c with command substitution decode/obfuscation",
        rf"/{_SHELLS}\s+-c\s+[\"'][^\"']*\$\([^)]*(?:base64\s+(?:-d|--decode)|xxd\s+-r"
        r"|printf\s+.*\\x[0-9a-f]{2})[^)]*\)[^\"']*[\"']/i",
        _command_substitution_decode,
    ),
    _p(
        "process-substitution-remote-exec",
        "Shell process substitution from remote content",
        rf"/{_SHELLS}\s+<\(\s*(?:curl|wget)\b/i",
        _regex(rf"{_SHELLS}\s+<\(\s*(?:curl|wget)\b"),
    ),
    _p(
        "source-process-substitution-remote",
        "source/. with process substitution from remote content",
        r"/(?:^|[;&\s])(?:source|\.)\s+<\(\s*(?:curl|wget)\b/i",
        _regex(r"(?:^|[;&\s])(?:source|\.)\s+<\(\s*(?:curl|wget)\b"),
    ),
    _p(
        "shell-heredoc-exec",
        "Shell heredoc execution",
        rf"/{_SHELLS}\s+<<-?\s*['\"]?[a-zA-Z_][\w-]*['\"]?/i",
        _regex(rf"{_SHELLS}\s+<<-?\s*['\"]?[a-zA-Z_]"),
    ),
    _p(
        "octal-escape",
        "Bash octal escape sequences (potential command obfuscation)",
        r"/\$'(?:[^']*\\[0-7]{3}){2,}/",
        _escapes(r"\\[0-7]{3}"),
    ),
    _p(
        "hex-escape",
        "Bash hex escape sequences (potential command obfuscation)",
        r"/\$'(?:[^']*\\x[0-9a-fA-F]{2}){2,}/",
        _escapes(r"\\x[0-9a-fA-F]{2}"),
    ),
    _p(
        "python-exec-encoded",
        "Python/Perl/Ruby with base64 or encoded execution",
        r"/(?:python[23]?|perl|ruby)\s+-[ec]\s+.*(?:base64|b64decode|decode|exec|system|eval)/i",
        _in_order(
            r"(?:python[23]?|perl|ruby)\s+-[ec]\s+", r"base64|b64decode|decode|exec|system|eval"
        ),
    ),
    _p(
        "curl-pipe-shell",
        "Remote content (curl/wget) piped to shell execution",
        rf"/(?:curl|wget)\s+.*{_TO_SHELL}/i",
        _in_order(r"(?:curl|wget)\s+", _TO_SHELL),
    ),
    _p(
        "var-expansion-obfuscation",
        "Variable assignment chain with expansion (potential obfuscation)",
        rf"/(?:{_UNIT}){{2,}}[^$]*\$(?:[a-zA-Z_]|\{{[a-zA-Z_])/",
        _var_expansion,
    ),
)
"""OpenClaw 2026.4.1's patterns, in its order (ids and descriptions are its own)."""

# (host, path prefix) of the installers OpenClaw lets `curl … | sh` through for.
_SAFE_CURL_PIPE_URLS = (
    ("brew.sh", None),
    ("get.pnpm.io", None),
    ("bun.sh", "/install"),
    ("sh.rustup.rs", None),
    ("get.docker.com", None),
    ("install.python-poetry.org", None),
    ("raw.githubusercontent.com", "/Homebrew"),
    ("raw.githubusercontent.com", "/nvm-sh/nvm"),
)
_URL = re.compile(r"https?://\S+", re.ASCII)


@attrs.frozen
class ObfuscationResult:
    """
    What :func:`detect_command_obfuscation` found.

    Attributes:
        detected: Any pattern matched.
        reasons: The matched patterns' descriptions.
        matched_patterns: Their ids (``base64-pipe-exec``...).
    """

    detected: bool
    reasons: tuple[str, ...] = ()
    matched_patterns: tuple[str, ...] = ()


_NOTHING = ObfuscationResult(detected=False)


def _strip_invisible(text: str) -> str:
    return "".join(ch for ch in text if ord(ch) not in _INVISIBLE)


def _suppress_curl_pipe_shell(command: str) -> bool:
    urls = _URL.findall(command)
    if len(urls) != 1:
        return False
    rest = urls[0].split("://", 1)[1]
    cut = next((i for i, c in enumerate(rest) if c in "/?#\\"), len(rest))
    netloc = rest[:cut].lower()
    path = re.split(r"[?#]", rest[cut:], maxsplit=1)[0] or "/"
    # Stricter than OpenClaw's WHATWG URL parse: no userinfo, port, escapes or dot
    # segments at all (`/Homebrew/../x` is `/x` to a browser), so no parser gap can
    # suppress the hit for another location.
    if any(c in netloc for c in "@:%\\") or any(c in path for c in "%\\"):
        return False
    if "/../" in path + "/" or "/./" in path + "/":
        return False
    for safe_host, prefix in _SAFE_CURL_PIPE_URLS:
        if netloc == safe_host and (
            prefix is None or path == prefix or path.startswith(prefix + "/")
        ):
            return True
    return False


def _js_length(text: str) -> int:
    """JavaScript's ``length``: UTF-16 code units (an astral character counts twice)."""
    if len(text) > MAX_COMMAND_CHARS or text.isascii():
        return len(text)
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def detect_command_obfuscation(command: str) -> ObfuscationResult:
    """
    OpenClaw's ``detectCommandObfuscation``: whether *command* hides what it runs.

    Args:
        command: The command text as the agent sent it.

    Returns:
        The result; ``detected`` is true for a text over :data:`MAX_COMMAND_CHARS`.
    """
    if not command or not command.strip():
        return _NOTHING
    if _js_length(command) > MAX_COMMAND_CHARS:
        return ObfuscationResult(
            detected=True,
            reasons=("Command too long; potential obfuscation",),
            matched_patterns=("command-too-long",),
        )
    # ASCII text is its own NFKC form and holds no invisible code point (the common case).
    normalized = (
        command if command.isascii() else _strip_invisible(unicodedata.normalize("NFKC", command))
    )
    url_count = len(_URL.findall(normalized))
    ids: list[str] = []
    reasons: list[str] = []
    lower = normalized.lower()
    if not any(gate in lower for gate in _GATES):
        return _NOTHING
    for pattern in OBFUSCATION_PATTERNS:
        if not all(map(lower.__contains__, pattern.all_of)):
            continue
        if pattern.any_of and not any(map(lower.__contains__, pattern.any_of)):
            continue
        if not pattern.matches(normalized):
            continue
        if (
            pattern.id == "curl-pipe-shell"
            and url_count <= 1
            and _suppress_curl_pipe_shell(command)
        ):
            continue
        ids.append(pattern.id)
        reasons.append(pattern.description)
    if not ids:
        return _NOTHING
    return ObfuscationResult(detected=True, reasons=tuple(reasons), matched_patterns=tuple(ids))


# --------------------------------------------------------------------------- our extension

# What an inline program uses to decode, evaluate or run something it does not show.
_ENCODED_MARKERS = re.compile(
    r"base64|b64decode|b32decode|a85decode|unhexlify|fromhex|decode|decompress|inflate"
    r"|\bexec|\beval|system|popen|spawn|subprocess|child_process|__import__|compile\s*\("
    r"|fromcharcode|buffer\.from|atob|str_rot13|rot13|\bpack\s*\(|unpack|\\x[0-9a-f]{2}"
    r"|\\[0-7]{3}|\\u[0-9a-f]{4}|\bchr\s*\(|\bord\s*\(|marshal|pickle|loadstring|\bload\s*\(",
    re.IGNORECASE | re.ASCII,
)
# Interpreters whose inline program is a general-purpose language (sed/find/xargs/make
# hits are about running code at all, which strict inline eval covers).
# awk's system() is a danger-profile row of its own (analysis/_danger.py).
_NOT_LANGUAGES = frozenset(
    {"find", "xargs", "make", "gmake", "sed", "gsed", "awk", "gawk", "mawk", "nawk"}
)
ENCODED_INLINE_EVAL = "encoded-inline-eval"
_ENCODED_DESCRIPTION = "Inline interpreter program that decodes, evaluates or runs commands"


def detect_encoded_inline_eval(argvs: Iterable[Sequence[str]]) -> ObfuscationResult:
    """
    An inline program that decodes, evaluates or runs commands, in any of *argvs*.

    OpenClaw's ``python-exec-encoded`` regex sees only ``python``/``python2``/``python3``,
    ``perl`` and ``ruby`` followed by exactly ``-e``/``-c``; this sees every inline-eval form
    the detector knows (``python3.11 -Ic``, ``node -pe``, ``php -r``, ``perl -le``, ``lua
    -e``...), reading only the words after the interpreter.
    """
    for argv in argvs:
        hit = detect_inline_eval(argv)
        if hit is None or hit.normalized_executable in _NOT_LANGUAGES:
            continue
        code = " ".join(argv[1:])
        if _ENCODED_MARKERS.search(unicodedata.normalize("NFKC", code)):
            return ObfuscationResult(
                detected=True,
                reasons=(_ENCODED_DESCRIPTION,),
                matched_patterns=(ENCODED_INLINE_EVAL,),
            )
    return _NOTHING
