"""Privacy statements of smoothed randomized response (Liu & Rahimian 2025).

Y. Liu, M. A. Rahimian, *Differentially Private Sequential Learning*, arXiv:2502.19525 (2025);
FORC 2025 (LIPIcs 329, paper 18). See /work/shared/specs/smoothed_rr.md §3 and §7.

Smoothed RR releases one bit x = sign(v − t + Z), Z ~ Laplace(0, Δ/ε): ε-DP for neighbouring
signals |v − v'| ≤ Δ (metric DP; with clipping to a range of width ≤ Δ, ε-DP under replacement
of the signal). RDP: RR's closed form by default (Kairouz, Oh, Viswanath 2015; Mironov 2017),
the exact curve :func:`rdp_exact` on request. The derivations are in the private
``_privacy_math`` (plain numbers), which sits below :mod:`.params` so that
``params.privacy_event()`` can use it; this module re-exports its public names on top of the
params and holds :func:`privacy_event`, the one public statement of a params object.
"""

from __future__ import annotations

import numpy.typing as npt

from ...accounting.events import Laplace, RDPCurve
from ._privacy_math import EXACT_MARGIN as EXACT_MARGIN
from ._privacy_math import (
    REPLACE_ONE,
    classic_rr_event,
    log_prob_laplace_cdf,
    log_ratio_grid,
    rdp_exact,
    rdp_rr_bound,
    smoothed_rr_event,
)
from .params import SmoothedRRParams, check_params

__all__ = ["rdp_exact", "rdp_rr_bound", "log_ratio_grid", "log_prob_laplace_cdf",
           "smoothed_rr_event", "classic_rr_event", "REPLACE_ONE", "privacy_event"]


def privacy_event(params: SmoothedRRParams, *, exact: bool = False,
                  orders: npt.ArrayLike | None = None) -> Laplace | RDPCurve:
    """The accounting event of one smoothed-RR release.

    Default: ``Laplace(1/ε)`` — smoothed RR is a post-processing of the Laplace mechanism
    (noise scale Δ/ε), so its RDP is Laplace's (below RR's closed form, the ``PureDP(ε)``
    curve used before issue 16; Mironov 2017, Kairouz–Oh–Viswanath 2015) and its privacy loss
    distribution is the Laplace pair's, which is exact for smoothed RR (the sup over
    thresholds). ``exact=True``: the exact curve sup_z D_α(Bern(F(z+Δ)) ‖ Bern(F(z))) as an
    ``RDPCurve`` (ε at α = ∞; RDP only).

    Neighbouring relation: |v − v'| ≤ Δ (``relation=None``: the guarantee holds for whichever
    relation put the two signals within Δ), or replacement of the signal
    (``relation="replace_one"``) when ``params.clip`` is set. Across agents of the sequential
    model each signal is released once: parallel composition, no count > 1 needed.

    Raises:
        DPKitError: wrong params type, ``exact`` not a bool, bad orders.

    >>> privacy_event(SmoothedRRParams(0.5)).epsilon_inf()
    0.5
    """
    check_params(params, SmoothedRRParams)
    return smoothed_rr_event(params.epsilon, params.relation, exact=exact, orders=orders)
