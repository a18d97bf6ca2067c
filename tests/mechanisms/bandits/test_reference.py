"""Tests of dpkit.mechanisms.bandits.reference: the server's tree (a continual counter) and
its synchronisation noise. Fixed seeds; false-alarm rates stated.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from dpkit.mechanisms import bandits as B
from dpkit.mechanisms.bandits import reference as R


# ============================================================================ continual tree
@pytest.mark.parametrize("protocol", ["silo_ldp", "shuffle_amplification"])
def test_tree_counter_same_statement_as_bandit_event(protocol: str) -> None:
    """The continual tree carrying the node noise has σ₀ per coordinate, n_lvl levels and the
    same ρ = n_lvl·Δ²/(2σ₀²) as the bandits' own event (a second, independent formula)."""
    p = B.BanditParams(4, 10, 3, 1000, 7, protocol, epsilon=1.0, delta=1e-5)
    cp = R.tree_counter(p)
    assert cp.kind == "tree" and cp.horizon == p.num_batches
    assert cp.levels == p.levels == 8  # Kb = 142
    assert cp.noise_std == pytest.approx(p.node_sigma, rel=1e-12)
    assert cp.dimension == 4 * (6 + 3)
    orders = np.array([1.5, 2.0, 8.0, 64.0])
    np.testing.assert_allclose(cp.privacy_event().rdp(orders), p.privacy_event().rdp(orders),
                               rtol=1e-12)
    rho = p.levels * p.sensitivity**2 / (2 * p.node_sigma**2)
    assert cp.rho == pytest.approx(rho, rel=1e-12)


def test_sync_noise_variance_is_popcount_times_silos() -> None:
    """Ṽ − V and ũ − u at batch k: i.i.d. entries of variance popcount(k)·M·σ₀² (the M silos'
    trees summed), symmetric Gram noise. χ² test on the sample variance, n = 2000, two-sided,
    level 1e-4 per check (9 checks: false-alarm rate ≤ 9e-4; fixed seed)."""
    M, d, kb, n = 3, 2, 13, 2000
    p = B.BanditParams(M, 2, d, kb, 1, "silo_ldp", epsilon=1.0, delta=1e-5,
                       regularization=1e6)
    rng = np.random.default_rng(17)
    checks = (1, 7, 13)
    out = {k: [] for k in checks}
    for _ in range(n):
        st = R.SyncState.new(p)
        for k in range(1, kb + 1):
            Vt, ut, _ = R.sync(p, st, np.zeros((d, d)), np.zeros(d), k, rng)
            if k in out:
                assert np.array_equal(Vt, Vt.T)
                out[k].append((Vt[0, 0], Vt[0, 1], ut[1]))
    for k in checks:
        var = bin(k).count("1") * M * p.node_sigma**2
        for sample in np.array(out[k]).T:
            stat = (n - 1) * sample.var(ddof=1) / var
            pv = 2 * min(stats.chi2.cdf(stat, n - 1), stats.chi2.sf(stat, n - 1))
            assert pv > 1e-4
