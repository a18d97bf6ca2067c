"""Continual-release counters (dpkit.mechanisms.continual): exact and statistical tests.

Anchors are the spec's §7.1 values (T = 2^20, ρ = 0.5, unit item change; Laplace ε = 1).
"Explicit matrix" checks build the factorization A = B·C from its definition (dyadic nodes,
Toeplitz coefficients) independently of the streaming code, and compare with the linear
response of the implementation and with the closed-form variances.

Statistical tests use fixed seeds; each states its false-alarm rate (the chance that a correct
implementation fails at a fresh seed).
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

import numpy as np
import pytest
from scipy import stats

from dpkit.accounting import Accountant
from dpkit.errors import DPKitError
from dpkit.mechanisms import continual as C

T20 = 2**20


def rho_params(kind: str, horizon: int, rho: float = 0.5, **kw: object) -> C.CounterParams:
    return C.CounterParams.for_rho(kind, horizon, rho, relation="add_remove", **kw)


# ============================================================== §7.1 exact anchors (1e-9)
def test_tree_anchors() -> None:
    p = rho_params("tree", T20)
    assert p.levels == 21
    assert p.noise_std**2 == pytest.approx(21.0, rel=1e-12)
    assert C.max_variance(p) == pytest.approx(420.0, rel=1e-12)
    assert C.expected_variance(p, T20 - 1) == pytest.approx(420.0, rel=1e-12)
    mean_pop = np.mean([bin(t).count("1") for t in range(1, T20 + 1)])
    ts = np.arange(1, T20 + 1)
    assert np.mean(C.expected_variance(p, ts)) == pytest.approx(21.0 * mean_pop, rel=1e-12)
    assert 21.0 * mean_pop == pytest.approx(210.0, abs=1e-3)


def test_honaker_anchors() -> None:
    p = rho_params("honaker", T20)
    fr = [Fraction(2**h, 2 ** (h + 1) - 1) for h in range(20)]
    assert [float(f) for f in fr[:5]] == pytest.approx([1, 2 / 3, 4 / 7, 8 / 15, 16 / 31],
                                                       rel=1e-15)
    exact = 21 * sum(fr)  # max over t ≤ 2^20: t = 2^20 − 1 (all 20 low bits)
    assert C.max_variance(p) == pytest.approx(float(exact), rel=1e-12)
    assert C.max_variance(p) == pytest.approx(226.870, abs=5e-4)
    assert float(sum(fr)) == pytest.approx(10.803347, abs=1e-6)
    # variance at t = Σ over set bits of v_h
    for t in (1, 2, 3, 12, 1023, 2**19):
        want = 21 * sum(fr[h] for h in range(21) if (t >> h) & 1)
        assert C.expected_variance(p, t) == pytest.approx(float(want), rel=1e-12)


def test_sqrt_anchors() -> None:
    c = C.sqrt_coefficients(6)
    assert c.tolist() == [1, 0.5, 0.375, 0.3125, 0.2734375, 0.24609375]
    for k in range(40):  # c_k = binom(2k, k)/4^k exactly
        assert C.sqrt_coefficients(40)[k] == pytest.approx(math.comb(2 * k, k) / 4**k, rel=1e-14)
    assert C.sqrt_column_norm_sq(2**10) == pytest.approx(3.272554, abs=1e-6)
    assert C.sqrt_column_norm_sq(2**16) == pytest.approx(4.596444, abs=1e-6)
    g = C.sqrt_column_norm_sq(T20)
    assert g == pytest.approx(5.478988, abs=1e-6)
    p = rho_params("sqrt", T20)
    assert p.noise_std**2 == pytest.approx(g, rel=1e-12)
    assert C.max_variance(p) == pytest.approx(g * g, rel=1e-12)
    assert C.max_variance(p) == pytest.approx(30.0193, abs=1e-4)
    mean_var = np.mean(C.expected_variance(p, np.arange(1, T20 + 1)))
    assert mean_var == pytest.approx(28.275, abs=1e-3)


def test_laplace_tree_anchor() -> None:
    p = C.CounterParams("tree", T20, epsilon=1.0, relation="add_remove")
    assert p.laplace_scale == pytest.approx(21.0, rel=1e-14)
    assert C.max_variance(p) == pytest.approx(17640.0, rel=1e-12)
    assert p.privacy_event().epsilon_inf() == pytest.approx(1.0, rel=1e-12)


def test_sqrt_coefficients_square_to_all_ones() -> None:
    # Σ_{i≤k} c_i c_{k−i} = 1 for all k, i.e. C·C = A (T = 4096)
    T = 4096
    c = C.sqrt_coefficients(T)
    conv = np.convolve(c, c)[:T]
    np.testing.assert_allclose(conv, 1.0, rtol=0, atol=1e-12)
    # G(T) vs its asymptotic expansion (ln T + γ + 4 ln 2)/π
    for k in (16, 20):  # the o(1) remainder is about 0.08/T
        asym = (math.log(2**k) + np.euler_gamma + 4 * math.log(2)) / math.pi
        assert abs(C.sqrt_column_norm_sq(2**k) - asym) < 1e-5


# ============================================================== explicit matrices
def tree_matrices(T: int, all_nodes: bool) -> tuple[np.ndarray, np.ndarray, list]:
    """Dyadic nodes (h, k) covering ((k−1)2^h, k·2^h] that complete by T; C: node × item
    membership; B: prefix t ↦ nodes (h, ⌊t/2^h⌋) for the set bits h of t."""
    nodes = [(h, k) for h in range(T.bit_length()) for k in range(1, T // 2**h + 1)
             if all_nodes or k % 2 == 1]
    Cm = np.zeros((len(nodes), T))
    for i, (h, k) in enumerate(nodes):
        Cm[i, (k - 1) * 2**h:k * 2**h] = 1.0
    Bm = np.zeros((T, len(nodes)))
    for t in range(1, T + 1):
        for h in range(T.bit_length()):
            if (t >> h) & 1:
                Bm[t - 1, nodes.index((h, t >> h))] = 1.0
    return Bm, Cm, nodes


def response(p: C.CounterParams, T: int) -> np.ndarray:
    """The implementation's linear map from unit noise to y (zero stream), column by column."""
    n = C.total_noise_rows(p, T)
    cols = [C.run_with_noise(p, np.zeros(T), np.eye(n)[:, j]) for j in range(n)]
    return np.stack(cols, axis=1) / p.noise_scale


