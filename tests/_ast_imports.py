"""
Which modules a source file imports, read from its AST (for the purity tests).

Shared by the pairing and protocol purity tests. ``test_architecture.py`` keeps its own
reader on purpose: it skips relative imports, this one does not.
"""

from __future__ import annotations

import ast
from pathlib import Path


def imported_modules(path: Path) -> set[str]:
    """Each ``import x`` name and each ``from x import ...`` module in *path*."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found
