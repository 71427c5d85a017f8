"""Wrapping a library method for the local runtime's whole life, and unwrapping it cleanly."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class MethodPatch:
    """``owner.name`` replaced by ``wrap(original)`` between install() and uninstall()."""

    def __init__(self, owner: Any, name: str, wrap: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
        self._owner = owner
        self._name = name
        self._wrap = wrap
        self._original: Callable[..., Any] | None = None
        self._wrapper: Callable[..., Any] | None = None

    @property
    def installed(self) -> bool:
        return self._original is not None

    def install(self) -> None:
        if self._original is not None:
            return
        self._original = getattr(self._owner, self._name)
        self._wrapper = self._wrap(self._original)
        setattr(self._owner, self._name, self._wrapper)

    def uninstall(self) -> None:
        if self._original is None:
            return
        # Another wrapper installed on top (tests, the bench) keeps calling ours: leave it there.
        # Ours stays in that chain, so whoever made this patch reads ``installed`` to stop acting.
        if getattr(self._owner, self._name) is self._wrapper:
            setattr(self._owner, self._name, self._original)
        self._original = None
