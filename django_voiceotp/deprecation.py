"""Old import paths that keep working: the names a module held before they moved, each warning
where it lives now (CHANGELOG, "Moved")."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def moved_names(old_module: str, moved: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` serving the names that moved out of ``old_module``.

    ``moved`` maps each old name to its new module (``"django_voiceotp.sending"``), or to its new
    module and name (``"django_voiceotp.claims:claim_send"``). The new module is imported when a
    name is first asked for, so an old path costs nothing until it is used.
    """

    def __getattr__(name: str) -> Any:
        if name not in moved:
            raise AttributeError(f"module {old_module!r} has no attribute {name!r}")
        new_module, _, new_name = moved[name].partition(":")
        new_name = new_name or name
        warnings.warn(
            f"{old_module}.{name} is deprecated: use {new_module}.{new_name}.",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(import_module(new_module), new_name)

    return __getattr__