@pytest.mark.parametrize("T", [1, 2, 5, 16, 37, 64])
def test_tree_sensitivity_brute_force(T: int) -> None:
    for all_nodes in (False, True):
        Bm, Cm, _ = tree_matrices(T, all_nodes)
        A = np.tril(np.ones((T, T)))
        np.testing.assert_array_equal(Bm @ Cm, A)  # the tree is a factorization of A
        colsq = (Cm**2).sum(axis=0)
        assert colsq.max() == C.tree_levels(T) == T.bit_length()
    # the streaming tree releases exactly these nodes: its noise response is B (node order =
    # completion order = step order)
    p = C.CounterParams("tree", T, noise_multiplier=1.0)
    Bm, Cm, nodes = tree_matrices(T, all_nodes=False)
    order = np.argsort([k * 2**h for h, k in nodes])
    np.testing.assert_allclose(response(p, T), Bm[:, order], atol=1e-12)


@pytest.mark.parametrize("kind", C.KINDS)
def test_variance_matches_explicit_matrices(kind: str) -> None:
    T = 64
    p = C.CounterParams(kind, T, noise_multiplier=1.7, bound=0.5)
    R = response(p, T)
    closed = C.expected_variance(p, np.arange(1, T + 1))
    np.testing.assert_allclose(closed, p.noise_std**2 * (R**2).sum(axis=1), rtol=1e-9)
    A = np.tril(np.ones((T, T)))
    if kind == "sqrt":
        Cm = A.copy()
        c = C.sqrt_coefficients(T)
        Cm = np.array([[c[i - j] if i >= j else 0.0 for j in range(T)] for i in range(T)])
        np.testing.assert_allclose(R, Cm, atol=1e-12)
        np.testing.assert_allclose(Cm @ Cm, A, atol=1e-12)
    if kind == "blt":
        c = C.blt_coefficients(p.blt_theta, p.blt_omega, T)
        Cm = np.array([[c[i - j] if i >= j else 0.0 for j in range(T)] for i in range(T)])
        np.testing.assert_allclose(R, A @ np.linalg.inv(Cm), atol=1e-9)
        np.testing.assert_allclose(R @ Cm, A, atol=1e-9)
    if kind == "honaker":  # post-processing of all-node tree values: R = W·(noise rows)
        assert R.shape == (T, C.total_noise_rows(p, T))


