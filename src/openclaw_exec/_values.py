"""
Fast construction of frozen attrs value classes on hot paths.

The generated ``__init__`` of a frozen, slotted attrs class sets every field through a
bound ``object.__setattr__`` and runs the validators: right for values built from user
input, measurable on the analysis hot path, which builds several result values per
command from parts it has already checked. :func:`positional_maker` returns a function
that builds the same instance (equal, same class, same slots) from positional field
values through the slot descriptors, without running validators.

Use it only for values the core assembles itself from already-validated parts, never
for anything built from caller input.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import attrs
from attrs import AttrsInstance

__all__ = ["positional_maker"]

_T = TypeVar("_T", bound=AttrsInstance)


def positional_maker(cls: type[_T]) -> Callable[..., _T]:
    """
    A constructor for *cls* taking every field positionally, in declaration order.

    Args:
        cls: A slotted attrs class without converters or ``__attrs_post_init__``
            (both would make the result differ from the class's own constructor).

    Returns:
        ``make(field1, field2, ...)`` returning an instance equal to
        ``cls(field1, field2, ...)``; validators are not run.

    Raises:
        TypeError: *cls* is not such a class.
    """
    fields = attrs.fields(cls)  # raises NotAnAttrsClassError (a ValueError) for others
    if "__slots__" not in cls.__dict__ or hasattr(cls, "__attrs_post_init__"):
        msg = f"{cls.__qualname__} must be a slotted attrs class without __attrs_post_init__"
        raise TypeError(msg)
    if any(f.converter is not None for f in fields):
        msg = f"{cls.__qualname__} has converters; build it with its own constructor"
        raise TypeError(msg)
    names = [f.name for f in fields]
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    for name in names:
        namespace[f"_set_{name}"] = cls.__dict__[name].__set__
    params = ", ".join(f"v_{name}" for name in names)
    body = "".join(f"    _set_{name}(obj, v_{name})\n" for name in names)
    source = f"def make({params}):\n    obj = _new(_cls)\n{body}    return obj\n"
    exec(source, namespace)  # noqa: S102 - the source is built from attrs field names only
    maker: Callable[..., _T] = namespace["make"]
    maker.__qualname__ = f"positional_maker.<{cls.__qualname__}>"
    return maker
