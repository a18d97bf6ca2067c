"""The JAX kernel of dpkit.mechanisms.bandits has the same law as the numpy reference.

Small instance (M=3, K=10, d=4, T=155, Bt=10: 15 syncs and a 5-round tail). Final group
regret, and for the Gaussian-tree protocols the smallest eigenvalue of λI + Ṽ over the syncs
(a direct read-out of the tree noise; for the vector sum it is censored at λ, the noise being
small), over 40 fixed seeds per backend; two-sample Kolmogorov–Smirnov tests at level 1e-3
each (6 tests: false-alarm rate ≤ 6e-3;
deterministic given the seeds). (The eigenvalue check caught a wrong tree level index in an
early version of the kernel.) One jitted
program serves all protocols (JAX runs on the CPU here; the compile dominates the time).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

pytest.importorskip("jax")

from dpkit.errors import DPKitError  # noqa: E402
from dpkit.mechanisms import bandits as B  # noqa: E402

M, K, D, T, BT = 3, 10, 4, 155, 10


def _params(protocol: str, **kw) -> B.BanditParams:
    eps = None if protocol == "none" else 4.0
    return B.BanditParams(M, K, D, T, BT, protocol, epsilon=eps,
                          delta=None if eps is None else 1e-3, **kw)


def test_jax_same_law_as_numpy_and_reproducible() -> None:
    """All protocols and the seed checks in one test: one worker pays the one compile."""
    import jax

    env = B.synthetic_environment(D, K, M, T, 0)
    for protocol in ("none", "silo_ldp", "shuffle_amplification", "shuffle_vector_sum"):
        p = _params(protocol)
        ref = [B.simulate(p, env, 1000 + s, backend="numpy") for s in range(40)]
        runs = [B.simulate(p, env, jax.random.key(3000 + s), backend="jax") for s in range(40)]
        a = np.array([r.regret[-1] for r in ref])
        b = np.array([r.regret[-1] for r in runs])
        assert runs[0].backend == "jax" and runs[0].regret.shape == (T,)
        assert np.all(np.diff(runs[0].regret) >= -1e-12)
        assert stats.ks_2samp(a, b).pvalue > 1e-3, protocol
        assert a.std() > 0 and b.std() > 0  # the statistic varies: the test can fail
        if protocol in ("silo_ldp", "shuffle_amplification"):
            ea = np.array([r.min_eigenvalue for r in ref])
            eb = np.array([r.min_eigenvalue for r in runs])
            assert ea.std() > 0 and eb.std() > 0
            assert stats.ks_2samp(ea, eb).pvalue > 1e-3, protocol
        # the private Gram matrix stays positive definite, as in the reference
        assert min(r.min_eigenvalue for r in runs) >= runs[0].regularization / 4

    p = _params("silo_ldp")
    r1 = B.simulate(p, env, 7, backend="jax").regret
    r2 = B.simulate(p, env, 7, backend="jax").regret
    r3 = B.simulate(p, env, 8, backend="jax").regret
    np.testing.assert_array_equal(r1, r2)
    assert not np.array_equal(r1, r3)
    with pytest.raises(DPKitError, match="rng"):
        B.simulate(p, env, "seed", backend="jax")


def test_jax_rescales_features_before_any_statistic() -> None:
    """The JAX kernel's counterpart of test_mechanism.py's rescaling test: features ×3 (all
    beyond L) give exactly the decisions of the unit-norm instance (same key), so the chosen x
    is rescaled to norm L before it enters the statistics."""
    import jax

    rng = np.random.default_rng(11)
    feats = rng.standard_normal((60, 2, 5, 3))
    feats /= np.linalg.norm(feats, axis=-1, keepdims=True)
    means = rng.uniform(-1, 1, (60, 2, 5))
    p = B.BanditParams(2, 5, 3, 60, 6, "silo_ldp", epsilon=8.0, delta=1e-5, radius=0.0)
    a = B.simulate(p, B.matrix_environment(feats, means), jax.random.key(4), backend="jax")
    b = B.simulate(p, B.matrix_environment(3 * feats, means), jax.random.key(4), backend="jax")
    assert a.clipped_features == 0 and b.clipped_features == 60 * 2
    np.testing.assert_allclose(a.regret, b.regret, rtol=1e-9, atol=1e-9)
    assert a.regret[-1] > 0