@pytest.mark.parametrize("T", [1, 2, 100, 4096])
def test_blt_sensitivity_closed_form_vs_dense(T: int) -> None:
    for b in (1, 3, 8):
        th, om = C.blt_sqrt_parameters(max(T, 2), b)
        c = C.blt_coefficients(th, om, T)
        Cm = np.array([[c[i - j] if i >= j else 0.0 for j in range(T)]
                       for i in range(T)]) if T <= 100 else None
        dense = (Cm**2).sum(axis=0).max() if Cm is not None else (c**2).sum()
        assert C.blt_column_norm_sq(th, om, T) == pytest.approx(dense, rel=1e-12)
    # b = 1: c_k = ω θ^{k−1}
    c1 = C.blt_coefficients([0.5], [0.25], 6)
    np.testing.assert_allclose(c1, [1, 0.25, 0.125, 0.0625, 0.03125, 0.015625])


def test_blt_streaming_multiply_and_inverse() -> None:
    # the C^{-1} recursion of the noise generator inverts the dense C exactly
    T = 200
    p = C.CounterParams("blt", T, noise_multiplier=1.0, blt_buffers=4)
    c = C.blt_coefficients(p.blt_theta, p.blt_omega, T)
    Cm = np.array([[c[i - j] if i >= j else 0.0 for j in range(T)] for i in range(T)])
    z = np.random.default_rng(5).standard_normal(T)
    y = C.run_with_noise(p, np.zeros(T), z) / p.noise_scale  # = A C^{-1} z
    zeta = np.diff(np.concatenate([[0.0], y]))
    np.testing.assert_allclose(Cm @ zeta, z, atol=1e-10)


def test_blt_close_to_sqrt_at_2_20() -> None:
    sq = C.max_variance(rho_params("sqrt", T20))
    bl = C.max_variance(rho_params("blt", T20))
    assert 1.0 <= bl / sq <= 1.02  # the default 8-buffer BLT is within 2 % of the square root


def test_blt_variance_closed_form_vs_recursion_large_t() -> None:
    T = 2**16
    p = C.CounterParams("blt", T, noise_multiplier=1.0)
    y = C.run_with_noise(p, np.zeros(T), np.r_[1.0, np.zeros(T - 1)], backend="numba")
    e = y / p.noise_scale  # impulse response of A C^{-1}: the coefficients e_k
    want = np.cumsum(e**2)
    ts = np.array([1, 2, 10, 1000, 12345, T])
    np.testing.assert_allclose(C.expected_variance(p, ts) / p.noise_std**2, want[ts - 1],
                               rtol=1e-9)


def test_honaker_deterministic_oracle() -> None:
    # constant-1 noise and zero data: height-h estimate (h+1)·2^h/(2^{h+1}−1) (spec §2.4)
    T = 2**11
    p = C.CounterParams("honaker", T, noise_multiplier=1.0, relation="add_remove")
    for backend in ("numpy", "numba"):
        y = C.run_with_noise(p, np.zeros(T), np.ones(C.total_noise_rows(p, T)), backend=backend)
        est = [float(Fraction(h + 1) * 2**h / (2 ** (h + 1) - 1)) for h in range(12)]
        for h in range(12):
            assert y[2**h - 1] == pytest.approx(est[h], rel=1e-12)
        assert y[2] == pytest.approx(4 / 3 + 1, rel=1e-12)
        assert y[2**10 - 1] == pytest.approx(11 / (2 - 2**-10), rel=1e-12)


