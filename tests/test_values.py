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

    @attrs.frozen(slots=False)
    class Dicty:
        x: int

    class NotAttrs:
        pass

    for cls in (Converted, PostInit, Dicty):
        with pytest.raises(TypeError, match=cls.__name__):
            positional_maker(cls)
    with pytest.raises(attrs.exceptions.NotAnAttrsClassError):
        positional_maker(NotAttrs)  # type: ignore[type-var]
