"""Reading a push's compact items quickly, with the converter as the judge of every doubt.

A stream reads tens of thousands of compact items a second, each through the shared
converter's hooks (exact, sized decimals; 64-bit integers; epoch milliseconds), which stay the
rules. Two costs of the REST path a stream can skip:

* the converter's detailed error report, built for a REST answer that fails as a whole:
  :func:`compact_reader` makes a structure function per item class from the same hooks
  without it, and hands any item that function cannot read to the converter, whose answer
  (the item, or the :class:`~asyncexch.MalformedResponse` naming the field) is the result:
  the fast path never decides a refusal, it only returns what the converter's hooks read;
* reading the same text again: a push repeats the same prices, amounts, APYs and expiry
  times across products, and pushes repeat them (on every change of any product, and every
  30 s). Each hook's result for a string is remembered (a bounded table per item class and
  type, emptied when full): the hooks are pure functions of the text and their results
  (``Decimal``, ``int``, ``datetime``) immutable, so a remembered one is the one the hook
  would give. Only strings are remembered: ``Decimal("1.50") == Decimal("1.5")`` and
  ``1 == True``, so other values could share a key and not a result. Refusals are not
  remembered (the hook raises again, and the converter decides).
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from typing import Any, TypeVar, cast

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, override

from .._convert import decode

__all__ = ["REMEMBERED", "compact_reader"]

T = TypeVar("T")
#: The most results of one type an item class's reader remembers (then it forgets them all):
#: about 0.3 MB when full (the strings and their values), enough for the distinct values of
#: the offers of hundreds of products.
REMEMBERED = 2048

Hook = Callable[[Any, Any], Any]
#: No result remembered (``None`` is one: an empty optional field).
_UNSEEN = object()


def compact_reader(converter: cattrs.Converter, cls: type[T]) -> Callable[[object], T]:
    """A function reading one compact item (an attrs class keyed by ``metadata["key"]``) as
    ``decode(converter, raw, cls)`` does: the same item, or the same refusal."""
    fast = _structure_fn(converter, cls, {})

    def read(raw: object) -> T:
        try:
            return fast(raw, cls)
        except Exception:  # anything odd: the converter reads it, or says what is wrong
            return decode(converter, raw, cls)

    return read


def _structure_fn(
    converter: cattrs.Converter, cls: type[T], hooks: dict[Any, Hook]
) -> Callable[[Any, Any], T]:
    """``cls``'s structure function without detailed validation: list-of-items fields read
    by their own such functions, the other fields by the converter's hooks, remembered
    (``hooks``: one per type, shared by the item class's fields)."""
    overrides: dict[str, Any] = {}
    types = typing.get_type_hints(cls)
    for field in attrs.fields(cast(Any, cls)):
        type_ = types[field.name]
        element = next(iter(typing.get_args(type_)), None)
        if typing.get_origin(type_) is list and isinstance(element, type) and attrs.has(element):
            hook = _list_fn(_structure_fn(converter, element, hooks), element)
        elif type_ is Any or type_ is str:
            hook = None  # kept as received / the converter's cheap check
        else:
            if type_ not in hooks:
                hooks[type_] = _remembered(converter.get_structure_hook(type_), type_)
            hook = hooks[type_]
        overrides[field.name] = override(rename=field.metadata["key"], struct_hook=hook)
    return make_dict_structure_fn(
        cls,
        converter,
        _cattrs_detailed_validation=False,
        **overrides,
    )


def _list_fn(item: Callable[[Any, Any], T], cls: type[T]) -> Callable[[Any, Any], list[T]]:
    # What cattrs' list hook does without detailed validation.
    return lambda values, _: [item(value, cls) for value in values]


def _remembered(hook: Hook, type_: Any) -> Hook:
    """``hook`` remembering its result for each string (see the module docstring)."""
    seen: dict[str, Any] = {}

    def structure(value: Any, _: Any) -> Any:
        if value.__class__ is not str:
            return hook(value, type_)
        result = seen.get(value, _UNSEEN)
        if result is _UNSEEN:  # a test, not KeyError: a raise costs more than a miss saves
            result = hook(value, type_)
            if len(seen) >= REMEMBERED:
                seen.clear()
            seen[value] = result
        return result

    return structure
