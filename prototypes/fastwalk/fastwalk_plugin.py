"""
A pytest plugin that runs a suite with the compiled walker in front of ``parse_raw``.

    PYTHONPATH=src:prototypes/fastwalk python3 -m pytest -p fastwalk_plugin tests/analysis
"""

from __future__ import annotations

import fastpath


def pytest_configure() -> None:
    """Install the fast path before any test runs."""
    fastpath.install()
