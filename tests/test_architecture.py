"""
The architecture, enforced: the pure core does no I/O, reads no clock and never imports
the runtime, the adapters or the CLI; the first page is small and every public namespace
has one sorted ``__all__``.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import openclaw_exec

PACKAGE = Path(openclaw_exec.__file__).parent
CORE = ("policy", "analysis", "protocol", "pairing")

#: Imports no core module may make: I/O, clocks, concurrency, and the outer layers.
FORBIDDEN = {
    "anyio",
    "asyncio",
    "trio",
    "sniffio",
    "socket",
    "ssl",
    "subprocess",
    "time",
    "datetime",
    "select",
    "selectors",
    "fcntl",
    "urllib",
    "http",
    "websockets",
    "redis",
    "openclaw_exec.guard",
    "openclaw_exec.adapters",
    "openclaw_exec.cli",
    "openclaw_exec.audit",
    "openclaw_exec.integrations",
    "openclaw_exec.testing",
    "openclaw_exec.sandbox",
}

#: The sanctioned touches of the real filesystem in the core: the default executable
#: resolver (an injectable implementation of the resolver interface) and the one system
#: call it and the cwd check share (openat2 through ctypes).
OS_ALLOWED = {"analysis/_resolver.py", "analysis/_openat2.py"}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _core_modules() -> list[Path]:
    return sorted(p for sub in CORE for p in (PACKAGE / sub).rglob("*.py"))


@pytest.mark.parametrize("module", _core_modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_core_module_imports_nothing_impure(module: Path) -> None:
    relative = str(module.relative_to(PACKAGE))
    bad = set()
    for name in _imports(module):
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN):
            bad.add(name)
        if name in {"os", "pathlib", "shutil", "tempfile", "ctypes"} and relative not in OS_ALLOWED:
            bad.add(name)
    assert not bad, f"{relative} imports {sorted(bad)}"


def test_core_packages_import_without_the_runtime() -> None:
    # In a fresh interpreter, importing the core subpackages by themselves must not load
    # anyio or any adapter (the package __init__ re-exports the runtime, so bypass it).
    code = (
        "import sys, importlib.util, types\n"
        "spec = importlib.util.find_spec('openclaw_exec')\n"
        "pkg = types.ModuleType('openclaw_exec')\n"
        "pkg.__path__ = list(spec.submodule_search_locations)\n"
        "sys.modules['openclaw_exec'] = pkg\n"
        f"for name in {CORE!r}: importlib.import_module('openclaw_exec.' + name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'anyio','asyncio','trio','socket','websockets','redis'} or "
        "m.startswith(('openclaw_exec.guard','openclaw_exec.adapters','openclaw_exec.cli')))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "", f"the core loaded {out}"


def isort_key(name: str) -> tuple[int, str]:
    """The order ruff's RUF022 keeps ``__all__`` in: CONSTANTS, Classes, functions."""
    if name.isupper() or (name.upper() == name and "_" in name):
        return (0, name)
    if name[:1].isupper():
        return (1, name)
    return (2, name)


#: Every public namespace, in the order a user meets them (the API reference follows it).
PUBLIC_NAMESPACES = (
    "openclaw_exec",
    "openclaw_exec.policy",
    "openclaw_exec.analysis",
    "openclaw_exec.guard",
    "openclaw_exec.approvers",
    "openclaw_exec.integrations",
    "openclaw_exec.exceptions",
    "openclaw_exec.abc",
    "openclaw_exec.adapters.memory",
    "openclaw_exec.adapters.filestore",
    "openclaw_exec.adapters.unix_socket",
    "openclaw_exec.adapters.websocket",
    "openclaw_exec.adapters.web",
    "openclaw_exec.adapters.terminal",
    "openclaw_exec.adapters.webhook",
    "openclaw_exec.adapters.slack",
    "openclaw_exec.adapters.redis",
    "openclaw_exec.protocol",
    "openclaw_exec.pairing",
    "openclaw_exec.audit",
    "openclaw_exec.sandbox",
    "openclaw_exec.testing",
    "openclaw_exec.cli",
)

#: The first page stays small enough to hold in one's head (h11 ~20, attrs ~40).
MAX_TOP_LEVEL_NAMES = 40


def _public_packages() -> list[str]:
    """Every package under openclaw_exec whose name has no leading underscore."""
    found = []
    for init in sorted(PACKAGE.rglob("__init__.py")):
        parts = init.parent.relative_to(PACKAGE.parent).parts
        if not any(part.startswith("_") for part in parts):
            found.append(".".join(parts))
    return found


def test_every_public_package_is_a_listed_namespace() -> None:
    # A new public subpackage must be placed in the reader's order (and the API pages).
    unlisted = [
        name
        for name in _public_packages()
        if name not in PUBLIC_NAMESPACES and name != "openclaw_exec.adapters"
    ]
    assert not unlisted, f"add these to PUBLIC_NAMESPACES and docs/api/: {unlisted}"


