"""
The resolution cache's inlined stamp check against ``OsResolver.stamp_changed`` (differential).

A hit of the validating cache is checked with ``_stamps_changed``, which inlines
``OsResolver.stamp_changed`` for the real resolver. Whatever happens to the paths a lookup
consulted (created, removed, replaced, chmod-ed, turned into a folder or a dangling
symlink), it must answer exactly as asking the resolver path by path.
"""

from __future__ import annotations

import os
import tempfile  # one fresh folder per example
from collections.abc import Hashable
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from openclaw_exec.analysis import OsResolver
from openclaw_exec.analysis._resolver import _stamps_changed

_NAMES = ["a", "b", "c", "bad\x00name"]
_ACTIONS = st.sampled_from(["create", "remove", "rewrite", "chmod", "folder", "dangling", "none"])


class _Counting(OsResolver):
    """An OsResolver subclass: the check must then go through its methods."""

    calls = 0

    def stamp_changed(self, path: str, previous: Hashable) -> bool:
        _Counting.calls += 1
        return super().stamp_changed(path, previous)


def _apply(folder: Path, name: str, action: str, n: int) -> None:
    if "\x00" in name:
        return
    path = folder / name
    if action in {"remove", "folder", "dangling"} or (action == "create" and path.exists()):
        if path.is_dir() and not path.is_symlink():
            path.rmdir()
        elif path.exists() or path.is_symlink():
            path.unlink()
    if action == "create" or (action == "rewrite" and path.is_file()):
        path.write_bytes(b"x" * (n % 3))
        path.chmod(0o755)
    elif action == "chmod" and path.is_file():
        path.chmod(0o644 if n % 2 else 0o755)
    elif action == "folder":
        path.mkdir()
    elif action == "dangling":
        path.symlink_to(folder / "nowhere")


@given(
    st.lists(st.tuples(st.sampled_from(_NAMES), _ACTIONS), max_size=4),
    st.lists(st.tuples(st.sampled_from(_NAMES), _ACTIONS), max_size=4),
)
def test_the_inlined_check_answers_as_the_resolver(
    before: list[tuple[str, str]], after: list[tuple[str, str]]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for n, (name, action) in enumerate(before):
            _apply(folder, name, action, n)
        resolver = OsResolver()
        paths = [os.path.join(tmp, name) for name in _NAMES]  # noqa: PTH118
        stamps = tuple((p, resolver.stamp(p)) for p in paths)
        for n, (name, action) in enumerate(after):
            _apply(folder, name, action, n + 1)
        expected = any(resolver.stamp_changed(p, s) for p, s in stamps)
        assert _stamps_changed(resolver, stamps) is expected
        for i in range(len(stamps)):  # every prefix: the first change decides
            part = stamps[: i + 1]
            assert _stamps_changed(resolver, part) is any(
                resolver.stamp_changed(p, s) for p, s in part
            )


def test_a_subclass_is_asked_through_its_methods(tmp_path: Path) -> None:
    resolver = _Counting()
    stamps = ((str(tmp_path / "x"), None), (str(tmp_path), resolver.stamp(str(tmp_path))))
    _Counting.calls = 0
    assert _stamps_changed(resolver, stamps) is False
    assert _Counting.calls == 2
