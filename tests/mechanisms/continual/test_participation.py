"""Multiple participations of the continual counters (spec §3.5): exact sensitivity tests.

Schema: one user contributes the items of at most κ steps, any two at least s steps apart.
The sensitivity is max over such patterns P of ‖Σ_{j∈P} C[:, j]‖ (ℓ2² for Gaussian noise, ℓ1
for the Laplace tree). Every check here builds C densely from its definition (dyadic nodes,
Toeplitz coefficients), independently of dpkit.mechanisms.continual.privacy, and enumerates
all feasible patterns by brute force. All tests are exact (no randomness other than drawing
test parameters from fixed seeds), so there is no false-alarm rate.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

import numpy as np
import pytest

from dpkit.accounting import Accountant
from dpkit.accounting.events import Gaussian, PureDP
from dpkit.errors import DPKitError
from dpkit.mechanisms import continual as C
from dpkit.mechanisms.continual import _strategy
from dpkit.mechanisms.continual import privacy as P


# ============================================================== independent helpers
def tree_strategy(T: int, all_nodes: bool) -> np.ndarray:
    """Released dyadic nodes (h, k) covering ((k−1)2^h, k·2^h], complete by T; odd k only for
    the plain tree (its streaming algorithm noises one node per step: the one that completes),
    every node for Honaker."""
    nodes = [(h, k) for h in range(T.bit_length()) for k in range(1, T // 2**h + 1)
             if all_nodes or k % 2 == 1]
    M = np.zeros((len(nodes), T))
    for i, (h, k) in enumerate(nodes):
        M[i, (k - 1) * 2**h:k * 2**h] = 1.0
    return M


def toeplitz(c: np.ndarray, T: int) -> np.ndarray:
    M = np.zeros((T, T))
    for j in range(T):
        M[j:, j] = c[:T - j]
    return M


def dense_strategy(p: C.CounterParams) -> np.ndarray:
    T = p.horizon
    if p.kind in ("tree", "honaker"):
        return tree_strategy(T, p.kind == "honaker")
    if p.kind == "sqrt":
        return toeplitz(np.array([math.comb(2 * k, k) / 4**k for k in range(T)]), T)
    th, om = np.array(p.blt_theta), np.array(p.blt_omega)
    c = np.array([1.0] + [float(np.sum(om * th ** (k - 1))) for k in range(1, T)])
    return toeplitz(c, T)


def patterns(T: int, kappa: int, s: int) -> Iterator[tuple[int, ...]]:
    """Every non-empty set of ≤ κ steps in 0..T−1 with pairwise gaps ≥ s."""
    def rec(start: int, left: int) -> Iterator[tuple[int, ...]]:
        if left == 0:
            yield ()
            return
        for j in range(start, T):
            for rest in rec(j + s, left - 1):
                yield (j, *rest)
    for m in range(1, kappa + 1):
        yield from rec(0, m)


def brute(M: np.ndarray, kappa: int, s: int) -> tuple[float, float, tuple[int, ...]]:
    """(max ℓ2², max ℓ1, an ℓ2-maximizing pattern) of Σ_{j∈P} M[:, j] over feasible P."""
    best2, best1, arg = -1.0, -1.0, ()
    for pat in patterns(M.shape[1], kappa, s):
        v = M[:, list(pat)].sum(axis=1)
        if v @ v > best2:
            best2, arg = float(v @ v), pat
        best1 = max(best1, float(np.abs(v).sum()))
    return best2, best1, arg


def params(kind: str, T: int, kappa: int = 1, s: int | None = None,
           **kw: object) -> C.CounterParams:
    return C.CounterParams(kind, T, noise_multiplier=1.0, participations=kappa,
                           min_separation=s, **kw)


# ============================================================== brute force, every kind
@pytest.mark.parametrize("kind", C.KINDS)
def test_sensitivity_equals_brute_force_small_T(kind: str) -> None:
    for T in range(1, 17):
        for kappa in (1, 2, 3):
            for s in range(1, T + 1):
                p = params(kind, T, kappa, s)
                M = dense_strategy(p)
                b2, b1, _ = brute(M, kappa, s)
                got = C.participation_sensitivity(p)
                assert got.exact
                assert got.l2_sq == pytest.approx(b2, rel=1e-12, abs=1e-12), (T, kappa, s)
                assert C.sensitivity_factor(p) ** 2 == pytest.approx(b2, rel=1e-12)
                if kind in ("tree", "honaker"):
                    assert got.l1 == b1, (T, kappa, s)
                    assert C.l1_sensitivity_factor(p) == b1


@pytest.mark.parametrize("kind", ["tree", "honaker"])
def test_tree_dp_equals_brute_force_larger_T(kind: str) -> None:
    for T, kappa in ((37, 3), (64, 2), (100, 2)):
        for s in (1, 2, 3, 5, 7, 11, 17, 30):
            p = params(kind, T, kappa, s)
            b2, b1, _ = brute(dense_strategy(p), kappa, s)
            got = C.participation_sensitivity(p)
            assert (got.l2_sq, got.l1, got.exact) == (b2, b1, True), (T, kappa, s)


def test_worst_items_are_equal_and_full_norm() -> None:
    # ‖Σ_j C[:,j] d_j‖² over d ∈ [−1, 1]^P is convex in d: its max is at a vertex. Every sign
    # vertex is checked: all-equal signs are the worst (CᵀC ≥ 0 entrywise for every kind).
    T, kappa, s = 12, 3, 2
    for kind in C.KINDS:
        M = dense_strategy(params(kind, T))
        assert np.all(M.T @ M >= 0)
        for pat in patterns(T, kappa, s):
            G = (M.T @ M)[np.ix_(pat, pat)]
            best = max(np.array(d) @ G @ np.array(d)
                       for d in itertools.product((-1.0, 1.0), repeat=len(pat)))
            assert best == pytest.approx(G.sum(), rel=1e-12)


# ============================================================== the earliest-pattern claim
def earliest_is_max(c: np.ndarray, T: int, kappa: int, s: int) -> tuple[float, float]:
    M = toeplitz(c, T)
    b2, _, _ = brute(M, kappa, s)
    early = list(range(0, T, s))[:kappa]
    v = M[:, early].sum(axis=1)
    return b2, float(v @ v)


def test_earliest_pattern_claim_for_monotone_toeplitz() -> None:
    # Used for sqrt and BLT: c_k ≥ 0 and c_1 ≥ c_2 ≥ … (c_0 free) ⇒ the earliest pattern
    # {1, 1+s, …} is a maximizer (proof in privacy.participation_sensitivity).
    rng = np.random.default_rng(5)
    for trial in range(60):
        T = int(rng.integers(2, 13))
        tail = np.sort(rng.random(T - 1))[::-1] * rng.uniform(0.1, 3.0)
        c = np.concatenate([[rng.uniform(0.0, 2.0)], tail])
        if trial % 3 == 0:
            c[0] = 0.5 * c[1]  # c_0 < c_1 is allowed (only the tail must be monotone)
        for kappa in (2, 3):
            for s in range(1, T):
                best, early = earliest_is_max(c, T, kappa, s)
                assert early == pytest.approx(best, rel=1e-12), (c, kappa, s)
    # the square root and BLTs (including Σω > 1, i.e. c_1 > c_0) satisfy the hypothesis
    c = C.sqrt_coefficients(64)
    assert np.all(c > 0) and np.all(np.diff(c) <= 0)
    for theta, omega in (C.blt_sqrt_parameters(64, 4), ((0.9, 0.5), (0.8, 0.9))):
        cb = C.blt_coefficients(theta, omega, 64)
        assert np.all(cb > 0) and np.all(np.diff(cb[1:]) <= 0)


def test_earliest_pattern_needs_monotone_columns() -> None:
    # CᵀC ≥ 0 alone is not enough (the spec's wording): c = (1, 0, 5) has C ≥ 0 but
    # {1, 3} beats the earliest {1, 2}.
    c = np.array([1.0, 0.0, 5.0])
    assert np.all(toeplitz(c, 3).T @ toeplitz(c, 3) >= 0)
    best, early = earliest_is_max(c, 3, 2, 1)
    assert (best, early) == (37.0, 27.0)
    # and the tree is not Toeplitz: at T = 16, κ = 2, s = 11 the earliest {1, 12} gives 9 but
    # {1, 13} gives 10 — so the tree kinds use the dynamic program, not this shortcut
    M = tree_strategy(16, all_nodes=False)
    b2, _, arg = brute(M, 2, 11)
    early = M[:, [0, 11]].sum(axis=1)
    assert (b2, float(early @ early), arg) == (10.0, 9.0, (0, 12))
    assert C.participation_sensitivity(params("tree", 16, 2, 11)).l2_sq == 10.0


def test_toeplitz_closed_forms_against_dense() -> None:
    rng = np.random.default_rng(11)
    for _ in range(25):
        b = int(rng.integers(1, 5))
        theta = tuple(rng.uniform(0.05, 0.99, b).tolist())
        omega = tuple(rng.uniform(0.05, 1.5, b).tolist())
        T = int(rng.integers(2, 300))
        s = int(rng.integers(1, T + 1))
        kappa = int(rng.integers(1, T + 1))
        m = P.effective_participations(T, kappa, s)
        M = toeplitz(C.blt_coefficients(theta, omega, T), T)
        v = M[:, [i * s for i in range(m)]].sum(axis=1)
        assert P.blt_pattern_norm_sq(theta, omega, T, kappa, s) == pytest.approx(v @ v,
                                                                                  rel=1e-11)
    T = 1000
    M = toeplitz(C.sqrt_coefficients(T), T)
    for kappa, s in ((2, 1), (5, 37), (40, 25), (3, 999)):
        v = M[:, [i * s for i in range(P.effective_participations(T, kappa, s))]].sum(axis=1)
        p = params("sqrt", T, kappa, s)
        assert C.participation_sensitivity(p).l2_sq == pytest.approx(v @ v, rel=1e-12)


# ============================================================== κ = 1 is today's statement
@pytest.mark.parametrize("kind", C.KINDS)
def test_single_participation_reproduces_event_level(kind: str) -> None:
    for T in (1, 5, 16, 1000, 2**20):
        base = C.CounterParams(kind, T, noise_multiplier=0.7)
        for kw in ({"participations": 1}, {"participations": 1, "min_separation": 3},
                   {"participations": 4, "min_separation": T}):  # κ_eff = 1
            p = C.CounterParams(kind, T, noise_multiplier=0.7, **kw)  # type: ignore[arg-type]
            assert p.effective_participations == 1
            assert C.sensitivity_factor(p) == C.sensitivity_factor(base)
            assert p.privacy_event() == base.privacy_event()
            assert p.rho == base.rho
    if kind in ("tree", "honaker"):
        lap = C.CounterParams(kind, 2**20, epsilon=1.0, relation="add_remove")
        assert lap.laplace_scale == 21.0  # b = L·Δ/ε, spec §7.1
        assert C.participation_sensitivity(lap).method == "single"
    want = {"tree": 21.0, "honaker": 21.0, "sqrt": C.sqrt_column_norm_sq(2**20)}.get(kind)
    if want is not None:
        assert C.sensitivity_factor(C.CounterParams(kind, 2**20, noise_multiplier=1.0)) ** 2 \
            == pytest.approx(want, rel=1e-15)


# ============================================================== privacy events
@pytest.mark.parametrize("kind", C.KINDS)
def test_event_matches_brute_force_rho(kind: str) -> None:
    T, kappa, s, rho = 16, 3, 4, 0.3
    p = C.CounterParams.for_rho(kind, T, rho, participations=kappa, min_separation=s,
                                relation="add_remove")
    b2, _, _ = brute(dense_strategy(p), kappa, s)
    ev = p.privacy_event()
    assert isinstance(ev, Gaussian)
    assert b2 / (2 * p.noise_multiplier**2) == pytest.approx(rho, rel=1e-12)  # type: ignore[operator]
    assert ev.rdp(np.array([2.0, 7.5])) == pytest.approx(np.array([2.0, 7.5]) * rho, rel=1e-12)
    assert p.rho == pytest.approx(rho, rel=1e-12)
    eps = Accountant().compose(ev).epsilon(1e-6)
    assert math.isfinite(eps) and eps > 0


@pytest.mark.parametrize("kind", ["tree", "honaker"])
def test_laplace_event_under_participations(kind: str) -> None:
    T, kappa, s = 16, 2, 3
    p = C.CounterParams(kind, T, epsilon=0.8, participations=kappa, min_separation=s,
                        relation="replace_one", bound=0.5)
    _, b1, _ = brute(dense_strategy(p), kappa, s)
    assert p.laplace_scale == pytest.approx(b1 * 1.0 / 0.8, rel=1e-14)  # Δ = 2·0.5
    ev = p.privacy_event()
    assert isinstance(ev, PureDP)
    assert ev.epsilon_inf() == pytest.approx(0.8, rel=1e-12)


# ============================================================== large T: speed and soundness
def test_large_horizons_are_computed() -> None:
    # DP-FTRL-like schemas: κ epochs of s steps. The Toeplitz kinds are exact at any T (O(T)
    # for sqrt, O(κ·b²) for BLT); the tree program is exact within its work budget.
    p = params("blt", 2**40, 1000, 2**30)
    assert C.participation_sensitivity(p).exact
    p = params("tree", 2**20, 1000, 1)
    res = C.participation_sensitivity(p)
    assert res.exact and res.participations == 1000
    assert params("sqrt", 2**20, 16, 2**16).privacy_event().rdp(np.array([2.0]))[0] > 0


def test_relaxed_tree_bounds_are_sound(monkeypatch: pytest.MonkeyPatch) -> None:
    cases = [("tree", 64, 3, 9), ("honaker", 100, 2, 30), ("tree", 200, 2, 45)]
    exact = {c: C.participation_sensitivity(params(*c)) for c in cases}
    assert all(r.exact for r in exact.values())
    _strategy._participation_sensitivity.cache_clear()
    monkeypatch.setattr(_strategy, "TREE_DP_BUDGET", 200)  # forces the relaxed program
    for c in cases:
        r = C.participation_sensitivity(params(*c))
        assert not r.exact and r.method in ("tree-dp-relaxed", "cap-bound")
        assert r.l2_sq >= exact[c].l2_sq and r.l1 >= exact[c].l1
    _strategy._participation_sensitivity.cache_clear()
    monkeypatch.setattr(_strategy, "TREE_DP_BUDGET", 0)  # forces the per-height cap bound
    for c in cases:
        r = C.participation_sensitivity(params(*c))
        assert r.method == "cap-bound"
        assert r.l2_sq >= exact[c].l2_sq and r.l1 >= exact[c].l1
    _strategy._participation_sensitivity.cache_clear()


# ============================================================== validation
def test_bad_participation_schema_is_named() -> None:
    bad = [({"participations": 0}, "participations"),
           ({"participations": 2**20 + 1}, "participations"),
           ({"participations": -3}, "participations"),
           ({"participations": 2.5}, "participations"),
           ({"participations": 2, "min_separation": 0}, "min_separation"),
           ({"participations": 2, "min_separation": -1}, "min_separation"),
           ({"participations": 2, "min_separation": "4"}, "min_separation")]
    for kw, name in bad:
        with pytest.raises(DPKitError, match=name):
            C.CounterParams("tree", 16, noise_multiplier=1.0, **kw)  # type: ignore[arg-type]
    p = C.CounterParams("sqrt", 16, noise_multiplier=1.0, participations=3)
    assert p.separation == 1 and p.effective_participations == 3
    assert C.CounterParams("sqrt", 16, noise_multiplier=1.0, participations=9,
                           min_separation=4).effective_participations == 4
    assert C.CounterParams("sqrt", 16, noise_multiplier=1.0, participations=99,
                           min_separation=40).effective_participations == 1


def implementation_response(p: C.CounterParams) -> np.ndarray:
    """The implementation's linear map from unit noise to y (zero stream), column by column."""
    n = C.total_noise_rows(p, p.horizon)
    cols = [C.run_with_noise(p, np.zeros(p.horizon), np.eye(n)[:, j]) for j in range(n)]
    return np.stack(cols, axis=1) / p.noise_scale


@pytest.mark.parametrize("kind", C.KINDS)
def test_release_distance_matches_sensitivity(kind: str) -> None:
    # Second route, through the released vector y = A x + noise_scale·R z of the running
    # implementation: neighbours with the user's items at P shift the mean by μ = A·1_P, and
    # the Gaussian privacy loss is set by μᵀ(RRᵀ)^{-1}μ. Maximized over feasible P it equals
    # the strategy's sens² when B is invertible (tree, sqrt, BLT), and is at most sens² for
    # Honaker (a lossy post-processing of all nodes).
    T = 16
    p = params(kind, T)
    R = implementation_response(p)
    cov_inv = np.linalg.inv(R @ R.T)
    A = np.tril(np.ones((T, T)))
    for kappa, s in ((2, 1), (2, 5), (3, 3)):
        best = max(float(A[:, list(pat)].sum(axis=1) @ cov_inv @ A[:, list(pat)].sum(axis=1))
                   for pat in patterns(T, kappa, s))
        sens = C.participation_sensitivity(params(kind, T, kappa, s)).l2_sq
        if kind == "honaker":
            assert best <= sens * (1 + 1e-9)
        else:
            assert best == pytest.approx(sens, rel=1e-9), (kappa, s)
