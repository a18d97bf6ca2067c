"""Adapters that let other libraries use dpkit's accountant.

Nothing here is imported by ``import dpkit``, and importing this package imports no third-party
library: each adapter is a submodule that loads its framework only when it is itself imported.

* :mod:`dpkit.integrations.opacus` — Opacus (PyTorch DP-SGD): the ``"dpkit"`` accountant and
  ``make_private_with_epsilon`` calibrated by dpkit. Needs ``pip install 'dpkit[opacus]'``;
  importing it registers the accountant with Opacus's accountant registry.
"""

from __future__ import annotations

__all__: list[str] = []
