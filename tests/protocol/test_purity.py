"""The protocol core does no I/O: its modules import nothing that could (checked on the AST)."""

from __future__ import annotations

from pathlib import Path

import pytest

import openclaw_exec.protocol
from _ast_imports import imported_modules

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


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_protocol_module_imports_only_pure_modules(path: Path) -> None:
    for name in imported_modules(path):
        if name.startswith("openclaw_exec"):
            assert name.startswith(ALLOWED_OWN), f"{path.name} imports {name}"
        else:
            assert name.split(".")[0] in ALLOWED_ROOTS, f"{path.name} imports {name}"
