"""MaxSum and SumSelect under continual observation (Jain, Raskhodnikova, Sivakumar, Smith).

Stream of rows ``x_t ∈ {0,1}^d``; column sums ``s_t[j] = Σ_{τ≤t} x_τ[j]``. After every step
MaxSum publishes ``y_t ≈ max_j s_t[j]`` and SumSelect an index ``j_t`` with
``s_t[j_t] ≈ max_j s_t[j]``. Seed paper: P. Jain, S. Raskhodnikova, S. Sivakumar, A. Smith,
"The Price of Differential Privacy under Continual Observation", arXiv:2112.00828, ICML 2023:
every continual algorithm has error Ω̃(T^{1/3}) times the batch error, and simple algorithms
match it. Two branches (our reconstruction of the paper's construction, spec §4; the paper's
constants were not available to us, so the constants below are ours):

* ``method="counters"`` (U1): a d-dimensional continual counter (any kind of
  :mod:`dpkit.mechanisms.continual`) on the rows, with ℓ2 sensitivity √d (one row flips up to d
  bits); publish the max / argmax of the noisy sums. Error Õ(√(d/ρ)).
* ``method="svt"`` (U2): keep publishing a stale answer and refresh it when AboveThreshold
  (Dwork & Roth 2014, Alg. 1: threshold noise Lap(2/ε1), query noise Lap(4/ε1)) sees the gap
  ``max_j s_t[j] − out`` (sensitivity 1: the published ``out`` is public) exceed τ. A MaxSum
  refresh is ``max_j s_t[j] + Lap(1/ε2)``; a SumSelect refresh is the exponential mechanism
  ``P(j) ∝ exp(ε2 s_t[j]/2)`` and its gap query ``max_j s_t[j] − s_t[j_cur]`` has sensitivity
  2 (noise scales doubled). At most k refreshes. Error Õ((T/ρ)^{1/3}).
  ``svt_refreshes``/``svt_threshold`` replace the default (k, τ) of :func:`svt_parameters`;
  ε1 = ε2 = √(ρ/k) still spends exactly ρ, so the privacy statement is unchanged (only
  accuracy depends on τ). :func:`run_selection_batch` runs many independent copies at once.

Privacy (event level: the streams differ in one row, any change within {0,1}^d):
``counters``: the counter's event with Δ₂ = √d. ``svt``: k AboveThreshold instances
(ε1-DP each, one "above" answer each) and k refreshes (ε2-DP each), composed adaptively:
``Composed(Repeated(PureDP(ε1), k), Repeated(PureDP(ε2), k))`` — pure ε = k(ε1 + ε2), and at
most ρ = k(ε1² + ε2²)/2 in zCDP. :func:`svt_parameters` sets ε1 = ε2 = √(ρ/k). Both hold
for adaptively chosen rows (each mechanism is a sequential composition of adaptive
AboveThreshold/Laplace/exponential steps, resp. a lower-triangular factorization).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from ... import _validate as V
from ...accounting.events import Composed, Event, PureDP, Repeated
from ...errors import DPKitError
from ...random import RNGLike, SecureGenerator, as_generator
from .mechanism import run
from .params import KINDS, CounterParams, Kind

__all__ = ["SelectionParams", "svt_parameters", "run_selection", "run_selection_batch",
           "selection_event"]


def svt_parameters(horizon: int, rho: float, beta: float = 0.05) -> tuple[int, float, float]:
    """(k, τ, ε1 = ε2) for the SVT branch at zCDP budget ρ and failure probability β.

    With ℓ = ln(4T/β) every Laplace draw stays below scale·ℓ w.p. ≥ 1 − β; τ = 3·(4/ε1)·ℓ
    leaves room for the threshold and query noise; k = ⌈2T/τ⌉ + 1 refreshes suffice for
    MaxSum (each true refresh needs the max to grow by ≥ τ/2); ε1 = ε2 = √(ρ/k) spends ρ.
    The fixed point in k is found by iteration (spec §4.3; our constants).
    """
    T = V.integer(minimum=1, horizon=horizon)
    r = V.positive(rho=rho)
    b = V.in_range(0.0, 1.0, low_open=True, high_open=True, beta=beta)
    ell = math.log(4 * T / b)
    k = max(1, int(round((2 * T) ** (2 / 3) * (r / (144 * ell * ell)) ** (1 / 3))))
    for _ in range(100):
        eps = math.sqrt(r / k)
        tau = 12.0 * ell / eps
        k_new = min(T, math.ceil(2 * T / tau) + 1)
        if k_new == k:
            break
        k = k_new
    eps = math.sqrt(r / k)
    return k, 12.0 * ell / eps, eps


@dataclass(frozen=True)
class SelectionParams:
    """MaxSum / SumSelect under continual observation over ``horizon`` rows of {0,1}^d.

    Args:
        problem: "maxsum" (publish a value) or "select" (publish a column index).
        method: "svt" (sparse-vector refreshes, error Õ(T^{1/3})) or "counters" (a continual
            counter per column, error Õ(√d)).
        horizon: T ≥ 1; dimension: d ≥ 1.
        rho: the zCDP budget ρ > 0 of the whole run.
        beta: failure probability used to set the SVT constants, in (0, 1).
        counter_kind: the counter kind for ``method="counters"`` (default "sqrt" when
            T·d ≤ 2^25, else "blt").
        svt_refreshes, svt_threshold: optional (k, τ) for ``method="svt"``, given together
            (1 ≤ k ≤ T, τ ≥ 0 finite), instead of :func:`svt_parameters`'s accuracy-driven
            choice; ε1 = ε2 = √(ρ/k) as always, so the run still spends exactly ρ and the
            privacy statement does not depend on τ (used by the audit, where a small τ makes
            the SVT fire often).

    Privacy: :func:`selection_event` (event level: one row of the stream changes).
    """

    problem: Literal["maxsum", "select"]
    method: Literal["svt", "counters"]
    horizon: int
    dimension: int
    rho: float
    beta: float = 0.05
    counter_kind: Kind | None = None
    svt_refreshes: int | None = None
    svt_threshold: float | None = None

    def __post_init__(self) -> None:
        if self.problem not in ("maxsum", "select"):
            raise DPKitError(f"problem must be 'maxsum' or 'select', got {self.problem!r}")
        if self.method not in ("svt", "counters"):
            raise DPKitError(f"method must be 'svt' or 'counters', got {self.method!r}")
        object.__setattr__(self, "horizon", V.integer(minimum=1, maximum=2**40,
                                                      horizon=self.horizon))
        object.__setattr__(self, "dimension", V.integer(minimum=1, maximum=2**20,
                                                        dimension=self.dimension))
        object.__setattr__(self, "rho", V.positive(rho=self.rho))
        object.__setattr__(self, "beta", V.in_range(0.0, 1.0, low_open=True, high_open=True,
                                                    beta=self.beta))
        if self.counter_kind is None:
            kind = "sqrt" if self.horizon * self.dimension <= 2**25 else "blt"
            object.__setattr__(self, "counter_kind", kind)
        elif self.counter_kind not in KINDS:
            raise DPKitError(f"counter_kind must be tree, honaker, sqrt or blt, got "
                             f"{self.counter_kind!r}")
        if (self.svt_refreshes is None) != (self.svt_threshold is None):
            raise DPKitError("svt_refreshes and svt_threshold must be given together, got "
                             f"svt_refreshes={self.svt_refreshes!r}, "
                             f"svt_threshold={self.svt_threshold!r}")
        if self.svt_refreshes is not None:
            object.__setattr__(self, "svt_refreshes", V.integer(
                minimum=1, maximum=self.horizon, svt_refreshes=self.svt_refreshes))
            tau = V.nonnegative(svt_threshold=self.svt_threshold)
            object.__setattr__(self, "svt_threshold", tau)

    def counter(self) -> CounterParams:
        """The d-dimensional counter of the "counters" branch (ℓ2 sensitivity √d)."""
        kind = self.counter_kind
        assert kind is not None  # set at construction
        return CounterParams.for_rho(kind, self.horizon, self.rho, dimension=self.dimension,
                                     bound=math.sqrt(self.dimension), relation="add_remove")

    @property
    def svt(self) -> tuple[int, float, float]:
        """(k, τ, ε) of the SVT branch (ε = ε1 = ε2 = √(ρ/k))."""
        if self.svt_refreshes is not None:
            k = int(self.svt_refreshes)
            tau = self.svt_threshold
            assert tau is not None  # given together with svt_refreshes (validated)
            return k, float(tau), math.sqrt(self.rho / k)
        return svt_parameters(self.horizon, self.rho, self.beta)


def selection_event(params: SelectionParams) -> Event:
    """The accountant event of one run (event-level neighbours: one row changes)."""
    if not isinstance(params, SelectionParams):
        raise DPKitError(f"params must be a SelectionParams, got {type(params).__name__}")
    if params.method == "counters":
        return params.counter().privacy_event()
    k, _, eps = params.svt
    return Composed((Repeated(PureDP(eps), k), Repeated(PureDP(eps), k)))


def _rows(params: SelectionParams, stream: npt.ArrayLike) -> np.ndarray:
    arr = V.finite_array(stream=stream)
    if arr.ndim == 1 and params.dimension == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[1] != params.dimension:
        raise DPKitError(f"stream must have shape (T, {params.dimension}), got {arr.shape}")
    if arr.shape[0] > params.horizon:
        raise DPKitError(f"stream has {arr.shape[0]} rows, beyond horizon = {params.horizon}")
    if np.any((arr != 0) & (arr != 1)):
        raise DPKitError("stream must hold 0/1 values only")
    return arr


def run_selection(params: SelectionParams, stream: npt.ArrayLike, rng: RNGLike) -> np.ndarray:
    """Run MaxSum (float outputs) or SumSelect (int column indices) over a whole stream.

    The SVT branch is an online loop whose decision at step t uses only rows ≤ t, so it is
    equally valid for adaptively chosen rows. Returns an array of length T.

    Privacy: :func:`selection_event` (event level: one row of the stream is replaced by any
    other row of {0,1}^d).
    """
    return run_selection_batch(params, stream, 1, rng)[0]


#: Runs per chunk of the batched SVT loop are capped so that chunk·max(T, d) ≤ this.
_CHUNK_ELEMENTS = 2**22
#: Largest output of run_selection_batch: n·T ≤ 2**32 values.
_MAX_OUTPUT = 2**32


def run_selection_batch(params: SelectionParams, stream: npt.ArrayLike, n: int,
                        rng: RNGLike) -> np.ndarray:
    """``n`` independent runs of :func:`run_selection` on the same stream, shape (n, T).

    The SVT branch is vectorised over the runs (one pass over the T steps, each run with its
    own threshold, query and refresh noise); the counters branch loops over the runs. Each
    row has exactly the law of :func:`run_selection` (which is this function with n = 1).
    Used by the empirical audit (tests/audit/test_continual_selection_audit.py), which needs
    10^6 runs.

    Privacy: each row is one run, :func:`selection_event` (event level: one row replaced).

    Raises:
        DPKitError: bad params, stream (not 0/1 of shape (T, d), T ≤ horizon) or rng; n not
            an integer ≥ 1, or n·T > 2**32.
    """
    if not isinstance(params, SelectionParams):
        raise DPKitError(f"params must be a SelectionParams, got {type(params).__name__}")
    runs = V.integer(minimum=1, maximum=_MAX_OUTPUT, n=n)
    xs = _rows(params, stream)
    gen = as_generator(rng)
    T = xs.shape[0]
    if runs * T > _MAX_OUTPUT:
        raise DPKitError(f"n * T must be <= 2**32 (the output holds n*T values), got "
                         f"n={runs}, T={T}")
    maxsum = params.problem == "maxsum"
    if T == 0:
        return np.empty((runs, 0), dtype=np.float64 if maxsum else np.int64)
    if params.method == "counters":
        res = np.empty((runs, T), dtype=np.float64 if maxsum else np.int64)
        for i in range(runs):
            noisy = np.asarray(run(params.counter(), xs, gen, backend="auto"))
            res[i] = noisy.max(axis=1) if maxsum else noisy.argmax(axis=1)
        return res
    k, tau, eps = params.svt
    sens = 1.0 if maxsum else 2.0
    return _svt_runs(np.cumsum(xs, axis=0), params.problem, k, tau, runs, gen,
                     threshold_scale=2.0 * sens / eps, query_scale=4.0 * sens / eps,
                     refresh_epsilon=eps)


def _svt_runs(sums: np.ndarray, problem: str, k: int, tau: float, n: int,
              gen: np.random.Generator | SecureGenerator, *, threshold_scale: float,
              query_scale: float, refresh_epsilon: float) -> np.ndarray:
    """The SVT loop (spec §4.3) for n independent runs on column sums ``sums`` (T, d).

    Noise scales are arguments so that the audit's mis-calibrated twins run this very loop.
    Honest values (:func:`run_selection_batch`): threshold Lap(2Δ/ε), query Lap(4Δ/ε)
    (Dwork & Roth 2014, Alg. 1, Δ = 1 for MaxSum, 2 for SumSelect), refresh ε2 = ε.
    The exponential mechanism is sampled by the Gumbel-max trick: argmax_j(ε2·s[j]/2 + G_j)
    with G_j i.i.d. standard Gumbel has P(j) ∝ exp(ε2·s[j]/2) exactly.
    """
    T, d = sums.shape
    maxs = sums.max(axis=1)
    maxsum = problem == "maxsum"
    res = np.empty((n, T), dtype=np.float64 if maxsum else np.int64)
    chunk = max(1, _CHUNK_ELEMENTS // max(T, d))
    for lo in range(0, n, chunk):
        m = min(chunk, n - lo)
        out = np.zeros(m)                      # MaxSum: the published value
        cur = np.zeros(m, dtype=np.int64)      # SumSelect: the published column
        refreshes = np.zeros(m, dtype=np.int64)
        thr = tau + threshold_scale * gen.laplace(size=m)
        # max_j s_t[j] + query noise, all steps at once; the gap subtracts out / s_t[cur]
        noisy_q = query_scale * gen.laplace(size=(T, m)) + maxs[:, None]
        block = res[lo:lo + m].T                          # (T, m) view, written row by row
        for t in range(T):
            idx = np.flatnonzero(noisy_q[t] - (out if maxsum else sums[t, cur]) >= thr)
            if idx.size:
                if maxsum:
                    out[idx] = maxs[t] + gen.laplace(0.0, 1.0 / refresh_epsilon, size=idx.size)
                else:
                    g = (gen.gumbel(size=(idx.size, d)) if isinstance(gen, np.random.Generator)
                         else -np.log(gen.exponential(size=(idx.size, d))))  # −log Exp(1)
                    cur[idx] = np.argmax(refresh_epsilon * sums[t] / 2.0 + g, axis=1)
                refreshes[idx] += 1
                thr[idx] = tau + threshold_scale * gen.laplace(size=idx.size)
                thr[idx[refreshes[idx] >= k]] = np.inf  # k refreshes spent: never fire again
            block[t] = out if maxsum else cur
    return res
