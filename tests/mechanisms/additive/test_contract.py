"""The mechanism contract (tests/contracts/mechanism.py) for the additive mechanisms
(dpkit.mechanisms.additive): Gaussian, Laplace, discrete Laplace, discrete Gaussian.

Backends: the continuous mechanisms have one (numpy); the discrete ones are tested on their two
samplers, ``method="exact"`` (the reference) and ``method="fast"``. Law: the noise on the zero
query (batched), against the exact law (normal / Laplace cdf; the discrete Laplace / discrete
Gaussian pmf, normalised on ±60σ) and "fast" against "exact". Audit (tests/audit/
test_additive_audits.py): neighbours two query values one sensitivity apart; claim at δ = 0
(pure DP) or δ = 1e-3 (zCDP). Twins: a release with 1.5× the sensitivity's worth of too little
noise (law test fails), a claim for twice the noise (audit fails).
"""

from __future__ import annotations

import math
from dataclasses import replace
from fractions import Fraction
from typing import Any, ClassVar

import numpy as np
from hypothesis import strategies as st
from scipy import stats

from dpkit.accounting import Event
from dpkit.mechanisms.additive import (
    DiscreteGaussianParams,
    DiscreteLaplaceParams,
    GaussianParams,
    LaplaceParams,
    discrete_gaussian_mechanism,
    discrete_laplace_mechanism,
    gaussian_mechanism,
    laplace_mechanism,
)
from tests.contracts.mechanism import AuditCase, ExactLaw, MechanismContract

N_LAW = 4000
BAD_POSITIVE = st.sampled_from([0.0, -1.0, float("nan"), float("inf"), "1", None])


class AdditiveContract(MechanismContract):
    """Shared hooks; ``noise_field`` names the params field holding the noise scale."""

    noise_field: ClassVar[str] = "noise_multiplier"
    audit_delta: ClassVar[float] = 0.0
    audit_fraction: ClassVar[float] = 0.6
    law_kind = "continuous"
    wrong_ranks = False  # noise is added elementwise: any shape is valid

    def bad_params(self) -> list[tuple[dict[str, Any], str]]:
        return [({self.noise_field: 0}, self.noise_field),
                ({self.noise_field: -1}, self.noise_field),
                ({"sensitivity": 0}, "sensitivity")]

    def bad_param_values(self) -> dict[str, st.SearchStrategy[Any]]:
        return {self.noise_field: BAD_POSITIVE, "sensitivity": BAD_POSITIVE}

    def data(self, rng: np.random.Generator) -> np.ndarray:
        return rng.uniform(-5.0, 5.0, size=12)

    def extra_bad_data(self) -> list[Any]:
        return ["abc", None]

    def law_input(self) -> np.ndarray:
        return np.zeros(N_LAW)

    def privacy_event(self, params: Any) -> Event:
        return params.privacy_event()

    def audit_case(self) -> AuditCase:
        p = self.params()
        return AuditCase(sampler=lambda x, n, g: self.release(p, np.full(n, x), g,
                                                              self.backends[-1]),
                         x=0, x_prime=p.sensitivity, params=p, delta=self.audit_delta,
                         n=40_000, min_fraction=self.audit_fraction)

    def twins(self) -> list[tuple[MechanismContract, str]]:
        noise = getattr(self.params(), self.noise_field)

        class TooLittleNoise(type(self)):  # type: ignore[misc]
            """Releases with 2/3 of the noise: a wrong law."""

            def release(self, params: Any, data: Any, rng: Any, backend: str) -> Any:
                small = noise * 2 / 3 if isinstance(noise, float) else Fraction(noise) * 2 / 3
                return super().release(replace(params, **{self.noise_field: small}), data, rng,
                                       backend)

        class ClaimForDoubleNoise(type(self)):  # type: ignore[misc]
            """Claims the privacy of twice the noise."""

            def privacy_event(self, params: Any) -> Event:
                return replace(params, **{self.noise_field: 2 * noise}).privacy_event()

        return [(TooLittleNoise(), "test_backends_equal_in_law"),
                (ClaimForDoubleNoise(), "test_empirical_audit")]


class TestGaussianContract(AdditiveContract):
    # a ragged list x gave ValueError, not a DPKitError: fixed (additive/params.finite_input)
    known_bad_data_defects: ClassVar[dict[str, tuple[str, ...]]] = {}
    audit_delta = 1e-3
    audit_fraction = 0.3

    def params(self) -> GaussianParams:
        return GaussianParams(1.0)

    def release(self, params: Any, data: Any, rng: Any, backend: str) -> Any:
        return gaussian_mechanism(params, data, rng=rng)

    def exact_law(self, params: GaussianParams) -> ExactLaw:
        return ExactLaw(cdf=lambda y: stats.norm.cdf(y, scale=params.std))


class TestLaplaceContract(AdditiveContract):
    # a ragged list x gave ValueError, not a DPKitError: fixed (additive/params.finite_input)
    known_bad_data_defects: ClassVar[dict[str, tuple[str, ...]]] = {}
    def params(self) -> LaplaceParams:
        return LaplaceParams.from_epsilon(1.0)

    def release(self, params: Any, data: Any, rng: Any, backend: str) -> Any:
        return laplace_mechanism(params, data, rng=rng)

    def exact_law(self, params: LaplaceParams) -> ExactLaw:
        return ExactLaw(cdf=lambda y: stats.laplace.cdf(y, scale=params.scale))


def _discrete_pmf(log_weight: Any, width: float) -> dict[int, float]:
    ks = np.arange(-math.ceil(width), math.ceil(width) + 1)
    w = np.exp(log_weight(ks.astype(float)))
    return {int(k): float(v) for k, v in zip(ks, w / w.sum(), strict=True)}


class DiscreteContract(AdditiveContract):
    backends = ("exact", "fast")
    law_kind = "discrete"

    def data(self, rng: np.random.Generator) -> np.ndarray:
        return rng.integers(-5, 6, size=12)

    def extra_bad_data(self) -> list[Any]:
        return ["abc", None, np.array([0.5, 1.0])]

    def bad_params(self) -> list[tuple[dict[str, Any], str]]:
        return super().bad_params() + [({"sensitivity": 1.5}, "sensitivity")]


class TestDiscreteLaplaceContract(DiscreteContract):
    noise_field = "scale"

    def params(self) -> DiscreteLaplaceParams:
        return DiscreteLaplaceParams(4, sensitivity=2)

    def release(self, params: Any, data: Any, rng: Any, backend: str) -> Any:
        return discrete_laplace_mechanism(params, data, rng=rng, method=backend)

    def exact_law(self, params: DiscreteLaplaceParams) -> ExactLaw:
        b = float(params.scale)
        return ExactLaw(pmf=_discrete_pmf(lambda k: -np.abs(k) / b, 60 * b))


class TestDiscreteGaussianContract(DiscreteContract):
    noise_field = "sigma"
    audit_delta = 1e-3
    audit_fraction = 0.3

    def params(self) -> DiscreteGaussianParams:
        return DiscreteGaussianParams(4, sensitivity=2)

    def release(self, params: Any, data: Any, rng: Any, backend: str) -> Any:
        return discrete_gaussian_mechanism(params, data, rng=rng, method=backend)

    def exact_law(self, params: DiscreteGaussianParams) -> ExactLaw:
        s = float(params.sigma)
        return ExactLaw(pmf=_discrete_pmf(lambda k: -k * k / (2 * s * s), 12 * s))
