"""Vault object kinds, one module each, found by discovery: a module here that defines `KIND` (an object
with `name`, `order`, `compile(rules)` and `load_sql(model, obj, present)`) is a kind. Adding a kind
touches only its own module."""

from __future__ import annotations

import importlib
import pkgutil


def _discover() -> list:
    kinds = []
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        kind = getattr(module, "KIND", None)
        if kind is not None:
            kinds.append(kind)
    return sorted(kinds, key=lambda k: k.order)


KINDS = _discover()
BY_NAME = {k.name: k for k in KINDS}
