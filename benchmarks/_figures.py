"""
One line per headline figure, so ``run_all.py`` can print every figure with its ratio.

A benchmark calls :func:`figure` for each figure issue #16 asks for; the line it prints starts
with ``@figure`` and carries JSON. ``run_all.py`` collects those lines from every script and
prints them together at the end, each with its ratio to its reference measured in the same run.
"""

from __future__ import annotations

import json

__all__ = ["figure"]


def figure(
    name: str,
    value: float,
    unit: str,
    *,
    reference: str | None = None,
    reference_value: float | None = None,
    target: str = "",
) -> None:
    """
    Print one figure: *value* (in *unit*) beside *reference_value* of *reference*.

    The ratio run_all shows is ``value / reference_value`` (same unit, same run). *target* is
    the issue's requirement in words (shown beside the figure, never checked here).
    """
    record = {
        "name": name,
        "value": value,
        "unit": unit,
        "reference": reference,
        "reference_value": reference_value,
        "target": target,
    }
    print("@figure " + json.dumps(record), flush=True)