# ============================================================== privacy events
@pytest.mark.parametrize("kind", C.KINDS)
def test_privacy_event_matches_independent_rho(kind: str) -> None:
    T = 300
    p = C.CounterParams(kind, T, noise_multiplier=2.5, bound=1.0)  # replace: Δ = 2
    if kind in ("tree", "honaker"):
        _, Cm, _ = tree_matrices(T, all_nodes=kind == "honaker")
        s2 = (Cm**2).sum(axis=0).max()
    elif kind == "sqrt":
        c = C.sqrt_coefficients(T)
        s2 = sum(float(c[k]) ** 2 for k in range(T))
    else:
        c = C.blt_coefficients(p.blt_theta, p.blt_omega, T)
        s2 = float(np.sum(c**2))
    # noise std σΔ on a query of ℓ2 sensitivity Δ·s: ρ = (Δs)²/(2(σΔ)²) = s²/(2σ²)
    rho = (p.sensitivity**2 * s2) / (2 * p.noise_std**2)
    orders = np.array([1.5, 2.0, 8.0, 64.0])
    np.testing.assert_allclose(p.privacy_event().rdp(orders), rho * orders, rtol=1e-12)
    assert p.rho == pytest.approx(rho, rel=1e-12)
    q = C.CounterParams.for_rho(kind, T, 0.37)
    assert q.rho == pytest.approx(0.37, rel=1e-12)


def test_laplace_events() -> None:
    p = C.CounterParams("honaker", 1000, epsilon=0.8, bound=1.0)  # replace: Δ = 2, L = 10
    assert p.laplace_scale == pytest.approx(10 * 2 / 0.8)
    ev = p.privacy_event()
    assert ev.epsilon_inf() == pytest.approx(0.8, rel=1e-12)
    assert Accountant().compose(ev).epsilon(0.0) <= 0.8 + 1e-9
    pv = C.CounterParams("tree", 1000, epsilon=0.8, dimension=3)
    assert pv.privacy_event().epsilon_inf() == pytest.approx(0.8, rel=1e-12)


# ============================================================== kernels = reference
@pytest.mark.parametrize("kind", ["tree", "honaker", "blt"])
@pytest.mark.parametrize("d", [1, 3])
def test_numba_equals_reference_given_noise(kind: str, d: int) -> None:
    T = 333
    p = C.CounterParams(kind, 500, noise_multiplier=1.3, dimension=d)
    g = np.random.default_rng(11)
    xs = g.uniform(-0.5, 0.5, (T, d)) if d > 1 else g.uniform(-1, 1, T)
    z = g.standard_normal((C.total_noise_rows(p, T), d))
    np.testing.assert_allclose(C.run_with_noise(p, xs, z, backend="numba"),
                               C.run_with_noise(p, xs, z, backend="numpy"), atol=1e-11)


def test_sqrt_fft_equals_streaming_steps() -> None:
    T = 257
    p = C.CounterParams("sqrt", T, noise_multiplier=0.9, dimension=2, bound=3.0)
    g = np.random.default_rng(2)
    xs = g.uniform(-2, 2, (T, 2))
    z = g.standard_normal((T, 2))
    state = C.init(p)
    ys = []
    for i in range(T):
        state, y = C.advance(p, state, xs[i], z[i])
        ys.append(y)
    np.testing.assert_allclose(np.array(ys), C.run_with_noise(p, xs, z), atol=1e-11)


# ============================================================== statistical law tests
def chi2_var_pvalue(err: np.ndarray, var: float) -> float:
    """Two-sided p-value of the sample variance (known mean 0) against var."""
    n = err.size
    s = float(np.sum(err**2) / var)
    cdf = stats.chi2.cdf(s, n)
    return 2 * min(cdf, 1 - cdf)


MC_CASES = [(k, "gaussian") for k in C.KINDS] + [("tree", "laplace"), ("honaker", "laplace")]