@pytest.mark.parametrize("name", PUBLIC_NAMESPACES)
def test_all_is_sorted_unique_and_real(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert exported == sorted(exported, key=isort_key), f"{name}.__all__ is not sorted"
    assert len(set(exported)) == len(exported), f"{name}.__all__ has duplicates"
    missing = [n for n in exported if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ names missing attributes: {missing}"


def test_top_level_is_small() -> None:
    assert len(openclaw_exec.__all__) <= MAX_TOP_LEVEL_NAMES, sorted(openclaw_exec.__all__)


def test_top_level_names_come_from_their_namespace() -> None:
    # The first page re-exports; each name also has one home one level down.
    homes = {
        name: namespace
        for namespace in PUBLIC_NAMESPACES[1:]
        for name in importlib.import_module(namespace).__all__
    }
    orphans = [n for n in openclaw_exec.__all__ if n != "__version__" and n not in homes]
    assert not orphans, f"top-level names with no public home: {orphans}"
    for name in openclaw_exec.__all__:
        if name in homes:
            home = importlib.import_module(homes[name])
            assert getattr(openclaw_exec, name) is getattr(home, name), name


def test_core_public_names_are_reachable_one_level_down() -> None:
    for sub in (*CORE, "exceptions"):
        module = importlib.import_module(f"openclaw_exec.{sub}")
        assert module.__all__, f"openclaw_exec.{sub} exports nothing"


_MOVED = sorted(openclaw_exec._MOVED.items())


@pytest.mark.parametrize(("name", "home"), _MOVED, ids=[n for n, _ in _MOVED])
def test_moved_names_still_resolve_with_a_warning(name: str, home: str) -> None:
    module = importlib.import_module(home)
    assert name in module.__all__, f"{home}.__all__ lacks {name}"
    with pytest.warns(DeprecationWarning, match=rf"openclaw_exec\.{name} is deprecated.*{home}"):
        value = getattr(openclaw_exec, name)
    assert value is getattr(module, name)
    assert name not in openclaw_exec.__all__
    assert name not in dir(openclaw_exec)


def test_from_import_of_a_moved_name_warns() -> None:
    with pytest.warns(DeprecationWarning, match="openclaw_exec.analysis"):
        from openclaw_exec import evaluation_to_dict  # noqa: PLC0415

    assert callable(evaluation_to_dict)


def test_unknown_top_level_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        _ = openclaw_exec.no_such_name


def test_top_level_all_is_a_tuple() -> None:
    assert isinstance(openclaw_exec.__all__, tuple)


@pytest.mark.parametrize("namespace", PUBLIC_NAMESPACES)
def test_public_objects_are_documented(namespace: str) -> None:
    module = importlib.import_module(namespace)
    assert (module.__doc__ or "").strip(), f"{namespace} has no module docstring"
    undocumented = [
        name
        for name in module.__all__
        # Classes and functions (a typing alias such as Callable[...] carries no docstring).
        if (inspect.isclass(obj := getattr(module, name)) or inspect.isroutine(obj))
        and not (getattr(obj, "__doc__", None) or "").strip()
    ]
    assert not undocumented, f"{namespace}: {undocumented}"


def _api_page(namespace: str) -> Path:
    docs = PACKAGE.parents[1] / "docs" / "api"
    if namespace == "openclaw_exec":
        return docs / "index.md"
    return docs / (namespace.removeprefix("openclaw_exec.").replace(".", "-") + ".md")


@pytest.mark.skipif(not (PACKAGE.parents[1] / "docs").is_dir(), reason="docs not shipped")
def test_api_reference_has_one_page_per_namespace_in_reading_order() -> None:
    mkdocs = (PACKAGE.parents[1] / "mkdocs.yml").read_text(encoding="utf-8")
    positions = []
    for namespace in PUBLIC_NAMESPACES:
        page = _api_page(namespace)
        assert page.is_file(), f"no API page for {namespace}: {page}"
        if namespace != "openclaw_exec":
            assert f"::: {namespace}\n" in page.read_text(encoding="utf-8"), page
        relative = f"api/{page.name}"
        assert relative in mkdocs, f"{relative} is not in mkdocs.yml's nav"
        positions.append(mkdocs.index(relative))
    assert positions == sorted(positions), "the nav does not follow PUBLIC_NAMESPACES' order"
    index = _api_page("openclaw_exec").read_text(encoding="utf-8")
    missing = [n for n in openclaw_exec.__all__ if n != "__version__" and f"`{n}`" not in index]
    assert not missing, f"docs/api/index.md does not list {missing}"


#: Layers drawn in docs/concepts.md: a top-level module or subpackage each.
_LAYERS = (
    "cli",
    "integrations",
    "guard",
    "audit",
    "sandbox",
    "adapters",
    "testing",
    "abc",
    *CORE,
)


def _layer_imports() -> set[tuple[str, str]]:
    """(importer, imported) for every import between two drawn layers, from the source."""
    edges: set[tuple[str, str]] = set()
    for path in PACKAGE.rglob("*.py"):
        source = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        if source not in _LAYERS:
            continue
        for name in _imports(path):
            parts = name.split(".")
            if parts[0] == "openclaw_exec" and len(parts) > 1:
                target = parts[1]
                if target in _LAYERS and target != source:
                    edges.add((source, target))
    return edges


def _drawn_imports() -> set[tuple[str, str]]:
    text = (PACKAGE.parents[1] / "docs" / "concepts.md").read_text(encoding="utf-8")
    block = text.split("%% architecture", 1)[1].split("```", 1)[0]
    edges = set()
    for line in block.splitlines():
        left, arrow, right = line.strip().partition(" --> ")
        if arrow:
            edges.add((left, right))
    return edges


@pytest.mark.skipif(not (PACKAGE.parents[1] / "docs").is_dir(), reason="docs not shipped")
def test_architecture_diagram_matches_the_imports() -> None:
    drawn, actual = _drawn_imports(), _layer_imports()
    assert drawn, "no arrows found after '%% architecture' in docs/concepts.md"
    assert not actual - drawn, f"imports missing from the diagram: {sorted(actual - drawn)}"
    assert not drawn - actual, f"arrows with no import behind them: {sorted(drawn - actual)}"
    upward = [(a, b) for a, b in drawn if a in CORE and b not in CORE]
    assert not upward, f"the diagram shows the core importing an outer layer: {upward}"
