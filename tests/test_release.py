"""Release hygiene: one version, a Keep-a-Changelog changelog, a licence, the scripts CI calls."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import openclaw_exec

ROOT = Path(__file__).resolve().parents[1]


def test_the_version_lives_in_one_place() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"]
    assert project["project"]["dynamic"] == ["version"]
    assert project["tool"]["hatch"]["version"]["path"] == "src/openclaw_exec/_version.py"
    source = (ROOT / "src/openclaw_exec/_version.py").read_text(encoding="utf-8")
    (found,) = re.findall(r'^__version__ = "([^"]+)"$', source, flags=re.MULTILINE)
    assert found == openclaw_exec.__version__
    # PEP 440, and no second copy of the version string anywhere in the package.
    assert re.fullmatch(r"\d+\.\d+\.\d+((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?", found)
    copies = [
        p
        for p in (ROOT / "src").rglob("*.py")
        if p.name != "_version.py" and f'"{found}"' in p.read_text(encoding="utf-8")
    ]
    assert not copies


def test_changelog_is_keep_a_changelog() -> None:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert text.startswith("# Changelog\n")
    assert "keepachangelog.com" in text
    headings = re.findall(r"^## \[([^\]]+)\]", text, flags=re.MULTILINE)
    assert headings[0] == "Unreleased"
    sections = set(re.findall(r"^### (\w+)", text, flags=re.MULTILINE))
    assert sections <= {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}


def test_licence_is_mit_and_declared() -> None:
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "MIT"


def test_release_and_docs_tooling_is_declared() -> None:
    groups = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))[
        "dependency-groups"
    ]
    assert any(dep.startswith("mkdocs-material") for dep in groups["docs"])
    assert any(dep.startswith("mkdocstrings[python]") for dep in groups["docs"])
    assert any(dep.startswith("build") for dep in groups["release"])
    script = (ROOT / "scripts/check-dist.sh").read_text(encoding="utf-8")
    for step in ("-m build", "-m venv", 'openclaw-exec" --version', 'openclaw-exec" demo'):
        assert step in script
    mkdocs = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert "name: material" in mkdocs
    assert "mkdocstrings" in mkdocs
