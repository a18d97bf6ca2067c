"""Partition selection: calibration, exact tails, and no release of a single unit's key."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

from dpkit.errors import DPKitError
from dpkit.mechanisms.additive import sample_discrete_gaussian, sample_discrete_laplace
from dpkit.pipeline import count, select_partitions
from dpkit.pipeline.selection import (
    calibrate_threshold,
    gaussian_tail,
    laplace_tail,
    truncated_geometric_probabilities,
)

pd = pytest.importorskip("pandas")


def _exact_dlap_tail(scale: float, j: int) -> float:
    q = math.exp(-1.0 / scale)
    return q**j / (1 + q)


def _exact_dgauss_tail(sigma: float, j: int) -> float:
    z = np.arange(-int(40 * sigma) - 50, int(40 * sigma) + 50, dtype=np.float64)
    w = np.exp(-z * z / (2 * sigma * sigma))
    return math.fsum(w[z >= j].tolist()) / math.fsum(w.tolist())


@pytest.mark.parametrize("scale", [0.7, 3.0, 25.0])
def test_tails_are_upper_bounds(scale: float) -> None:
    for j in (1, 2, 5, 20, 60):
        exact = _exact_dlap_tail(scale, j)
        assert exact <= laplace_tail(scale, j) <= exact * (1 + 1e-9)
        g = _exact_dgauss_tail(scale, j)
        assert g <= gaussian_tail(scale, j)
        assert gaussian_tail(scale, j) <= 3 * g + 1e-300 or g < 1e-250
    # the bounds are tails of the samplers the releases use (statistical check, 4 sd)
    y = np.asarray(sample_discrete_laplace(Fraction(3), 200_000, 0))
    g = np.asarray(sample_discrete_gaussian(Fraction(3), 200_000, 1))
    for sample, tail in ((y, laplace_tail), (g, gaussian_tail)):
        for j in (1, 3, 6):
            p = tail(3.0, j)
            sd = math.sqrt(p * (1 - p) / sample.size)
            assert float((sample >= j).mean()) <= p + 4 * sd


@pytest.mark.parametrize("noise", ["laplace", "gaussian"])
@pytest.mark.parametrize("m,c", [(1, 1), (4, 2), (30, 1)])
def test_calibration_meets_the_target(noise: str, m: int, c: int) -> None:
    t = calibrate_threshold(epsilon=0.8, delta=1e-7, max_partitions=m, max_per_partition=c,
                            noise=noise, tail_weight=c)
    assert t.epsilon <= 0.8 * (1 + 1e-12) and t.delta <= 1e-7
    tail = laplace_tail if noise == "laplace" else gaussian_tail
    j = t.threshold - c
    d_sel = 1e-7 if noise == "laplace" else 5e-8
    assert m * tail(t.scale, j) <= d_sel
    assert m * tail(t.scale, j - 1) > d_sel  # the smallest such threshold
    if noise == "laplace":
        assert t.sensitivity == m * c and t.epsilon_noise <= 0.8
    else:
        assert t.sensitivity == math.ceil(c * math.sqrt(m) - 1e-12)
    # a smaller delta needs a higher threshold
    t2 = calibrate_threshold(epsilon=0.8, delta=1e-10, max_partitions=m, max_per_partition=c,
                             noise=noise, tail_weight=c)
    assert t2.threshold > t.threshold


def test_calibration_refuses_bad_targets() -> None:
    base = dict(epsilon=1.0, delta=1e-6, max_partitions=1, max_per_partition=1)
    for over, msg in (({"delta": 0.0}, "delta must be in \\(0, 1\\)"),
                      ({"epsilon": 0.0}, "epsilon must be > 0"),
                      ({"max_partitions": 0}, "max_partitions must be >= 1"),
                      ({"noise": "cauchy"}, "noise must be one of")):
        with pytest.raises(DPKitError, match=msg):
            calibrate_threshold(**{**base, **over})


def test_truncated_geometric_is_private_and_reaches_one() -> None:
    eps, delta, m = 1.0, 1e-6, 2
    pi = truncated_geometric_probabilities(eps, delta, m, 200)
    e1, d1 = eps / m, delta / m
    assert pi[0] == 0.0 and pi[-1] == 1.0 and np.all(np.diff(pi) >= 0)
    for a, b in zip(pi[:-1], pi[1:], strict=True):  # neighbours n-1, n, both directions
        assert b <= math.exp(e1) * a + d1 + 1e-15
        assert (1 - a) <= math.exp(e1) * (1 - b) + d1 + 1e-15
    assert pi[1] == pytest.approx(d1, rel=1e-8)


def _singletons_and_heavy(n_single: int, c: int) -> Any:
    """n_single units each alone on its own key (c rows), and 3 keys held by 3000 units."""
    single = pd.DataFrame({"user": np.repeat(np.arange(n_single), c),
                           "key": np.repeat([f"s{i}" for i in range(n_single)], c)})
    heavy = pd.DataFrame({"user": n_single + np.arange(9000),
                          "key": np.repeat(["h0", "h1", "h2"], 3000)})
    return pd.concat([single, heavy], ignore_index=True)


@pytest.mark.parametrize("noise,selection", [("laplace", "threshold"),
                                             ("gaussian", "threshold"),
                                             ("laplace", "truncated_geometric")])
def test_a_single_units_key_is_not_released(noise: str, selection: str) -> None:
    """100 000 keys each held by one unit, δ = 1e-7: each is released w.p. ≤ 1e-7, so the
    number released is Bin(1e5, ≤ 1e-7)-dominated; P[≥ 3 released] ≤ 2e-7 (false alarm)."""
    df = _singletons_and_heavy(100_000, 2)
    out = count(df, by="key", privacy_unit="user", max_partitions=1, max_per_partition=2,
                epsilon=1.0, delta=1e-7, rng=4, noise=noise, selection=selection)
    released = set(out["key"])
    assert {"h0", "h1", "h2"} <= released
    assert len(released - {"h0", "h1", "h2"}) <= 2
    # the twin: a selection calibrated for δ = 0.2 releases many singleton keys, so the test
    # above can fail
    loose = count(df, by="key", privacy_unit="user", max_partitions=1, max_per_partition=2,
                  epsilon=1.0, delta=0.2, rng=4, noise=noise, selection=selection)
    assert len(set(loose["key"]) - {"h0", "h1", "h2"}) > 1000


def test_select_partitions_truncated_geometric() -> None:
    df = _singletons_and_heavy(100_000, 1)
    out = select_partitions(df, by="key", privacy_unit="user", max_partitions=1, epsilon=1.0,
                            delta=1e-7, rng=9)
    released = set(out["key"])
    assert {"h0", "h1", "h2"} <= released
    assert len(released - {"h0", "h1", "h2"}) <= 2  # same false-alarm bound as above
    loose = select_partitions(df, by="key", privacy_unit="user", max_partitions=1,
                              epsilon=1.0, delta=0.05, rng=9)
    n_loose = len(set(loose["key"]) - {"h0", "h1", "h2"})
    sd = math.sqrt(100_000 * 0.05 * 0.95)
    assert abs(n_loose - 5000) < 5 * sd  # π(1) = δ: the released fraction matches the law
