"""A simulator option its engine keeps: one attribute, read and set through the simulator."""

from __future__ import annotations

from typing import Any, Generic, TypeVar, cast, overload

__all__ = ["EngineOption"]

T = TypeVar("T")


class EngineOption(Generic[T]):
    """An attribute of a simulator that is its engine's (``self._book``) attribute of the
    same name: a test may change it on a running simulator, and the engine sees the change
    at its next request."""

    def __init__(self, doc: str) -> None:
        self.__doc__ = doc
        self._name = ""

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self._name = name

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> EngineOption[T]: ...

    @overload
    def __get__(self, instance: object, owner: type[Any]) -> T: ...

    def __get__(self, instance: object, owner: type[Any]) -> T | EngineOption[T]:
        if instance is None:
            return self
        return cast(T, getattr(instance._book, self._name))  # type: ignore[attr-defined]

    def __set__(self, instance: object, value: T) -> None:
        setattr(instance._book, self._name, value)  # type: ignore[attr-defined]
