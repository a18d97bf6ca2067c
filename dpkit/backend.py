"""Backend selection: ``"numpy"`` (the reference), ``"numba"`` (CPU kernels), ``"jax"``.

``resolve(backend, x)`` never imports numba or JAX unless that backend is chosen, so
``import dpkit`` stays light.
"""

from __future__ import annotations

import functools
import importlib.util
from typing import Any

from .errors import DPKitError

__all__ = ["resolve", "BACKENDS", "is_jax_array", "available"]

BACKENDS = ("numpy", "numba", "jax", "auto")


@functools.cache
def available(name: str) -> bool:
    """Whether an optional backend package is installed (without importing it).

    Remembered per process: the search of ``sys.path`` costs ~35 µs, and the PLD engine asks
    on every kernel call (an install during the process is seen after a restart)."""
    return importlib.util.find_spec(name) is not None


def is_jax_array(x: Any) -> bool:
    """True for a JAX array, decided from its type's module, without importing JAX."""
    return type(x).__module__.startswith(("jax", "jaxlib"))


def resolve(backend: str, x: Any = None) -> str:
    """Pick the backend that will run: JAX for JAX arrays, else numba if installed, else numpy.

    An explicitly requested backend that is not installed raises a :class:`DPKitError` naming
    the extra to install.
    """
    if backend not in BACKENDS:
        raise DPKitError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "auto":
        if x is not None and is_jax_array(x):
            return "jax"
        return "numba" if available("numba") else "numpy"
    if backend in ("numba", "jax") and not available(backend):
        raise DPKitError(
            f"backend={backend!r} needs the optional dependency: pip install 'dpkit[{backend}]'"
        )
    return backend
