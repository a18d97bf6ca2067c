"""Repository-level pytest configuration: the doctest run over ``dpkit/``.

``make test`` collects the doctests of every module (``--doctest-modules``, see pyproject.toml).
Kernel modules import their optional backend at import time; when that backend is not
installed they are skipped here instead of failing collection.
"""

from __future__ import annotations

import importlib.util


def _missing(*names: str) -> bool:
    return any(importlib.util.find_spec(n) is None for n in names)


collect_ignore_glob: list[str] = []
if _missing("jax"):
    collect_ignore_glob += ["dpkit/_jax_random.py", "dpkit/mechanisms/*/_jax.py"]
if _missing("numba"):
    collect_ignore_glob += ["dpkit/_numba_random.py", "dpkit/mechanisms/*/_numba.py",
                            "dpkit/accounting/_sgm_numba.py"]
if _missing("torch", "opacus"):
    collect_ignore_glob += ["dpkit/demo/opacus.py", "dpkit/integrations/opacus.py"]
