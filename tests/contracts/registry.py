"""Discovery of the public API and the merged registry of specs.

The modules under contract are every public module of :mod:`dpkit.mechanisms`, every public
(non-underscore) submodule of each mechanism package (both found with ``pkgutil``, so a new
mechanism or submodule is covered automatically) and :mod:`dpkit.audit`. Their public
callables are read from ``__all__``; a submodule without ``__all__`` exports nothing.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from typing import Any

import dpkit.mechanisms

from . import (  # noqa: F401 (importing registers the specs)
    specs_additive,
    specs_audit,
    specs_bandits,
    specs_continual,
    specs_heavy_hitters,
    specs_kde,
    specs_rqm,
    specs_smoothed_rr,
    specs_submodules,
)
from .harness import SPECS, Record, Spec, qualname

EXTRA_MODULES = ("dpkit.audit",)


def contract_modules() -> list[str]:
    """Every public mechanism module and package, each package's public submodules, audit."""
    found: list[str] = []
    for m in pkgutil.iter_modules(dpkit.mechanisms.__path__):
        if m.name.startswith("_"):
            continue
        name = f"dpkit.mechanisms.{m.name}"
        found.append(name)
        if m.ispkg:
            pkg = importlib.import_module(name)
            found += [f"{name}.{s.name}" for s in pkgutil.iter_modules(pkg.__path__)
                      if not s.name.startswith("_")]
    return sorted(found) + list(EXTRA_MODULES)


def public_callables() -> dict[str, Any]:
    """Canonical name -> object, for every callable in the ``__all__`` of the modules."""
    found: dict[str, Any] = {}
    for name in contract_modules():
        mod = importlib.import_module(name)
        exported = getattr(mod, "__all__", None)
        assert exported is not None or name.count(".") > 2, f"{name} has no __all__"
        for attr in exported or ():
            obj = getattr(mod, attr)
            if inspect.isclass(obj) or inspect.isfunction(obj):
                found[qualname(obj)] = obj
    return found


def specs() -> dict[str, Spec | Record]:
    return SPECS
