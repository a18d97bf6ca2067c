"""The O(n) passes of the PLD engine over a composed grid: numpy references, and a numba
kernel where one loop beats numpy's passes.

* :func:`untilt_reference`: read the composed window out of the cyclic inverse FFT, add the
  rounding bound η, undo the exponential tilt, cap each mass, and keep the top of the window
  whose mass reaches the composition's total (the lump/trim of
  :func:`~.distribution.fourier_compose`);
* :func:`grid_deltas_reference` and its numba kernel: δ at every grid loss and the suffix
  sums behind the closed form between grid losses
  (:meth:`~.distribution.PrivacyLossDistribution._grid_deltas`);
* :func:`moments_reference`: mean and variance of the loss tilted by e^{λℓ}, used for
  planning only.

Same arithmetic: the kernel's sums are sequential in the order of the reference's
``cumsum`` and ``lfilter`` recursion, so the two agree bit for bit (tests check it on
random inputs); no bound's float allowance changes.

:func:`kernel` picks numba when it is installed (``dpkit[numba]``), numpy otherwise; the
environment variable ``DPKIT_PLD_KERNELS=numpy`` (or the accountant's
``DPKIT_ACCOUNTING_BACKEND=numpy``) forces the references (tests compare both).
numba is imported on first use only, so ``import dpkit`` stays light.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from ...backend import available
from ..rdp import BACKEND_ENV

__all__ = ["kernel", "untilt_reference", "grid_deltas_reference", "moments_reference",
           "uses_numba"]


def untilt_reference(r: np.ndarray, start: int, keep: int, eta: float, k_tot: float,
                     lam_step: float, lo_index: int, cap: float, total: float
                     ) -> tuple[np.ndarray, int, float]:
    """(masses, offset j0, added): the window's masses from index ``j0`` up, untilted.

    Entry i of the window (grid index lo_index + i, 0 ≤ i < keep) is residue
    (start + i) mod n of ``r``; its mass is exp(min(log(max(r, 0) + η) + k_tot −
    lam_step·(lo_index + i), cap)). ``j0`` is the largest i whose suffix mass (entries ≥ i,
    summed from the top) reaches ``total``, and the masses are cut to entries ≥ j0; when no
    suffix reaches it, j0 = 0 and the shortfall ``added`` goes to the lowest entry.
    """
    w = r[start:start + keep]
    if w.size < keep:
        w = np.concatenate([w, r[:keep - w.size]])
    w = np.maximum(w, 0.0) + eta
    ks = lo_index + np.arange(keep)
    lp = np.log(w)
    lp += k_tot - lam_step * ks
    np.minimum(lp, cap, out=lp)
    m = np.exp(lp)
    suffix = np.cumsum(m[::-1])[::-1]
    over = np.nonzero(suffix >= total)[0]
    if over.size:
        j0 = int(over[-1])
        return m[j0:], j0, 0.0
    added = total - float(suffix[0])
    m[0] += added
    return m, 0, added


def grid_deltas_reference(p: np.ndarray, a: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(D, S0, U) with S0[j] = Σ_{i≥j} p_i, U[j] = Σ_{i≥j} p_i a^{i−j} (a = e^{−step}) and
    D[j] = max(S0[j+1] − a·U[j+1], 0), D[last] = 0 (δ at grid loss j, infinity mass aside)."""
    import scipy.signal  # lazy: importing it costs ~0.4 s at `import dpkit`

    s0 = np.cumsum(p[::-1])[::-1]
    u = scipy.signal.lfilter([1.0], [1.0, -a], p[::-1])[::-1]
    d = np.empty_like(p)
    d[:-1] = np.maximum(s0[1:] - a * u[1:], 0.0)
    d[-1] = 0.0
    return d, s0, u


def moments_reference(masses: np.ndarray, losses: np.ndarray, lam: float
                      ) -> tuple[float, float]:
    """(mean, variance) of the loss under the tilted law e^{λℓ}·p / E[e^{λL}] over the
    positive masses (zeros when there is no positive mass); planning only."""
    pos = masses > 0
    if not pos.any():
        return 0.0, 0.0
    ls = losses[pos]
    lr = np.log(masses[pos]) + lam * ls
    w = np.exp(lr - float(lr.max()))
    w /= w.sum()
    mu = float(np.sum(w * ls))
    return mu, float(np.sum(w * (ls - mu) ** 2))


_NUMBA: dict[str, Callable[..., Any]] = {}
#: The passes with a numba kernel. The other two are dominated by one ``log`` and one ``exp``
#: per entry, which numpy evaluates with SIMD and numba one libm call at a time: measured
#: on 80 000 entries, a fused numba loop was no faster (1.26 ms against 1.19 ms), while the
#: sums of the grid deltas run 6× faster as one loop (0.20 ms against 1.21 ms).
_NUMBA_NAMES = ("grid_deltas",)


def _build_numba() -> None:
    from . import _kernels_numba  # compiles on first call (cached on disk by numba)

    _NUMBA.update(grid_deltas=_kernels_numba.grid_deltas)


_REFERENCE: dict[str, Callable[..., Any]] = {
    "untilt": untilt_reference, "grid_deltas": grid_deltas_reference,
    "moments": moments_reference}


def uses_numba() -> bool:
    """Whether :func:`kernel` hands out the numba kernels: installed, and not forced off by
    ``DPKIT_PLD_KERNELS=numpy`` or the accountant's ``DPKIT_ACCOUNTING_BACKEND=numpy`` (the
    ``dpkit`` command line sets the latter: one answer does not repay numba's start-up)."""
    return (os.environ.get("DPKIT_PLD_KERNELS", "") != "numpy"
            and os.environ.get(BACKEND_ENV, "") != "numpy" and available("numba"))


def kernel(name: str) -> Callable[..., Any]:
    """The pass ``name`` ("untilt", "grid_deltas", "moments"): numba's when
    :func:`uses_numba` and one exists, else the numpy reference."""
    if not uses_numba() or name not in _NUMBA_NAMES:
        return _REFERENCE[name]
    if not _NUMBA:
        _build_numba()
    return _NUMBA[name]
