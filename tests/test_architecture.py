"""
The architecture, enforced: the pure core does no I/O, reads no clock and never imports
the runtime, the adapters or the CLI; the public API is one sorted ``__all__``.
"""

from __future__ import annotations

import ast
import importlib
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

#: The one sanctioned touch of the real filesystem in the core: the default executable
#: resolver (an injectable implementation of the resolver interface).
OS_ALLOWED = {"analysis/_resolver.py"}


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
        if name in {"os", "pathlib", "shutil", "tempfile"} and relative not in OS_ALLOWED:
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


def _public_modules() -> list[str]:
    names = ["openclaw_exec", *(f"openclaw_exec.{sub}" for sub in CORE)]
    names += ["openclaw_exec.exceptions", "openclaw_exec.abc", "openclaw_exec.testing"]
    return names


@pytest.mark.parametrize("name", _public_modules())
def test_all_is_sorted_unique_and_real(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert exported == sorted(exported, key=isort_key), f"{name}.__all__ is not sorted"
    assert len(set(exported)) == len(exported), f"{name}.__all__ has duplicates"
    missing = [n for n in exported if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ names missing attributes: {missing}"


def test_top_level_exports_every_core_public_name() -> None:
    top = set(openclaw_exec.__all__)
    for sub in (*CORE, "exceptions"):
        module = importlib.import_module(f"openclaw_exec.{sub}")
        missing = sorted(set(module.__all__) - top)
        assert not missing, f"openclaw_exec does not re-export {sub}: {missing}"


def test_top_level_all_is_a_tuple() -> None:
    assert isinstance(openclaw_exec.__all__, tuple)


def test_public_objects_are_documented() -> None:
    undocumented = [
        name
        for name in openclaw_exec.__all__
        if callable(obj := getattr(openclaw_exec, name))
        and not (getattr(obj, "__doc__", None) or "").strip()
    ]
    assert not undocumented, undocumented
