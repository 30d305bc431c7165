"""known_member: what a caller may write for an enum in a request, checked before sending."""

from __future__ import annotations

import pytest

from asyncexch import InvalidRequest
from asyncexch._enums import OpenIntEnum, OpenStrEnum, known_member


class Direction(OpenStrEnum):
    BUY_LOW = "BuyLow"
    SELL_HIGH = "SellHigh"


class Mode(OpenIntEnum):
    CROSS = 1
    ISOLATED = 2


@pytest.mark.parametrize("value", [Direction.BUY_LOW, "BuyLow", "buy_low", "BUY_LOW"])
def test_a_member_its_value_or_its_name_in_any_case(value: object) -> None:
    assert known_member(Direction, "direction", value) is Direction.BUY_LOW


@pytest.mark.parametrize("value", [Mode.ISOLATED, 2, "2", "isolated"])
def test_an_int_member_from_its_number_or_digits(value: object) -> None:
    assert known_member(Mode, "mode", value) is Mode.ISOLATED


@pytest.mark.parametrize("value", ["Sideways", 3, "3", True, 1.0, None, Direction("Sideways")])
def test_anything_else_is_refused_naming_the_field_and_the_members(value: object) -> None:
    enum_type = Mode if isinstance(value, (int, float)) else Direction
    with pytest.raises(InvalidRequest) as caught:
        known_member(enum_type, "field", value)
    assert caught.value.field == "field"
    assert ", ".join(enum_type.__members__) in caught.value.message
    assert caught.value.message.endswith(f"got {value!r}")
