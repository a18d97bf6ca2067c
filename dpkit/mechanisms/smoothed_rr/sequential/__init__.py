"""Differentially private sequential learning (herding) with smoothed randomized response.

Model (Liu & Rahimian 2025, arXiv:2502.19525; Banerjee 1992; Bikhchandani, Hirshleifer, Welch
1992; spec /work/shared/specs/smoothed_rr.md §1, §4, §6): a state θ ∈ {−1, +1} with a uniform
prior; agents n = 1, 2, … act once, in order. Agent n sees the reports x_1..x_{n−1} of its
predecessors (public log-likelihood ratio l_n, l_1 = ``initial_belief``) and a private signal
s_n. Its intended action is a_n = +1 iff l_n + λ(s_n) > 0, and it publishes a randomized report
x_n of a_n. Observers know the mechanism and update

    l_{n+1} = l_n + log P(x_n | θ = +1, l_n) − log P(x_n | θ = −1, l_n).

Signals:

* ``"gaussian"``: s ~ N(θ, σ²), λ(s) = 2s/σ², so a_n = +1 iff s_n > t_n = −σ² l_n / 2. Reports:
  ``"none"`` (x = a), ``"classic"`` (RR, flip 1/(1+e^ε)) or ``"smoothed"`` (flip
  ½e^{−ε|s−t|/Δ}). Report likelihoods in closed form (spec §4), in log space:
  P(x = −1 | μ, t) = Z − ½B₁ + ½B₂ with Z = Φ((t−μ)/σ),
  B₁ = e^{−rt + rμ + r²σ²/2}·Φ((t−μ)/σ − rσ), B₂ = e^{rt − rμ + r²σ²/2}·Φ((μ−t)/σ − rσ),
  r = ε/Δ, and P(x = +1 | μ, t) = (1 − Z) − ½B₂ + ½B₁ (the symmetric form; no cancellation).
* ``"binary"``: P(s = θ) = p. Before a cascade (|l| ≤ log(p/(1−p)); ties follow the own
  signal) the intended action is the own signal and private agents report it through classic
  RR with u = 1/(1+e^ε) (both ``"classic"`` and ``"smoothed"`` mean this here, as in the paper);
  in a cascade the action ignores the signal, is reported as is and moves no belief.

Privacy: each agent's signal enters exactly one release (its report), so every agent gets its
full ε: smoothed RR is ε-DP for signals at distance ≤ Δ, classic RR ε-DP under replacement
(parallel composition across agents; the public history needs no protection).

Results reproduced in the tests (spec §5, §6, §8.2–8.3): the public LLR grows like
(2/(εσ²))·log n under smoothed RR against Θ(√log n) without privacy; classic RR learns much
more slowly; escape from a wrong herd is fast under privacy; cascade accuracy in the binary
model follows the gambler's-ruin closed form and is non-monotone in ε.

Layout (the mechanism layout, for this second part of smoothed_rr): :mod:`.params` (checked
settings :class:`~.params.Simulation`, result records), :mod:`.theory` (closed forms on plain
numbers: report likelihoods, cascade theory; the analogue of ``privacy.py``: the privacy of a
report is the parent package's), :mod:`.reference` (numpy simulators), :mod:`._numba`,
:mod:`._jax` (kernels) and :mod:`.mechanism` (public functions, backend dispatch).
"""

from .mechanism import report_log_likelihood, simulate_sequential_learning
from .params import (
    MAX_PATH_CELLS,
    MECHANISMS,
    CascadeTheory,
    Mechanism,
    SequentialResult,
)
from .reference import simulate_binary_cascade
from .theory import asymptotic_constant, cascade_theory, log_report_probs

__all__ = [
    "SequentialResult",
    "CascadeTheory",
    "simulate_sequential_learning",
    "simulate_binary_cascade",
    "report_log_likelihood",
    "log_report_probs",
    "cascade_theory",
    "asymptotic_constant",
    "MECHANISMS",
    "Mechanism",
    "MAX_PATH_CELLS",
]
