"""Continual-release counters: private prefix sums of a stream, released after every step.

After step t the counter publishes ``y_t ≈ S_t = Σ_{τ≤t} x_τ`` for a scalar or d-dimensional
stream ``x_1, …, x_T`` (T ≤ ``horizon``). Four kinds, all of the form ``y = A x + B z`` for a
factorization ``A = B C`` of the prefix-sum matrix (see :mod:`.privacy`):

* ``"tree"``: the binary tree mechanism (Dwork, Naor, Pitassi, Rothblum, STOC 2010; Chan, Shi,
  Song, ICALP 2010). O(log T) memory; ``Var(y_t − S_t) = popcount(t)·σ²``.
* ``"honaker"``: Honaker's variance-reduced streaming tree estimator (J. Honaker, "Efficient
  Use of Differentially Private Binary Trees", TPDP 2015): every node is noised and combined
  with its children by inverse-variance weighting; ``Var = Σ_{h: bit h of t} σ²·2^h/(2^{h+1}−1)``.
* ``"sqrt"``: the square-root factorization ``B = C = A^{1/2}`` (Fichtenberger, Henzinger,
  Upadhyay, "Constant Matters", ICML 2023): ``Var = σ²·Σ_{k<t} c_k²`` with
  ``c_k = binom(2k, k)/4^k``. Streaming keeps the whole noise history (O(T) memory); a whole
  stream runs in batch in O(T log T) with an FFT Toeplitz product.
* ``"blt"``: a buffered linear Toeplitz strategy (Dvijotham, McMahan, Pillutla, Steinke,
  Thakurta, arXiv:2404.16706, 2024): C Toeplitz with ``c_k = Σ_i ω_i θ_i^{k−1}``, noise
  ``C^{−1} z`` generated with b buffers (O(b) memory). The default (θ, ω) is our sum-of-
  exponentials approximation of A^{1/2} (:func:`blt_sqrt_parameters`).

Privacy (:func:`privacy_event`): event-level neighbours by default (two streams that differ in
one step's item, by at most Δ = ``sensitivity`` in ℓ2 norm, ℓ1 for Laplace noise); Gaussian
noise gives ``Gaussian(σ/s)`` (ρ = s²/(2σ²)-zCDP, s = the strategy's largest column norm),
Laplace noise (tree kinds) pure ε = L·Δ/b. With ``participations=κ, min_separation=s`` one
user's items at up to κ steps, pairwise ≥ s apart, change, and s becomes the largest norm of a
sum of such columns (:func:`participation_sensitivity`, spec §3.5). Adaptive streams are
covered (Denisov et al., NeurIPS 2022).

API (pure and streaming, the state is an immutable :class:`CounterState` of arrays):

>>> import numpy as np
>>> p = CounterParams.for_rho("tree", horizon=8, rho=0.5, bound=1.0, relation="add_remove")
>>> state = init(p)
>>> state, y = step(p, state, 1.0, np.random.default_rng(0))
>>> expected_variance(p, 7) == 3 * p.noise_std**2
True

Modules: :mod:`.params` (:class:`CounterParams`, validated once), :mod:`.privacy` (the
privacy statement and the strategy's sensitivities; the plain-number math below the params
is in ``_strategy`` and ``_privacy_math``), :mod:`.reference` (the numpy reference: state,
:func:`advance`), :mod:`.mechanism` (:func:`step`, :func:`run`, the exact error), kernels
``_numba`` and ``_jax`` (``lax.scan``) tested against the reference, and :mod:`.selection`, the
second part: MaxSum / SumSelect under continual observation. Noise is drawn in floating
point: not hardened against floating-point attacks (Mironov 2012).
"""

from __future__ import annotations

from ._strategy import blt_inverse_parameters, blt_sqrt_parameters
from .mechanism import expected_variance, max_variance, run, run_with_noise, step
from .mechanism import privacy_cumsq as privacy_cumsq
from .params import KINDS, CounterParams
from .params import Kind as Kind
from .privacy import (
    MAX_HORIZON,
    MAX_PARTICIPATIONS,
    MAX_SQRT_HORIZON,
    ParticipationSensitivity,
    blt_coefficients,
    blt_column_norm_sq,
    effective_participations,
    l1_sensitivity_factor,
    participation_sensitivity,
    privacy_event,
    sensitivity_factor,
    sqrt_coefficients,
    sqrt_column_norm_sq,
    tree_levels,
)
from .reference import CounterState, advance, init, noise_rows
from .reference import total_noise_rows as total_noise_rows

__all__ = [
    "KINDS",
    "CounterParams",
    "CounterState",
    "init",
    "step",
    "advance",
    "noise_rows",
    "run",
    "run_with_noise",
    "expected_variance",
    "max_variance",
    "privacy_event",
    "blt_sqrt_parameters",
    "blt_inverse_parameters",
    "sqrt_coefficients",
    "sqrt_column_norm_sq",
    "blt_coefficients",
    "blt_column_norm_sq",
    "tree_levels",
    "sensitivity_factor",
    "l1_sensitivity_factor",
    "participation_sensitivity",
    "effective_participations",
    "ParticipationSensitivity",
    "MAX_PARTICIPATIONS",
    "MAX_HORIZON",
    "MAX_SQRT_HORIZON",
]
