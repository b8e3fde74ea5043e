"""
Answers kept per command word, for words no longer than a program name ever is.

Several analysis steps are pure functions of one word and static tables (the normalised
executable name, whether a first word names anything the analyser treats specially), so
their answers are cached. An agent may send words of up to 64 KiB: a cache of 4,096 such
words would pin 256 MiB, so only words of up to :data:`MAX_CACHED_WORD` characters are
kept, and longer ones are answered by the same function uncached.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["MAX_CACHED_WORD", "WordCache"]

MAX_CACHED_WORD = 256
"""The longest word kept (no program name is longer)."""

_T = TypeVar("_T")


class WordCache(Generic[_T]):
    """*function* of one word, cached for words of up to :data:`MAX_CACHED_WORD` characters."""

    __slots__ = ("_cached", "_function")

    def __init__(self, function: Callable[[str], _T], maxsize: int = 4096) -> None:
        self._function = function
        self._cached = functools.lru_cache(maxsize=maxsize)(function)

    def __call__(self, word: str) -> _T:
        if len(word) <= MAX_CACHED_WORD:
            return self._cached(word)
        return self._function(word)

    def cache_info(self) -> functools._CacheInfo:
        """The cache's hits, misses and size (``functools.lru_cache``'s)."""
        return self._cached.cache_info()
