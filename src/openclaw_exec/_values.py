"""
Fast construction of frozen attrs value classes on hot paths.

The generated ``__init__`` of a frozen attrs class sets every field through
``object.__setattr__`` and runs the validators and converters: right for values built
from user input, measurable on the analysis and pairing hot paths, which build several
result values per call from parts they have already checked. :func:`positional_maker`
returns a function that builds the same instance (equal, same class, same repr) from
field values directly: through the slot descriptors of a slotted class, or as one
``__dict__`` of a dict class.

Use it only for values the core assembles itself from already-validated (and, for
classes with converters, already-converted) parts, never for anything built from
caller input. Tests pin every maker in use to its class's own constructor.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import attrs
from attrs import AttrsInstance

__all__ = ["positional_maker"]

_T = TypeVar("_T", bound=AttrsInstance)
_MISSING: Any = object()


def positional_maker(
    cls: type[_T], params: Iterable[str] | None = None, *, converted: bool = False
) -> Callable[..., _T]:
    """
    A constructor for *cls* taking field values positionally.

    Args:
        cls: An attrs class without ``__attrs_post_init__`` (the result would differ).
        params: The fields the maker takes, in this order (default: every field, in
            declaration order). Fields left out take their defaults; trailing
            parameters whose fields have defaults may be omitted in a call.
        converted: The caller passes values already in converted form; required when
            *cls* has converters (they are not run).

    Returns:
        ``make(value, ...)`` returning an instance equal to the one
        ``cls(field=value, ...)`` builds from the same values; validators are not run.

    Raises:
        TypeError: *cls* has ``__attrs_post_init__``, unconverted converters, a field
            in *params* it does not have, or a field left out without a default.
    """
    fields = attrs.fields(cls)  # raises NotAnAttrsClassError (a ValueError) for others
    name = cls.__qualname__
    if hasattr(cls, "__attrs_post_init__"):
        msg = f"{name} has __attrs_post_init__; build it with its own constructor"
        raise TypeError(msg)
    if not converted and any(f.converter is not None for f in fields):
        msg = f"{name} has converters; pass converted=True with converted values"
        raise TypeError(msg)
    by_name = {f.name: f for f in fields}
    taken = [f.name for f in fields] if params is None else list(params)
    unknown = [p for p in taken if p not in by_name]
    if unknown:
        msg = f"{name} has no field(s) {', '.join(unknown)}"
        raise TypeError(msg)

    namespace: dict[str, Any] = {
        "_new": object.__new__,
        "_cls": cls,
        "_setattr": object.__setattr__,
        "_MISSING": _MISSING,
    }
    value_of: dict[str, str] = {}  # the expression that gives each field its value
    constants: dict[str, Any] = {}  # fields left out that take a plain (shared) default
    for field in fields:
        if field.name in taken:
            value_of[field.name] = f"v_{field.name}"
        elif field.default is attrs.NOTHING:
            msg = f"{name}.{field.name} has no default and is not among the parameters"
            raise TypeError(msg)
        else:
            value_of[field.name] = _default_expression(field, namespace, name)
            if not isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
                constants[field.name] = field.default

    # Trailing parameters whose fields have defaults get them in the signature.
    signature: list[str] = []
    prelude: list[str] = []
    optional = True
    for param in reversed(taken):
        field = by_name[param]
        optional = optional and field.default is not attrs.NOTHING
        if not optional:
            signature.append(f"v_{param}")
            continue
        default = _default_expression(field, namespace, name)
        if isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
            signature.append(f"v_{param}=_MISSING")
            prelude.append(f"    if v_{param} is _MISSING:\n        v_{param} = {default}\n")
        else:
            signature.append(f"v_{param}={default}")
    signature.reverse()

    if "__slots__" in cls.__dict__:
        for field in fields:
            namespace[f"_set_{field.name}"] = cls.__dict__[field.name].__set__
        body = "".join(f"    _set_{f.name}(obj, {value_of[f.name]})\n" for f in fields)
    else:
        # Copying a template of the constant defaults and storing the rest beats a dict
        # display of every field (dict.copy() is one memcpy).
        namespace["_template"] = {f.name: constants.get(f.name) for f in fields}
        stores = "".join(
            f"    values[{f.name!r}] = {value_of[f.name]}\n"
            for f in fields
            if f.name not in constants
        )
        body = f"    values = _template.copy()\n{stores}    _setattr(obj, '__dict__', values)\n"
    source = (
        f"def make({', '.join(signature)}):\n"
        f"{''.join(prelude)}    obj = _new(_cls)\n{body}    return obj\n"
    )
    exec(source, namespace)  # noqa: S102 - built from attrs field names only
    maker: Callable[..., _T] = namespace["make"]
    maker.__qualname__ = f"positional_maker.<{name}>"
    return maker


def _default_expression(field: attrs.Attribute[Any], namespace: dict[str, Any], name: str) -> str:
    """The expression that yields *field*'s default (a shared constant or a factory call)."""
    default: Any = field.default
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        if default.takes_self:
            msg = f"{name}.{field.name} has a takes_self factory; pass it as a parameter"
            raise TypeError(msg)
        namespace[f"_factory_{field.name}"] = default.factory
        return f"_factory_{field.name}()"
    namespace[f"_default_{field.name}"] = default
    return f"_default_{field.name}"
