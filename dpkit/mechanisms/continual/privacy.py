"""Privacy statements of the continual-release counters: sensitivities and accountant events.

Every counter releases ``y = A x + B z`` for a factorization ``A = B·C`` of the prefix-sum
matrix; the release is a post-processing of the Gaussian (or Laplace) mechanism on ``x ↦ Cx``,
whose sensitivity is Δ · max_j ‖C[:, j]‖ at the event level (Li, Miklau, Hay, McGregor,
Rastogi 2015; Denisov, McMahan, Rush, Smith, Thakurta, NeurIPS 2022), or the largest norm of a
sum of columns under a participation schema (Choquette-Choo et al., ICML 2023). The derivations
are in the private modules below :mod:`.params`: ``_strategy`` (the strategy matrices on plain
numbers) and ``_privacy_math`` (sensitivities and events of a params-shaped object). This module
re-exports their public names on top of the params and holds :func:`privacy_event`, the public
statement of a :class:`~dpkit.mechanisms.continual.CounterParams`.
"""

from __future__ import annotations

from ...accounting.events import Event
from ._privacy_math import CounterLike as CounterLike
from ._privacy_math import (
    counter_event,
    l1_sensitivity_factor,
    participation_sensitivity,
    sensitivity_factor,
)
from ._privacy_math import item_sensitivity as item_sensitivity
from ._privacy_math import laplace_scale as laplace_scale
from ._strategy import (
    MAX_HORIZON,
    MAX_PARTICIPATIONS,
    MAX_SQRT_HORIZON,
    TREE_DP_BUDGET,
    ParticipationSensitivity,
    blt_coefficients,
    blt_column_norm_sq,
    blt_pattern_norm_sq,
    effective_participations,
    sqrt_coefficients,
    sqrt_column_norm_sq,
    toeplitz_pattern_norm_sq,
    tree_levels,
)
from .params import CounterParams

__all__ = [
    "tree_levels",
    "sqrt_coefficients",
    "sqrt_column_norm_sq",
    "blt_coefficients",
    "blt_column_norm_sq",
    "sensitivity_factor",
    "l1_sensitivity_factor",
    "privacy_event",
    "MAX_PARTICIPATIONS",
    "ParticipationSensitivity",
    "effective_participations",
    "participation_sensitivity",
    "toeplitz_pattern_norm_sq",
    "blt_pattern_norm_sq",
    "MAX_HORIZON",
    "MAX_SQRT_HORIZON",
    "TREE_DP_BUDGET",
]


def privacy_event(params: CounterParams) -> Event:
    """The accountant event of one counter run over a stream of up to ``horizon`` items.

    Neighbouring relation: two streams that differ in the items of at most κ =
    ``params.participations`` steps (one user's contributions), any two of those steps at
    least s = ``params.min_separation`` apart; each changed item differs by at most
    Δ = ``params.sensitivity`` in ℓ2 norm (Gaussian noise) or ℓ1 norm (Laplace noise);
    Δ = 2·bound for ``relation="replace_one"``, Δ = bound for "add_remove". κ = 1 (the default)
    is the event level: one step's item changes. The guarantee also holds for adaptively
    chosen streams (Denisov et al. 2022).

    * Gaussian noise, per-node (or per-z) std σ·Δ: ``Gaussian(σ / s)``, s =
      :func:`sensitivity_factor` (max_j ‖C[:,j]‖₂ at κ = 1), i.e. ρ = s²/(2σ²)-zCDP.
    * Laplace noise (tree kinds), per-node scale b = s₁·Δ/ε (s₁ = :func:`l1_sensitivity_factor`,
      = L at κ = 1): pure ε = s₁·Δ/b. Scalar streams at κ = 1: ``Repeated(Laplace(b/Δ), L)``
      (L independent scalar Laplace releases, exact RDP); otherwise ``PureDP(s₁·Δ/b)``.

    Raises:
        DPKitError: ``params`` is not a :class:`~dpkit.mechanisms.continual.CounterParams`.

    >>> privacy_event(CounterParams("tree", 8, noise_multiplier=1.0))
    Gaussian(noise_multiplier=0.5, relation=None)
    """
    return counter_event(params)
