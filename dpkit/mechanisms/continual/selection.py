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
from typing import Any, Literal

import numpy as np

from ... import _validate as V
from ...accounting.events import Composed, Event, PureDP, Repeated
from ...errors import DPKitError
from ...random import RNGLike, as_generator

__all__ = ["SelectionParams", "svt_parameters", "run_selection", "selection_event"]


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

    Privacy: :func:`selection_event` (event level: one row of the stream changes).
    """

    problem: Literal["maxsum", "select"]
    method: Literal["svt", "counters"]
    horizon: int
    dimension: int
    rho: float
    beta: float = 0.05
    counter_kind: str | None = None

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
        elif self.counter_kind not in ("tree", "honaker", "sqrt", "blt"):
            raise DPKitError(f"counter_kind must be tree, honaker, sqrt or blt, got "
                             f"{self.counter_kind!r}")

    def counter(self) -> Any:
        """The d-dimensional counter of the "counters" branch (ℓ2 sensitivity √d)."""
        from . import CounterParams

        return CounterParams.for_rho(self.counter_kind, self.horizon, self.rho,  # type: ignore
                                     dimension=self.dimension,
                                     bound=math.sqrt(self.dimension), neighbours="zero_out")

    @property
    def svt(self) -> tuple[int, float, float]:
        """(k, τ, ε) of the SVT branch."""
        return svt_parameters(self.horizon, self.rho, self.beta)


def selection_event(params: SelectionParams) -> Event:
    """The accountant event of one run (event-level neighbours: one row changes)."""
    if params.method == "counters":
        return params.counter().privacy_event()
    k, _, eps = params.svt
    return Composed((Repeated(PureDP(eps), k), Repeated(PureDP(eps), k)))


def _rows(params: SelectionParams, stream: Any) -> np.ndarray:
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


def run_selection(params: SelectionParams, stream: Any, rng: RNGLike) -> np.ndarray:
    """Run MaxSum (float outputs) or SumSelect (int column indices) over a whole stream.

    The SVT branch is an online loop whose decision at step t uses only rows ≤ t, so it is
    equally valid for adaptively chosen rows. Returns an array of length T.
    """
    if not isinstance(params, SelectionParams):
        raise DPKitError(f"params must be a SelectionParams, got {type(params).__name__}")
    xs = _rows(params, stream)
    gen = as_generator(rng)
    T = xs.shape[0]
    sums = np.cumsum(xs, axis=0)
    if params.method == "counters":
        from . import run

        noisy = np.asarray(run(params.counter(), xs, gen, backend="auto"))
        return noisy.max(axis=1) if params.problem == "maxsum" else noisy.argmax(axis=1)
    k, tau, eps = params.svt
    sens = 1.0 if params.problem == "maxsum" else 2.0
    out_val, cur = 0.0, 0
    refreshes = 0
    thr = tau + gen.laplace(0.0, 2.0 * sens / eps)
    res = np.empty(T, dtype=np.float64 if params.problem == "maxsum" else np.int64)
    for t in range(T):
        s = sums[t]
        gap = s.max() - (out_val if params.problem == "maxsum" else s[cur])
        if refreshes < k and gap + gen.laplace(0.0, 4.0 * sens / eps) >= thr:
            if params.problem == "maxsum":
                out_val = float(s.max() + gen.laplace(0.0, 1.0 / eps))
            else:
                logits = eps * (s - s.max()) / 2.0
                p = np.exp(logits)
                cur = int(gen.choice(s.size, p=p / p.sum()))
            refreshes += 1
            thr = tau + gen.laplace(0.0, 2.0 * sens / eps)
        res[t] = out_val if params.problem == "maxsum" else cur
    return res
