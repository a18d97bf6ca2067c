"""The PLD engine's O(n) passes: numba kernels against their numpy references, references
against direct formulas, and the engine's value unchanged by the choice."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dpkit.accounting import pld
from dpkit.accounting.pld import _kernels as K

numba_installed = pytest.mark.skipif(not K.available("numba"), reason="numba not installed")


def _numba(name: str):
    """The numba kernel ``name`` itself, whatever ``DPKIT_PLD_KERNELS`` says (so that a run
    forcing the references still compares the kernels against them)."""
    if not K._NUMBA:
        K._build_numba()
    return K._NUMBA[name]


@numba_installed
@pytest.mark.parametrize("size", [1, 2, 7, 5000])
def test_grid_deltas_kernel_is_the_reference_bit_for_bit(size):
    rng = np.random.default_rng(size)
    p = rng.random(size) ** 8  # spread over many magnitudes
    p.setflags(write=False)  # the engine's masses are read-only
    K._build_numba()
    for a in (math.exp(-1e-4), math.exp(-0.3)):
        got = K._NUMBA["grid_deltas"](p, a)
        want = K.grid_deltas_reference(p, a)
        for g, w in zip(got, want, strict=True):
            assert np.array_equal(g, w)


def test_grid_deltas_reference_is_delta_at_the_grid_losses():
    rng = np.random.default_rng(1)
    p = rng.random(40)
    step = 0.05
    d, s0, u = K.grid_deltas_reference(p, math.exp(-step))
    losses = step * np.arange(p.size)
    for j in (0, 13, 39):
        direct = sum(p[i] * (1 - math.exp(losses[j] - losses[i])) for i in range(j + 1, p.size))
        assert d[j] == pytest.approx(direct, rel=1e-12, abs=1e-15)
        assert s0[j] == pytest.approx(p[j:].sum(), rel=1e-13)
        assert u[j] == pytest.approx(sum(p[i] * math.exp(-step * (i - j))
                                         for i in range(j, p.size)), rel=1e-12)


def test_untilt_reference_reads_the_cyclic_window_and_trims_from_the_top():
    rng = np.random.default_rng(2)
    n, keep, start, lo = 64, 50, 40, -7
    r = rng.random(n) - 0.1  # some negative entries: clipped to 0 before η
    eta, k_tot, lam_step = 1e-9, 0.3, 0.02
    direct = np.array([math.exp(math.log(max(r[(start + i) % n], 0.0) + eta) + k_tot
                                - lam_step * (lo + i)) for i in range(keep)])
    total = float(direct[20:].sum())  # the trim keeps entries ≥ 20 (up to rounding)
    m, j0, added = K.untilt_reference(r, start, keep, eta, k_tot, lam_step, lo, 50.0,
                                      total * (1 - 1e-12))
    assert j0 == 20 and added == 0.0
    np.testing.assert_allclose(m, direct[20:], rtol=1e-13)
    # a total above the window's mass: nothing trimmed, the shortfall lumped at the bottom
    m2, j2, added2 = K.untilt_reference(r, start, keep, eta, k_tot, lam_step, lo, 50.0,
                                        2 * float(direct.sum()))
    assert j2 == 0 and added2 == pytest.approx(float(direct.sum()), rel=1e-12)
    assert m2[0] == pytest.approx(direct[0] + added2, rel=1e-12)
    # the cap bounds every mass (above the bottom entry, which takes the lumped shortfall)
    m3, _, _ = K.untilt_reference(r, start, keep, eta, k_tot, lam_step, lo, -3.0, 1e9)
    assert float(m3[1:].max()) == pytest.approx(math.exp(-3.0), rel=1e-15)
    assert float(direct[1:].max()) > math.exp(-3.0)  # so the cap did act


@pytest.mark.parametrize("name", ["reference", "numba"])
def test_moments_match_weighted_formulas(name):
    if name == "numba" and not K.uses_numba():
        pytest.skip("numba not installed")
    f = K.moments_reference if name == "reference" else K.kernel("moments")
    rng = np.random.default_rng(3)
    masses = rng.random(30)
    masses[[3, 9]] = 0.0
    lower, step = -10, 0.1
    losses = (lower + np.arange(30)) * step
    for lam in (1.7, 40.0, 5000.0):  # 5000: the ramp overflows, entry by entry
        mu, var, log_norm = f(masses, lower, step, lam)
        lw = np.log(np.where(masses > 0, masses, 1e-300)) + lam * losses
        w = np.where(masses > 0, np.exp(lw - lw.max()), 0.0)
        norm = float(lw.max()) + math.log(float(w.sum()))
        w /= w.sum()
        assert mu == pytest.approx(float(np.dot(w, losses)), rel=1e-10, abs=1e-12)
        assert var == pytest.approx(float(np.dot(w, (losses - mu) ** 2)), rel=1e-8, abs=1e-14)
        assert log_norm == pytest.approx(norm, rel=1e-12)
    assert f(np.zeros(3), 0, 0.1, 1.0) == (0.0, 0.0, -math.inf)
    mu0, var0, ln0 = f(masses, lower, step, 0.0)  # the untilted shortcut
    w0 = masses / masses.sum()
    assert mu0 == pytest.approx(float(np.dot(w0, losses)), rel=1e-12)
    assert var0 == pytest.approx(float(np.dot(w0, (losses - mu0) ** 2)), rel=1e-12)
    assert ln0 == pytest.approx(math.log(masses.sum()), rel=1e-12)
    assert f(np.zeros(3), 0, 0.1, 0.0) == (0.0, 0.0, -math.inf)


def test_env_forces_the_references(monkeypatch):
    monkeypatch.setenv("DPKIT_PLD_KERNELS", "numpy")
    assert not K.uses_numba()
    assert K.kernel("grid_deltas") is K.grid_deltas_reference
    assert K.kernel("untilt") is K.untilt_reference


@numba_installed
def test_engine_value_agrees_with_and_without_numba(monkeypatch):
    runs = [(1.0, 0.01, 300, 1e-5), (0.8, 0.05, 40, 1e-7)]
    with_numba = [pld.sampled_gaussian_epsilon(*r) for r in runs]
    monkeypatch.setenv("DPKIT_PLD_KERNELS", "numpy")
    without = [pld.sampled_gaussian_epsilon(*r) for r in runs]
    # libm and numpy log/exp differ by a few ulp: the values agree to rounding
    assert without == pytest.approx(with_numba, rel=1e-12, abs=0.0)


def _tilt_inputs(seed: int, size: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    m = rng.random(size) ** 12  # masses over ~30 orders of magnitude
    m[rng.random(size) < 0.1] = 0.0
    m[size // 2] = 0.5  # at least one positive mass
    m.setflags(write=False)
    return m


def _tilt_folds() -> list[str]:
    return ["reference"] + (["numba"] if K.available("numba") else [])


@pytest.mark.parametrize("impl", _tilt_folds())
@pytest.mark.parametrize("lower,lam,n", [(-40, 7.5, 64), (3, 0.0, 500), (-1000, 120.0, 997),
                                         (-90000, 1.0, 4096), (2, 2e5, 300)])
def test_tilt_fold_is_the_tilted_law_within_its_rounding_bound(impl, lower, lam, n):
    """Both implementations (the numba one by an exponential ramp, or entry by entry where the
    ramp would overflow: the last two cases) against extended precision."""
    m = _tilt_inputs(abs(lower) + n, 300)
    step = 1.7e-3
    if impl == "numba":
        K._build_numba()
    fold = K._NUMBA["tilt_fold"] if impl == "numba" else K.tilt_fold_reference
    x, lm, rel = fold(m, lower, step, lam, n)
    # exact in extended precision, in logs: log Σ m_i e^{λℓ_i} over the entries at each slot
    ld = np.longdouble
    terms: dict[int, list] = {}
    for i, mi in enumerate(m):
        if mi > 0:
            terms.setdefault((lower + i) % n, []).append(
                np.log(ld(mi)) + ld(lam) * (ld(lower + i) * ld(step)))
    pos = np.zeros(n, dtype=bool)
    pos[list(terms)] = True
    for j, ts in terms.items():
        t = np.array(ts, dtype=ld)
        want = t.max() + np.log(np.sum(np.exp(t - t.max())))
        if x[j] == 0:  # underflowed: only a normalized mass below float range is dropped
            assert float(want - ld(lm)) < -700
            continue
        got = np.log(ld(x[j])) + ld(lm)
        assert abs(float(got - want)) <= rel  # the bound holds ...
    assert 0 < rel < 1e-8  # ... and is a rounding-sized allowance (u·|λℓ| ≤ 1e-11 here)
    assert float(x.sum()) == pytest.approx(1.0, rel=1e-13)
    assert np.all(x[~pos] == 0)


@numba_installed
@pytest.mark.parametrize("lower,lam,n", [(-40, 7.5, 64), (3, 0.0, 500), (-1000, 120.0, 997)])
def test_tilt_fold_kernel_agrees_with_the_reference(lower, lam, n):
    m = _tilt_inputs(n, 300)
    K._build_numba()
    x, lm, rel = K._NUMBA["tilt_fold"](m, lower, 1.7e-3, lam, n)
    xr, lmr, relr = K.tilt_fold_reference(m, lower, 1.7e-3, lam, n)
    np.testing.assert_allclose(x, xr, rtol=1e-12, atol=0)
    assert lm == pytest.approx(lmr, rel=1e-14, abs=1e-14)
    assert 0 < rel < 1e-10 and 0 < relr < 1e-10


@numba_installed
@pytest.mark.parametrize("total_scale", [0.5, 3.0])  # a trim from the top; a lumped shortfall
@pytest.mark.parametrize("k_tot,lam_step,cap", [
    (0.4, 2e-3, 3.0),  # the exponential ramp
    (0.4, 5.0, 3.0),  # |slope|·256 > 700: entry by entry
    (650.0, -0.05, 700.0),  # the ramp leaves ±700 after a few blocks: entry by entry
    (0.4, 2e-3, -2.0),  # the cap binds
])
def test_untilt_kernel_agrees_with_the_reference(total_scale, k_tot, lam_step, cap):
    rng = np.random.default_rng(4)
    n, keep, start, lo = 4096, 3000, 2500, -1200
    if lam_step < 0:
        lo = 0
    r = rng.random(n) ** 6 - 1e-3
    args = (1e-12, k_tot, lam_step, lo, cap)
    w = np.roll(r, -start)[:keep]
    with np.errstate(over="ignore"):
        whole = float(np.exp(np.minimum(np.log(np.maximum(w, 0) + 1e-12) + k_tot
                                        - lam_step * (lo + np.arange(keep)), cap)).sum())
    ref = K.untilt_reference(r, start, keep, *args, total_scale * whole)
    K._build_numba()
    got = K._NUMBA["untilt"](r, start, keep, *args, total_scale * whole)
    assert got[1] == ref[1]
    np.testing.assert_allclose(got[0], ref[0], rtol=2e-13, atol=0)
    assert got[2] == pytest.approx(ref[2], rel=1e-12, abs=1e-300)
    assert (ref[2] > 0) == (total_scale > 1)  # both cases are exercised


@pytest.mark.parametrize("lower,step", [(-50, 0.013), (7, 1e-4), (-3, 0.1), (0, 1.0 / 3.0)])
def test_first_above_is_searchsorted_on_the_losses(lower, step):
    p = pld.PrivacyLossDistribution(step, lower, np.full(100, 0.01))
    lo = p.losses
    rng = np.random.default_rng(abs(lower))
    xs = np.concatenate([lo, np.nextafter(lo, np.inf), np.nextafter(lo, -np.inf),
                         rng.uniform(lo[0] - 1, lo[-1] + 1, 200),
                         [-math.inf, math.inf, -1e300, 1e300, 0.0, -0.0]])
    for x in xs:
        assert p._first_above(float(x)) == np.searchsorted(lo, x, side="right")
        assert p._first_above(float(x), strict=False) == np.searchsorted(lo, x, side="left")
    tiny = pld.PrivacyLossDistribution(1e-300, lower, np.full(5, 0.2))  # x/step overflows
    for x in (1e300, -1e300, 1e308):
        assert tiny._first_above(x) == np.searchsorted(tiny.losses, x, side="right")
    for j in (0, 37, 99):
        assert p._loss_at(j) == lo[j]
        assert np.array_equal(p._losses_from(j), lo[j:])


@numba_installed
@pytest.mark.parametrize("round_up", [False, True])
@pytest.mark.parametrize("case", ["random", "on_grid", "wide"])
def test_split_kernel_agrees_with_the_reference(round_up, case):
    rng = np.random.default_rng(7)
    step = 0.0137
    if case == "random":
        losses = np.sort(rng.uniform(-3, 5, 400))
    elif case == "on_grid":  # atoms at, a hair below and a hair above grid losses
        k = rng.integers(-200, 300, 300).astype(float)
        losses = np.concatenate([k * step, np.nextafter(k * step, -np.inf),
                                 np.nextafter(k * step, np.inf), (k + 0.5) * step])
    else:
        losses = rng.uniform(-1e4, 1e4, 50)
    p = rng.random(losses.size) ** 3
    K._build_numba()
    got, k0 = K._NUMBA["split"](losses, p, step, round_up)
    want, w0 = K.split_reference(losses, p, step, round_up)
    assert k0 == w0  # the same grid indices ...
    assert np.array_equal(got > 0, want > 0)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)  # ... expm1 a few ulp apart
    assert float(got.sum()) == pytest.approx(float(p.sum()), rel=1e-12)


# ------------------------------------------------------------- the passes added in session 11
@numba_installed
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_log_mgf_kernel_agrees_with_the_reference(seed):
    """Both give log Σ m e^{sℓ} to ~1e-13 relative (libm against numpy exp, sum order),
    zeros skipped, −inf without a positive mass; the reference matches a direct sum."""
    rng = np.random.default_rng(seed)
    m = rng.random(300) ** 8
    m[rng.random(300) < 0.3] = 0.0
    ls = rng.normal(0, 2, 300)
    s = np.array([-30.0, -1.0, 0.0, 0.5, 4.0, 60.0])
    ref = K.log_mgf_reference(m, ls, s)
    got = _numba("log_mgf")(m, ls, s)
    assert got == pytest.approx(ref, rel=1e-13, abs=1e-13)
    direct = [math.log(math.fsum(m * np.exp(x * ls))) for x in s]
    assert ref == pytest.approx(direct, rel=1e-12, abs=1e-12)
    assert np.all(_numba("log_mgf")(np.zeros(4), ls[:4], s) == -np.inf)


@numba_installed
@pytest.mark.parametrize("case", [
    (-10, 100, [-math.inf, 0.0, 0.05], [4, 1, 8], 0.001),
    (0, 5, [], [], 0.1),
    (-3, 3, [10.0], [16], 0.5),           # a cut above the range: all consecutive
    (-50, 50, [-math.inf], [7], 1.0),     # coarse from the bottom to the top
    (2, 3, [-math.inf, 2.5], [64, 1], 1.0)])
def test_edge_indices_kernel_is_the_reference(case):
    k0, k1, losses, factors, step = case
    lo, fa = np.array(losses, dtype=float), np.array(factors, dtype=np.int64)
    ref = K.edge_indices_reference(k0, k1, lo, fa, step)
    assert np.array_equal(_numba("edge_indices")(k0, k1, lo, fa, step), ref)
    assert ref[0] == k0 and ref[-1] == k1 and np.all(np.diff(ref) > 0)


@numba_installed
@pytest.mark.parametrize("t", [0.3, 4.64, 40.0])
def test_coarse_cut_losses_kernel_agrees_with_the_reference(t):
    from dpkit.accounting.pld import _planning
    from dpkit.accounting.pld.bounds import _COARSE_CAPS
    from dpkit.accounting.pld.pairs import SampledGaussianPair

    for pair in (SampledGaussianPair(1.0, 0.01, "remove"), SampledGaussianPair(0.7, 0.3, "add")):
        ps, ls = _planning.planning_atoms(pair)
        ref = K.coarse_cut_losses_reference(ps, ls, t, _COARSE_CAPS)
        got = _numba("coarse_cut_losses")(ps, ls, t, _COARSE_CAPS)
        for a, b in zip(ref, got, strict=True):
            assert np.array_equal(np.isnan(a), np.isnan(b))
            assert a[~np.isnan(a)] == pytest.approx(b[~np.isnan(b)], rel=1e-12, abs=1e-15)


@numba_installed
def test_swap_log_mgf_kernel_agrees_with_the_reference_and_the_swapped_pld():
    """The swap's log-mgf and its Q-sum, from the grid of one direction, agree with the
    reference and with :func:`swap_discretization` built and summed directly."""
    from dpkit.accounting.pld.pairs import SampledGaussianPair, swap_discretization

    d = SampledGaussianPair(1.0, 0.01, "remove").discretize(2e-3, tail=1e-12)
    s = np.array([0.6, 1.0, 2.5, 7.0])
    ref = K.swap_log_mgf_reference(d.masses, d.lower, d.step, s)
    got = _numba("swap_log_mgf")(d.masses, d.lower, d.step, s)
    assert got[0] == pytest.approx(ref[0], rel=1e-12)
    assert got[1] == pytest.approx(ref[1], rel=1e-13)
    assert got[2:] == ref[2:]
    sw = swap_discretization(d)
    assert ref[0] == pytest.approx(K.log_mgf_reference(sw.masses, sw.losses, s), rel=1e-12)
    from dpkit.accounting.pld.pairs import swap_infinity
    assert swap_infinity(ref[1], ref[2], ref[3]) <= sw.infinity_mass * (1 + 1e-9) + 1e-15
    # an overflowing Q-mass (a loss far below 0 with mass): not ok, for both
    m = np.array([0.5, 0.5])
    assert not _numba("swap_log_mgf")(m, -1000, 1.0, s)[4]
    assert not K.swap_log_mgf_reference(m, -1000, 1.0, s)[4]


@numba_installed
@pytest.mark.parametrize("sigma,q", [(1.0, 0.01), (0.5, 0.2), (0.8, 1e-3), (5.0, 0.5),
                                     (0.3, 1e-4)])
@pytest.mark.parametrize("direction", ["remove", "add"])
def test_sgm_fused_discretization_is_the_numpy_path(monkeypatch, sigma, q, direction):
    """The fused connect-the-dots of the subsampled Gaussian (one numba loop) against the
    numpy path (interval masses, then the split), on a uniform grid and a coarse partition:
    the same support, masses within 1e-8 relative (differences of normal tails carry the
    tails' few-ulp rounding, amplified where an interval is narrow), the same mass at +∞."""
    from dpkit.accounting.pld.pairs import SampledGaussianPair

    pair = SampledGaussianPair(sigma, q, direction)
    cuts = ((-math.inf, 8), (-0.3, 2), (-0.005, 1), (0.1, 4), (0.3, 16))
    for step, coarse in ((1e-3, None), (0.0137, cuts)):
        monkeypatch.delenv("DPKIT_PLD_KERNELS", raising=False)  # the fused kernel, even in
        monkeypatch.delenv(K.BACKEND_ENV, raising=False)  # a run forcing the references
        got = pair.discretize_coarse(step, coarse, tail=1e-12)
        monkeypatch.setenv("DPKIT_PLD_KERNELS", "numpy")
        ref = pair.discretize_coarse(step, coarse, tail=1e-12)
        assert (got.lower, got.masses.size) == (ref.lower, ref.masses.size)
        big = ref.masses > 1e-250
        assert np.array_equal(big, got.masses > 1e-250) or np.all(
            np.abs(got.masses - ref.masses) <= 1e-8 * ref.masses + 1e-250)
        assert got.masses[big] == pytest.approx(ref.masses[big], rel=1e-8)
        assert got.infinity_mass == pytest.approx(ref.infinity_mass, rel=1e-8, abs=1e-300)


@numba_installed
@pytest.mark.parametrize("count,n", [(1000.0, 6561), (3.0, 300), (1.0, 64)])
def test_spectral_power_kernel_is_the_numpy_path(count, n):
    """One part's power ẑ^c and its rounding bound: the fused kernel against
    :func:`_power_spectrum` (numpy), live bins and all."""
    import scipy.fft

    from dpkit.accounting.pld.distribution import _U, _noise_from_sums, _power_spectrum

    rng = np.random.default_rng(n)
    x = np.exp(-0.5 * ((np.arange(n) - n / 3) / (n / 40)) ** 2) + 1e-9 * rng.random(n)
    x /= x.sum()
    f = scipy.fft.rfft(x)
    f[5] = 0.0  # a bin exactly 0
    eps_f = (8.0 * math.log2(n) + 4.0) * _U
    log_hi = count * np.log(np.abs(f) + eps_f)
    z_ref, eta_ref, every_ref = _power_spectrum([(f, count)], log_hi, count, 1, n)
    z, err_sum, mod_sum, every = _numba("spectral_power")(f, count, log_hi, count, 1)
    assert every == every_ref
    assert np.allclose(z, z_ref, rtol=1e-11, atol=1e-300)
    assert _noise_from_sums(err_sum, mod_sum, n) == pytest.approx(eta_ref, rel=1e-9)


@numba_installed
@pytest.mark.parametrize("seed,size", [(0, 1), (1, 2), (2, 50), (3, 7000)])
def test_grid_epsilon_kernel_is_the_reference(seed, size):
    rng = np.random.default_rng(seed)
    p = rng.random(size) ** 6
    a = math.exp(-0.01)
    s0 = np.cumsum(p[::-1])[::-1]
    for d_grid in (0.0, 1e-9, float(s0[0]) * 0.3, 2.0):
        for j_zero in (0, size // 2, size - 1, size):
            ref = K.grid_epsilon_reference(p, a, d_grid, j_zero)
            got = _numba("grid_epsilon")(p, a, d_grid, j_zero)
            assert got[0] == ref[0] and got[2:] == ref[2:]
            assert (math.isnan(got[1]) and math.isnan(ref[1])) or got[1] == ref[1]


@pytest.mark.parametrize("seed", range(6))
def test_closed_form_bound_lies_above_the_exact_delta(seed):
    """The certified closed form of ε's read (:meth:`_closed_form_bound`, from the suffix sums
    as the engine computes them) is ≥ δ(c) computed exactly (mpmath, 50 digits, on the very
    float losses) and within 1e-9 relative of it."""
    import mpmath as mp

    from dpkit.accounting.pld.distribution import PrivacyLossDistribution

    mp.mp.dps = 50
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 3000))
    m = rng.random(n) ** 10
    m /= m.sum() * 1.0000001
    pld = PrivacyLossDistribution(float(rng.uniform(1e-4, 0.05)), int(rng.integers(-n, n)), m,
                                  float(rng.choice([0.0, 1e-9])))
    losses = pld.losses
    _, s0a, ua = K.grid_deltas_reference(m, math.exp(-pld.step))  # the sums ε's read takes
    for j in rng.integers(1, n, 5):
        s0, u = float(s0a[j]), float(ua[j])
        lo, hi = losses[j - 1], losses[j]
        c = float(lo + (hi - lo) * rng.random())
        exact = mp.mpf(pld.infinity_mass) + mp.fsum(
            mp.mpf(float(m[i])) * (1 - mp.exp(mp.mpf(c) - mp.mpf(float(losses[i]))))
            for i in range(j, n))
        got = pld._closed_form_bound(c, int(j), s0, u)
        assert got >= exact
        assert got <= exact * (1 + 1e-9) + 1e-300