@pytest.mark.parametrize("kind, noise", MC_CASES, ids=[f"{k}-{n}" for k, n in MC_CASES])
def test_monte_carlo_unbiased_and_variance(kind: str, noise: str) -> None:
    # R independent runs at once: a d = R dimensional stream has independent coordinates with
    # the law of the scalar counter. 6 kinds×noises × 4 steps × 2 tests: Bonferroni over 64
    # tests at 1e-4 each ⇒ false-alarm rate ≤ 6.4e-3 for the whole test (at fresh seeds).
    T, R = 1000, 4000
    kw = {"noise_multiplier": 1.0} if noise == "gaussian" else {"epsilon": 2.0}
    p = C.CounterParams(kind, T, dimension=R, bound=1e9, **kw)
    g = np.random.default_rng(2024)
    xs = np.tile(g.uniform(-1, 1, (T, 1)), (1, R))
    y = C.run(p, xs, g, backend="numba")
    err = y - np.cumsum(xs, axis=0)
    for t in (1, 7, 512, 1000):
        v = C.expected_variance(p, t)
        e = err[t - 1]
        if noise == "gaussian":
            assert chi2_var_pvalue(e, v) > 1e-4, (t, e.var(), v)
        else:  # Laplace sums are not χ²: compare the variance with a normal approximation
            m4 = np.mean(e**4)
            z = (np.mean(e**2) - v) / math.sqrt((m4 - v * v) / R)
            assert abs(z) < 3.9, (t, e.var(), v)
        assert abs(e.mean()) < 3.9 * math.sqrt(v / R)


def test_reference_step_loop_law() -> None:
    # the numpy step()-by-step reference: KS test of standardized errors at t = 6 (popcount 2)
    # against N(0, 1); false-alarm rate 1e-4 per kind.
    T, R = 8, 600
    for kind in C.KINDS:
        p = C.CounterParams(kind, T, noise_multiplier=1.5)
        g = np.random.default_rng(7)
        errs = []
        for _ in range(R):
            state = C.init(p)
            for _ in range(6):
                state, y = C.step(p, state, 0.25, g)
            errs.append(y - 1.5)
        sd = math.sqrt(C.expected_variance(p, 6))
        assert stats.kstest(np.array(errs) / sd, "norm").pvalue > 1e-4


def test_max_error_tail_bound() -> None:
    # P(max_t |err_t| > sd_max·√(2 ln(2T/β))) ≤ β (union bound); β = 0.01, 20 runs: the chance
    # that a correct counter exceeds it in ≥ 3 runs is < 1.1e-3.
    T, runs, beta = 2**14, 20, 0.01
    for kind in C.KINDS:
        p = rho_params(kind, T)
        thr = math.sqrt(C.max_variance(p)) * math.sqrt(2 * math.log(2 * T / beta))
        g = np.random.default_rng(3)
        exceed = 0
        for _ in range(runs):
            y = C.run(p, np.zeros(T), g, backend="numba")
            exceed += int(np.max(np.abs(y)) > thr)
        assert exceed <= 2


# ============================================================== memory, purity, streaming
def test_streaming_tree_memory_is_logarithmic() -> None:
    for T in (2**10, 2**20, 2**40):
        for kind in ("tree", "honaker"):
            p = C.CounterParams(kind, T, noise_multiplier=1.0, dimension=4)
            state = C.init(p)
            L = T.bit_length()
            assert state.partial.shape == (L, 4) and state.nodes.shape == (L, 4)
            assert state.size == 2 * L * 4 + 2 * 4  # O(L·d) floats, nothing grows with T
        pb = C.CounterParams("blt", T, noise_multiplier=1.0, dimension=4, blt_buffers=5)
        assert C.init(pb).size == 5 * 4 + 2 * 4
    # the state does not grow while streaming
    p = C.CounterParams("tree", 2**20, noise_multiplier=1.0)
    state = C.init(p)
    g = np.random.default_rng(0)
    for _ in range(100):
        state, _ = C.step(p, state, 0.5, g)
    assert state.size == C.init(p).size


