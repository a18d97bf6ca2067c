"""The planner's step rule (bounds._chernoff_step and its fallback): tightness at the default
accuracy against a far finer grid of the same certified engine.

Points: heavy upper tails (σ ≈ 0.5, small q: the Chernoff rule relaxes the variance rule
5–8×), a ledger whose planning Chernoff ε̂ is ~4× the answer (the rule must fall back to the
variance rule: it gave +5.7e-3 before the fallback), and Gaussian-like bulks. Both values
are certified upper bounds, so the finer one is the tighter one up to its own slack.
"""

from __future__ import annotations

import pytest

from dpkit.accounting import pld
from dpkit.accounting.pld import bounds

POINTS = [(1e-4, 0.5, 100_000, 1e-10), (3e-4, 0.55, 30_000, 1e-5), (0.00108, 1.2068, 1632, 5.5e-10),
          (0.00318, 1.774, 232, 5.9e-5), (0.01, 1.0, 1000, 1e-5), (0.1, 2.0, 10_000, 1e-5)]


@pytest.mark.parametrize("q,sigma,steps,delta", POINTS)
def test_default_accuracy_within_1e3_of_a_fine_grid(q, sigma, steps, delta):
    fine = pld.sampled_gaussian_epsilon(sigma, q, steps, delta, accuracy=1e-4)
    got = pld.sampled_gaussian_epsilon(sigma, q, steps, delta)
    assert fine * (1 - 1e-4) <= got <= fine * (1 + 1.2e-3), (got, fine)


def test_chernoff_rule_relaxes_a_heavy_tail_and_not_a_gaussian_bulk():
    # heavy tail: the planned step is several times the variance rule's
    sgm = pld.SampledGaussianPair
    heavy = [(sgm(0.5, 1e-4, pld.REMOVE), 100_000)]
    plds = bounds.plan_pld(heavy, delta=1e-10)
    _, _, var = bounds._coarse_plan(heavy)
    assert plds[-1].step > 3 * (6e-3 * var) ** 0.5
    # a Gaussian-like bulk (σ = 2): never coarser than the variance rule
    bulk = [(sgm(2.0, 0.01, pld.REMOVE), 10_000)]
    _, _, var = bounds._coarse_plan(bulk)
    assert bounds.plan_pld(bulk, delta=1e-5)[-1].step <= 1.01 * (6e-3 * var) ** 0.5
