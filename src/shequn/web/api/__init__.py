"""The REST API's routers: every module here exposes a ``router``, included by ``routers()``."""

from __future__ import annotations

import importlib
import pkgutil

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    """Each module's router, in module-name order; a new module needs no registration."""
    found = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if isinstance(getattr(module, "router", None), APIRouter):
            found.append(module.router)
    return found
