"""Privacy statements of the KDE / similarity-query structures (spec kde.md §7).

Every structure is a vector of sums over the private points released once with independent
Laplace noise; queries are post-processing. The event is the composition of the independent
Laplace coordinates actually released (trees: d·L touched count nodes and, in exact mode, d·L
sum nodes; random Fourier features: D coordinates per term; an optional noisy count), pure
ε-DP under add/remove one point, sensitivities doubled under ``relation="replace_one"``.
Backurs, Lin, Mahabadi, Silwal, Tarnawski, ICLR 2024 (arXiv:2403.08917).

The derivations (noise scales, event builders, the brute-force sensitivity check) are in the
private ``_privacy_math``, which sits below :mod:`.params` so that ``KDEParams.privacy_event()``
can use it; this module re-exports its public names on top of the params and holds
:func:`privacy_event`, the public statement of a :class:`~dpkit.mechanisms.kde.KDEParams`.
"""

from __future__ import annotations

from ...accounting.events import Composed
from ._privacy_math import NEIGHBOURS as NEIGHBOURS
from ._privacy_math import SQRT2 as SQRT2
from ._privacy_math import KDEPrivacyParams as KDEPrivacyParams
from ._privacy_math import NoiseScales as NoiseScales
from ._privacy_math import (
    count_event,
    expsum_terms,
    neighbour_factor,
    noise_scales,
    relation_of,
    rff_event,
    sensitivity_bruteforce,
    structure_event,
    tree_event,
)
from .params import KDEParams

__all__ = ["tree_event", "rff_event", "count_event", "sensitivity_bruteforce",
           "relation_of", "neighbour_factor", "noise_scales", "privacy_event", "expsum_terms"]


def privacy_event(params: KDEParams, dimension: int | None = None) -> Composed:
    """The privacy event of one release of the structure (spec §7).

    Privacy statement: pure ε-DP (ε = ``params.epsilon``) under ``params.relation``
    (add/remove one point, or replace one point). Trees:
    ``Composed([Repeated(Laplace(b_c/f), d·L), Repeated(Laplace(b_s/(f·u_max)), d·L)])`` —
    each point touches one node per level (L nodes) in each of the d count trees (sensitivity
    1) and d sum trees (sensitivity u_max = halfwidth − ρ/2, the largest |centred midpoint|).
    RFF: ``Repeated(Laplace(b_j/(f√2)), D)`` per term (|√2 cos| ≤ √2), composed over the J
    terms, plus ``Laplace(b_n/f)`` for the optional count. Backurs, Lin, Mahabadi, Silwal,
    Tarnawski, ICLR 2024 (arXiv:2403.08917) state pure ε-DP.

    Args:
        params: a :class:`~dpkit.mechanisms.kde.KDEParams`.
        dimension: d for ℓ1 when ``params.dimension`` is None.

    Raises:
        DPKitError: as :func:`noise_scales`.

    >>> ev = privacy_event(KDEParams("l1", 1.0, 1.0, dimension=3, size_hint=16))
    >>> round(ev.epsilon_inf(), 12)
    1.0
    """
    return structure_event(params, dimension)
