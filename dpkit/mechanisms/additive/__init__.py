"""Additive noise mechanisms: Gaussian, Laplace, and exact discrete Laplace / discrete Gaussian.

Each mechanism is a frozen, validated parameter record, a pure sampling function and a privacy
statement (``params.privacy_event()``, an event of :mod:`dpkit.accounting.events`):

* :class:`GaussianParams`, :func:`gaussian_mechanism`: ``Gaussian(σ)``, ρ = 1/(2σ²) zCDP
  (Mironov 2017, Prop. 7; Bun & Steinke 2016); not hardened.
* :class:`LaplaceParams`, :func:`laplace_mechanism`: ``Laplace(b)``, (1/b)-DP (Dwork,
  McSherry, Nissim, Smith 2006); not hardened.
* :class:`DiscreteLaplaceParams`, :func:`discrete_laplace_mechanism`:
  ``DiscreteLaplace(scale, Δ)`` (ε = Δ/scale pure DP, exact PLD); hardened.
* :class:`DiscreteGaussianParams`, :func:`discrete_gaussian_mechanism`:
  ``DiscreteGaussian(σ, Δ)`` (ρ = Δ²/(2σ²) zCDP, exact PLD); hardened.

Neighbouring relation: every statement holds for whichever relation (add/remove or replace
one record) the query's sensitivity was computed under; the events carry ``relation=None``.

Hardening. The continuous Gaussian and Laplace mechanisms draw noise in floating point; their
outputs are *not* hardened against floating-point attacks (Mironov 2012; Jin et al. 2022), even
with :func:`dpkit.random.secure_generator`. The discrete mechanisms use the exact samplers of
Canonne, Kamath and Steinke 2020 ("The Discrete Gaussian for Differential Privacy", NeurIPS,
Algorithms 1-3): every random draw is a uniform integer from ``rng.integers`` and every
probability is an exact rational, so with a :class:`~dpkit.random.SecureGenerator` they are
hardened against floating-point attacks. They are rejection samplers: their running time is
random and depends on the noise drawn, a timing channel (Jin et al. 2022) they do not close.

Modules: ``_privacy_math`` (the statements on plain numbers, upward-rounded, below the
params), :mod:`.params` (the records, validation), :mod:`.privacy` (re-exports the statements'
helpers above the params), :mod:`.reference` (the exact samplers ``sample_*``, ``method="exact"``
pure-Python oracle and ``method="fast"`` vectorized int64 path, equal in law),
:mod:`.mechanism` (the four mechanisms). No kernels: every draw comes from the generator.
"""

from .mechanism import (
    discrete_gaussian_mechanism,
    discrete_laplace_mechanism,
    gaussian_mechanism,
    laplace_mechanism,
)
from .params import (
    MAX_DRAWS,
    MAX_SCALE,
    DiscreteGaussianParams,
    DiscreteLaplaceParams,
    GaussianParams,
    LaplaceParams,
    Method,
    RationalLike,
    Size,
)
from .reference import sample_bernoulli_exp, sample_discrete_gaussian, sample_discrete_laplace

__all__ = [
    "GaussianParams",
    "LaplaceParams",
    "DiscreteLaplaceParams",
    "DiscreteGaussianParams",
    "gaussian_mechanism",
    "laplace_mechanism",
    "discrete_laplace_mechanism",
    "discrete_gaussian_mechanism",
    "sample_bernoulli_exp",
    "sample_discrete_laplace",
    "sample_discrete_gaussian",
    "MAX_SCALE",
    "MAX_DRAWS",
    "Method",
    "RationalLike",
    "Size",
]
