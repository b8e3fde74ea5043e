"""
Every code example in README.md and docs/ runs, and prints what the page says.

Conventions (docs/index.md repeats them for writers):

* A ```` ```python ```` block is a complete program; it runs in a fresh namespace (cwd and
  ``OPENCLAW_STATE_DIR`` in a temporary folder). When the prose right after it is
  ``It prints:`` followed by a ```` ```text ```` block, stdout must equal that block.
* A ```` ```console ```` block holds ``$ openclaw-exec ...`` lines, each followed by its
  output; the command runs in-process from the repository root and its stdout must match
  (a line ``...`` matches any number of lines). A command shown without output must
  still run and exit 0 or 1.
* A python block right after the line ``<!-- docs-test: compile-only (why) -->`` needs
  something the test suite does not start (a real OpenClaw gateway, a Redis server): it is
  compiled (top-level ``await`` allowed), not run. Use it sparingly, and say why.
* ```` ```bash ```` blocks are install or CI commands (the README quick start); they are
  not run here, but the quick start's shape is checked.
"""

from __future__ import annotations

import ast
import contextlib
import io
import os
import re
import shlex
from pathlib import Path

import pytest

from openclaw_exec.cli import main

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)


def _blocks(page: Path) -> list[tuple[str, str, int, str]]:
    """(language, body, line, prose after it up to the next block) for every fenced block."""
    text = page.read_text(encoding="utf-8")
    found = list(FENCE.finditer(text))
    out = []
    for index, match in enumerate(found):
        end = found[index + 1].start() if index + 1 < len(found) else len(text)
        after = text[match.end() : end]
        line = text.count("\n", 0, match.start()) + 1
        out.append((match.group(1), match.group(2), line, after))
    return out


COMPILE_ONLY = re.compile(r"<!-- docs-test: compile-only \(.+\) -->\n*$")


def _compile_only(page: Path, line: int) -> bool:
    before = "\n".join(page.read_text(encoding="utf-8").split("\n")[: line - 1])
    return COMPILE_ONLY.search(before) is not None


def _python_examples() -> list[tuple[str, str, str | None]]:
    cases = []
    for page in PAGES:
        blocks = _blocks(page)
        for index, (lang, body, line, after) in enumerate(blocks):
            if lang != "python" or _compile_only(page, line):
                continue
            printed = None
            follows = blocks[index + 1] if index + 1 < len(blocks) else None
            if after.strip() == "It prints:" and follows is not None and follows[0] == "text":
                printed = follows[1]
            cases.append((f"{page.relative_to(ROOT)}:{line}", body, printed))
    return cases


def _console_examples() -> list[tuple[str, list[str], str]]:
    cases = []
    for page in PAGES:
        for lang, body, line, _ in _blocks(page):
            if lang != "console":
                continue
            chunks = re.split(r"^\$ ", body, flags=re.MULTILINE)
            for chunk in chunks[1:]:
                command, _, output = chunk.partition("\n")
                argv = shlex.split(command)
                assert argv[0] == "openclaw-exec", f"{page}:{line}: only openclaw-exec commands"
                cases.append((f"{page.relative_to(ROOT)}:{line}", argv[1:], output))
    return cases


def _compile_only_examples() -> list[tuple[str, str]]:
    return [
        (f"{page.relative_to(ROOT)}:{line}", body)
        for page in PAGES
        for lang, body, line, _ in _blocks(page)
        if lang == "python" and _compile_only(page, line)
    ]


#: Pages whose every runnable example must print something (their prose shows the output).
MUST_PRINT = {"docs/pairing.md"}
#: The fewest runnable python examples a page may have (so a page cannot silently lose them).
MIN_EXAMPLES = {"docs/pairing.md": 3, "docs/policy.md": 3, "docs/getting-started.md": 2}

PYTHON = _python_examples()
COMPILE = _compile_only_examples()
CONSOLE = _console_examples()


@pytest.fixture(autouse=True)
def _sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENCLAW_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize(("where", "source", "printed"), PYTHON, ids=[c[0] for c in PYTHON])
def test_python_example(where: str, source: str, printed: str | None) -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(source, where, "exec"), {"__name__": "__main__"})
    if printed is not None:
        assert out.getvalue() == printed, where
    if where.rsplit(":", 1)[0] in MUST_PRINT:
        assert out.getvalue(), f"{where} printed nothing"


@pytest.mark.parametrize(("where", "source"), COMPILE, ids=[c[0] for c in COMPILE])
def test_compile_only_example(where: str, source: str) -> None:
    compile(source, where, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


def _matches(expected: list[str], actual: list[str]) -> bool:
    if not expected:
        return not actual
    head, *rest = expected
    if head == "...":
        return any(_matches(rest, actual[i:]) for i in range(len(actual) + 1))
    return bool(actual) and actual[0].rstrip() == head.rstrip() and _matches(rest, actual[1:])


@pytest.mark.parametrize(("where", "argv", "output"), CONSOLE, ids=[c[0] for c in CONSOLE])
def test_console_example(
    where: str, argv: list[str], output: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    assert code in {0, 1}, f"{where}: exit {code}: {err.getvalue()}"
    if not output.strip():
        return  # shown without output: running it is the check
    expected = output.rstrip("\n").split("\n")
    actual = out.getvalue().rstrip("\n").split("\n") if out.getvalue().strip() else []
    assert _matches(expected, actual), f"{where}:\n{out.getvalue()}"


@pytest.mark.parametrize(("page", "least"), sorted(MIN_EXAMPLES.items()))
def test_page_keeps_its_examples(page: str, least: int) -> None:
    assert sum(1 for where, _, _ in PYTHON if where.rsplit(":", 1)[0] == page) >= least


def test_every_page_is_covered() -> None:
    # The runner sees every page, and the pages do have examples.
    assert len(PAGES) >= 10
    assert len(PYTHON) >= 15
    assert len(CONSOLE) >= 3


def test_readme_quick_start_is_two_commands() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = [body.strip() for lang, body in FENCE.findall(section) if lang == "bash"]
    assert len(commands) == 2
    assert commands[0] == "python3 -m pip install -e . && openclaw-exec demo"
    assert commands[1].endswith("python3 -m pytest")


def test_no_page_uses_an_unknown_fence() -> None:
    allowed = {"python", "console", "bash", "text", "json", "toml", "yaml", "mermaid", ""}
    for page in PAGES:
        for lang, _, line, _ in _blocks(page):
            assert lang in allowed, f"{page}:{line}: fence {lang!r}"
    assert os.sep  # pages are read from the working tree
