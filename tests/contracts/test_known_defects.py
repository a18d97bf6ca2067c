"""Regression tests for the defects of issue 14 (§2, §5) and those the contract suite found.

Each test names the exact input that used to fail.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from dpkit.backend import available
from dpkit.errors import DPKitError
from dpkit.mechanisms import additive as A
from dpkit.mechanisms import bandits as B
from dpkit.mechanisms import continual as C
from dpkit.mechanisms import heavy_hitters as H
from dpkit.mechanisms import kde as K
from dpkit.mechanisms import rqm as R
from dpkit.mechanisms import smoothed_rr as S
from dpkit.mechanisms.continual import selection as SEL
from dpkit.mechanisms.smoothed_rr import sequential as SEQ

BACKENDS = ["numpy"] + [b for b in ("numba", "jax") if available(b)]


# ----------------------------------------------------------------------------- continual
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", C.KINDS)
@pytest.mark.parametrize("dimension", [1, 3])
def test_empty_stream_gives_an_empty_result_for_every_kind(backend: str, kind: str,
                                                          dimension: int) -> None:
    """kind="sqrt" used to raise IndexError on an empty stream; every kind and backend now
    returns the empty estimate array, shaped like the stream."""
    p = C.CounterParams(kind, 8, noise_multiplier=1.0, dimension=dimension)
    stream = np.zeros((0,) if dimension == 1 else (0, dimension))
    out = np.asarray(C.run(p, stream, 0, backend=backend))
    assert out.shape == stream.shape
    assert np.asarray(C.run_with_noise(p, stream, np.zeros((0, dimension)))).shape == \
        stream.shape


def test_sqrt_coefficients_of_length_zero_and_validation() -> None:
    assert C.sqrt_coefficients(0).shape == (0,)
    for bad in (-1, 2.5, math.nan, "3", C.MAX_SQRT_HORIZON + 1):
        with pytest.raises(DPKitError, match="n must"):
            C.sqrt_coefficients(bad)
    with pytest.raises(DPKitError, match="horizon"):
        C.tree_levels(-5)  # used to return 3


def test_counter_state_is_checked_against_the_params() -> None:
    p = C.CounterParams("tree", 8, noise_multiplier=1.0)
    st = C.init(p)
    with pytest.raises(DPKitError, match="state must be a CounterState"):
        C.step(p, 0.0, 0.5, 0)  # used to raise AttributeError
    with pytest.raises(DPKitError, match="state.partial"):
        C.step(p, st._replace(partial=np.full((2, 7), np.nan)), 0.5, 0)
    with pytest.raises(DPKitError, match=r"state\.t"):
        C.step(p, st._replace(t=-1), 0.5, 0)
    with pytest.raises(DPKitError, match="unit_noise"):
        C.advance(p, st, 0.5, np.zeros(3))  # used to be a numpy reshape ValueError


def test_expected_variance_refuses_values_that_would_wrap_in_int64() -> None:
    p = C.CounterParams("sqrt", 16, noise_multiplier=1.0)
    for t in (np.array([1e300]), np.array([2**63], dtype=np.uint64)):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # used to warn "invalid value encountered in cast"
            with pytest.raises(DPKitError, match="t must be an integer step"):
                C.expected_variance(p, t)


def test_selection_batch_output_is_bounded() -> None:
    p = SEL.SelectionParams("maxsum", "counters", 4, 2, 1.0)
    with pytest.raises(DPKitError, match="n must be <="):
        SEL.run_selection_batch(p, np.zeros((0, 2)), 2**63, 0)  # used to loop 2**63 times
    assert SEL.run_selection_batch(p, np.zeros((0, 2)), 3, 0).shape == (3, 0)


# ----------------------------------------------------------------------------- heavy hitters
def test_frequency_state_n_minus_five_is_refused() -> None:
    """FrequencyState(oracle, n=-5, ...) used to be accepted and to merge silently."""
    o = H.GRR(1.0, 4)
    good = H.aggregate(o, np.array([0, 1, 1, 3]))
    with pytest.raises(DPKitError, match="n must be >= 0"):
        H.FrequencyState(o, -5, good.counts)
    with pytest.raises(DPKitError, match="n must be a whole number"):
        H.FrequencyState(o, 2.5, good.counts)
    with pytest.raises(DPKitError, match="counts must be finite"):
        H.FrequencyState(o, 4, good.counts.astype(float) + np.nan)
    with pytest.raises(DPKitError, match=r"counts must have shape \(4,\)"):
        H.FrequencyState(o, 4, good.counts[:3])
    with pytest.raises(DPKitError, match="sum to n"):
        H.FrequencyState(o, 5, good.counts)
    with pytest.raises(DPKitError, match="counts must be >= 0"):
        H.FrequencyState(o, 0, np.array([1, -1, 0, 0]))
    with pytest.raises(DPKitError, match="different oracles"):
        H.merge(good, H.aggregate(H.GRR(2.0, 4), np.array([0])))
    assert H.merge(good, good).n == 8


def test_frequency_state_of_each_oracle_mode_is_validated() -> None:
    oue = H.OUE(1.0, 3)
    st = H.aggregate(oue, np.array([[1, 0, 1], [1, 1, 1]], dtype=np.uint8))
    assert H.FrequencyState(oue, 2, st.counts).n == 2
    with pytest.raises(DPKitError, match="<= n"):
        H.FrequencyState(oue, 1, st.counts)
    fresh = H.OLH(1.0, 8, num_hashes=None)
    st = H.aggregate(fresh, H.perturb(fresh, np.array([1, 2, 3]), 0, backend="numpy"))
    with pytest.raises(DPKitError, match="needs seeds and buckets"):
        H.FrequencyState(fresh, 3, st.counts)
    with pytest.raises(DPKitError, match="buckets must have n = 4"):
        H.FrequencyState(fresh, 4, st.counts, np.zeros(4, dtype=np.uint64), st.buckets)
    pool = H.OLH(1.0, 8, num_hashes=5)
    st = H.aggregate(pool, H.perturb(pool, np.array([1, 2, 3]), 0, backend="numpy"))
    with pytest.raises(DPKitError, match="only by an OLH state with num_hashes=None"):
        H.FrequencyState(pool, 3, st.counts, np.zeros(3, dtype=np.uint64), np.zeros(3))


def test_heavy_hitter_helpers_refuse_hostile_values() -> None:
    with pytest.raises(DPKitError, match="items must be in"):
        H.perturb(H.GRR(1.0, 2), np.array([1e308, -1e308]), 0, backend="numpy")  # cast warning
    with pytest.raises(DPKitError, match="num_chunks must be <="):
        H.chunk_rngs(0, 2**63)  # used to spawn for ever
    with pytest.raises(DPKitError, match="n must be <="):
        H.zipf_items(2**53 + 1, 8, 1.0, 0)  # used to exhaust memory
    with pytest.raises(DPKitError, match="found must be"):
        H.f1_score(0.0, [1])  # used to raise TypeError
    with pytest.raises(DPKitError, match="states"):
        H.tree_merge(0.0)
    assert H.max_log_ratio(H.GRR(1.0, 2), p=0.0, q=0.0) == -math.inf  # was a log(0) warning
    assert H.max_log_ratio(H.GRR(1.0, 2), p=0.5, q=0.0) == math.inf
    z = H.treehist_threshold(H.HeavyHitterParams(1.0, 8, 2, protocol="treehist", beta=5e-324),
                             2**40)
    assert math.isfinite(z) and z > 30  # 1 − p rounded to 1: StatisticsError before


# ----------------------------------------------------------------------------- others
def test_additive_inputs_and_sizes() -> None:
    with pytest.raises(DPKitError, match="2\\*\\*61"):
        A.discrete_laplace_mechanism(A.DiscreteLaplaceParams(1), 2**63, rng=0)  # IndexError
    with pytest.raises(DPKitError, match="array of integers"):
        A.discrete_gaussian_mechanism(A.DiscreteGaussianParams(1), [[1, 2], [3]], rng=0)
    with pytest.raises(DPKitError, match="MAX_DRAWS"):
        A.sample_discrete_laplace(1, 2**63, rng=0)  # used to run for ever


def test_rqm_smoothed_rr_bandits_kde_inputs() -> None:
    p = R.RQMParams(1.0, 1.0, 4, 0.5)
    for x in ("abc", 1 + 2j, np.array([1 + 1j, 2.0])):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the complex cast used to warn (ComplexWarning)
            with pytest.raises(DPKitError, match="x must be"):
                R.pmf(p, x)
    with pytest.raises(DPKitError, match="unreviewed_amplification must be True or False"):
        R.privacy_event(p, client_sample_rate=0.5, unreviewed_amplification=np.array([]))
    with pytest.raises(DPKitError, match="exact must be True or False"):
        S.privacy_event(S.SmoothedRRParams(1.0), exact=5e-324)
    with pytest.raises(DPKitError, match="orders"):
        S.rdp_exact(1.0, orders="x")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # overflow in exp, then NaN, before
        ll = SEQ.report_log_likelihood(-1, 1e12, -1, mechanism="smoothed", epsilon=2.0)
        assert np.isfinite(ll).all()
        assert np.isfinite(S.rdp_exact(1.0, [5e307])).all()
    with pytest.raises(DPKitError, match="exceeds the float range"):
        SEQ.asymptotic_constant(1.0, 1e12)  # OverflowError before
    with pytest.raises(DPKitError, match="params must be a BanditParams"):
        B.confidence_radius(None, 1)  # AttributeError before
    with pytest.raises(DPKitError, match="means must be"):
        B.matrix_environment(np.zeros((1, 1, 1, 1)), "abc")
    with pytest.raises(DPKitError, match="leaves must be"):
        K.ring_boundaries(1.0, 10**30)  # OverflowError before
    kp = K.KDEParams("l1", 1.0, 1.0, size_hint=4)
    with pytest.raises(DPKitError, match="queries must have shape"):
        K.exact_sums(kp, np.zeros((3, 2)), 1.0)  # IndexError before
    sk = K.sketch(kp, np.zeros((3, 2)), 0, backend="numpy")
    with pytest.raises(DPKitError, match="counts must have shape"):
        K.KDESketch(kp, 2, 0, 3, counts=np.zeros(3), sums=sk.sums)
    with pytest.raises(DPKitError, match="releases"):
        K.release_noise(sk, 0, 2**63)  # numpy "Maximum allowed dimension exceeded" before