def test_step_is_pure_and_state_immutable() -> None:
    p = C.CounterParams("honaker", 16, noise_multiplier=1.0)
    s0 = C.init(p)
    s1, y1 = C.step(p, s0, 0.5, 42)
    s1b, y1b = C.step(p, s0, 0.5, 42)
    assert y1 == y1b and s0.t == 0 and not np.any(s0.nodes)
    with pytest.raises(ValueError):
        s1.nodes[0, 0] = 1.0
    np.testing.assert_array_equal(s1.nodes, s1b.nodes)


def test_adaptive_stream_through_step() -> None:
    # items chosen from past outputs are accepted (the statement covers adaptive streams)
    p = C.CounterParams("blt", 50, noise_multiplier=1.0, clip=True)
    state, y = C.init(p), 0.0
    g = np.random.default_rng(1)
    for _ in range(50):
        state, y = C.step(p, state, np.sign(y) * 2.0, g)  # clipped to ±1
    assert state.t == 50


# ============================================================== bad input
def test_bad_parameters_are_named() -> None:
    cases = [
        (dict(kind="trie", horizon=8, noise_multiplier=1.0), "kind"),
        (dict(kind="tree", horizon=0, noise_multiplier=1.0), "horizon"),
        (dict(kind="tree", horizon=2**41, noise_multiplier=1.0), "horizon"),
        (dict(kind="tree", horizon=8), "exactly one"),
        (dict(kind="tree", horizon=8, noise_multiplier=1.0, epsilon=1.0), "exactly one"),
        (dict(kind="tree", horizon=8, noise_multiplier=float("nan")), "noise_multiplier"),
        (dict(kind="sqrt", horizon=8, epsilon=1.0), "epsilon"),
        (dict(kind="tree", horizon=8, noise_multiplier=1.0, bound=-1), "bound"),
        (dict(kind="tree", horizon=8, noise_multiplier=1.0, dimension=0), "dimension"),
        (dict(kind="tree", horizon=8, noise_multiplier=1.0, neighbours="add"), "neighbours"),
        (dict(kind="sqrt", horizon=2**26, noise_multiplier=1.0), "horizon*dimension"),
        (dict(kind="blt", horizon=8, noise_multiplier=1.0, blt_theta=(1.5,), blt_omega=(0.1,)),
         "blt_theta"),
        (dict(kind="tree", horizon=2**40, noise_multiplier=1.0, bound=1e300), "bound*horizon"),
        (dict(kind="tree", horizon=8, noise_multiplier=1e-320), "noise_std"),
    ]
    for kw, name in cases:
        with pytest.raises(DPKitError, match=re.escape(name)):
            C.CounterParams(**kw)  # type: ignore[arg-type]


def test_bad_stream_values() -> None:
    p = C.CounterParams("tree", 8, noise_multiplier=1.0)
    with pytest.raises(DPKitError, match="stream must be finite"):
        C.run(p, [0.0, np.nan], 0)
    with pytest.raises(DPKitError, match="bound"):
        C.run(p, [0.0, 1.5], 0)
    with pytest.raises(DPKitError, match="horizon"):
        C.run(p, np.zeros(9), 0)
    with pytest.raises(DPKitError, match="x must be finite"):
        C.step(p, C.init(p), np.inf, 0)
    state = C.init(p)
    for _ in range(8):
        state, _ = C.step(p, state, 1.0, 0)
    with pytest.raises(DPKitError, match="beyond horizon"):
        C.step(p, state, 1.0, 0)
    with pytest.raises(DPKitError, match="t must be"):
        C.expected_variance(p, 9)
    pv = C.CounterParams("tree", 8, noise_multiplier=1.0, dimension=2)
    with pytest.raises(DPKitError, match="shape"):
        C.run(pv, np.zeros((4, 3)), 0)


def test_clip_scales_items_onto_the_bound() -> None:
    p = C.CounterParams("tree", 4, noise_multiplier=1e-9, dimension=2, clip=True, bound=1.0)
    y = C.run(p, np.array([[3.0, 4.0], [0.3, 0.4]]), 0, backend="numpy")
    np.testing.assert_allclose(y[-1], [0.6 + 0.3, 0.8 + 0.4], atol=1e-6)
