"""The hot-path constructor builds exactly what the attrs constructor builds."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from openclaw_exec._values import positional_maker
from openclaw_exec.analysis import Evaluation, ResolvedExecutable, SegmentEvaluation
from openclaw_exec.analysis._wrappers import WrapperPlan

HOT_CLASSES = (Evaluation, ResolvedExecutable, SegmentEvaluation, WrapperPlan)

values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=8),
    st.tuples(st.text(max_size=4), st.integers()),
)


@pytest.mark.parametrize("cls", HOT_CLASSES, ids=lambda c: c.__name__)
@given(data=st.data())
def test_maker_equals_the_class_constructor(cls: type[Any], data: st.DataObject) -> None:
    fields = attrs.fields(cls)
    args = [data.draw(values, label=f.name) for f in fields]
    made = positional_maker(cls)(*args)
    built = cls(*args)
    assert type(made) is cls
    assert made == built
    assert repr(made) == repr(built)
    assert attrs.astuple(made, recurse=False) == tuple(args)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        made.__setattr__(fields[0].name, "changed")


@given(args=st.lists(values, min_size=1, max_size=6))
def test_maker_on_generated_classes(args: list[object]) -> None:
    cls = attrs.make_class(
        "Generated", [f"f{i}" for i in range(len(args))], frozen=True, slots=True
    )
    assert positional_maker(cls)(*args) == cls(*args)


def test_maker_needs_all_fields() -> None:
    with pytest.raises(TypeError):
        positional_maker(WrapperPlan)((), ())


def test_maker_refuses_what_it_would_build_differently() -> None:
    @attrs.frozen
    class Converted:
        x: int = attrs.field(converter=int)

    @attrs.frozen
    class PostInit:
        x: int

        def __attrs_post_init__(self) -> None:
            pass

    @attrs.frozen
    class NeedsSelf:
        x: int
        y: int = attrs.field(default=attrs.Factory(lambda self: self.x, takes_self=True))

    class NotAttrs:
        pass

    for cls in (Converted, PostInit):
        with pytest.raises(TypeError, match=cls.__name__):
            positional_maker(cls)
    with pytest.raises(TypeError, match="takes_self"):
        positional_maker(NeedsSelf, ["x"])
    with pytest.raises(TypeError, match="no field"):
        positional_maker(NeedsSelf, ["x", "nope"])
    with pytest.raises(TypeError, match="no default"):
        positional_maker(NeedsSelf, ["y"])
    with pytest.raises(attrs.exceptions.NotAnAttrsClassError):
        positional_maker(NotAttrs)  # type: ignore[type-var]
    # Converted values are the caller's promise: the converter is not run.
    assert positional_maker(Converted, converted=True)(3) == Converted(3)


@attrs.frozen(slots=False)
class _DictClass:
    a: int
    b: str = "b"
    c: tuple[int, ...] = ()
    d: dict[str, int] = attrs.Factory(dict)


@given(
    a=st.integers(),
    b=st.text(max_size=4),
    c=st.tuples(st.integers()),
    d=st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
)
def test_maker_on_a_dict_class_with_defaults_and_parameter_subsets(
    a: int, b: str, c: tuple[int, ...], d: dict[str, int]
) -> None:
    full = positional_maker(_DictClass)
    assert full(a, b, c, d) == _DictClass(a, b, c, d)
    assert full(a) == _DictClass(a)
    assert full(a, b) == _DictClass(a, b)
    # A factory default is called per instance, never shared.
    first, second = full(a), full(a)
    assert first.d == {}
    assert first.d is not second.d
    subset = positional_maker(_DictClass, ["c", "a"])
    assert subset(c, a) == _DictClass(a, c=c)
    assert repr(subset(c, a)) == repr(_DictClass(a, c=c))
