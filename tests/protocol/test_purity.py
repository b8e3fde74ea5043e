"""The protocol core does no I/O: its modules import nothing that could (checked on the AST)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import openclaw_exec.protocol

PACKAGE = Path(openclaw_exec.protocol.__file__).parent
ALLOWED_ROOTS = {
    "__future__",
    "attrs",
    "cattrs",
    "collections",
    "enum",
    "hashlib",
    "heapq",
    "json",
    "re",
    "types",
    "typing",
    "unicodedata",
    "uuid",  # only as the default, injectable id factory of ApprovalGateway
}
ALLOWED_OWN = ("openclaw_exec.exceptions", "openclaw_exec.protocol")


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_protocol_module_imports_only_pure_modules(path: Path) -> None:
    for name in imports_of(path):
        if name.startswith("openclaw_exec"):
            assert name.startswith(ALLOWED_OWN), f"{path.name} imports {name}"
        else:
            assert name.split(".")[0] in ALLOWED_ROOTS, f"{path.name} imports {name}"