@numba_installed
@pytest.mark.parametrize("seed", range(4))
def test_tilt_index_kernel_is_the_reference(seed):
    rng = np.random.default_rng(seed)
    base = rng.normal(0, 5, 49)
    base[rng.random(49) < 0.1] = np.nan
    eps_t = np.geomspace(1e-4, 1e4, 49) * rng.uniform(0.1, 3)
    fracs = np.array([0.0, 0.125, 0.25, 0.5, 0.75, 1.0])
    for target in (-100.0, -5.0, 0.0, 5.0, 100.0):
        assert _numba("tilt_index")(base, eps_t, fracs, target) == \
            K.tilt_index_reference(base, eps_t, fracs, target)


@pytest.mark.parametrize("impl", ["reference", "numba"])
def test_log_mgf_stays_within_its_stated_error(impl):
    """Both log-mgf implementations lie within :func:`log_mgf_error` (the worst case the
    certified Chernoff bounds add, ~1.5e-12 here) of the exact value (mpmath, 40 digits) on
    5 000 atoms over 300 orders of magnitude, at small to large exponents (measured errors
    ≤ 6e-16); an implementation that dropped or misweighted a term would fail it."""
    import mpmath as mp

    from dpkit.accounting.pld.distribution import log_mgf_error

    if impl == "numba" and not K.available("numba"):
        pytest.skip("numba not installed")
    f = K.log_mgf_reference if impl == "reference" else _numba("log_mgf")
    mp.mp.dps = 40
    rng = np.random.default_rng(11)
    n = 5000
    m = np.exp(-rng.uniform(0, 690, n))
    ls = rng.normal(0.0, 0.05, n)
    s = np.array([-2.0, 0.01, 0.1, 3.0, 50.0])
    got = f(m, ls, s)
    err = log_mgf_error(n, float(np.max(np.abs(ls))), s, got)
    for j, sj in enumerate(s):
        exact = mp.log(mp.fsum(mp.mpf(float(a)) * mp.exp(mp.mpf(float(sj)) * mp.mpf(float(b)))
                               for a, b in zip(m, ls, strict=True)))
        assert abs(got[j] - float(exact)) <= err[j]
