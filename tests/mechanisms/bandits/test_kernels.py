"""The numba kernel of dpkit.mechanisms.bandits has the same law as the numpy reference.

Final group regret over 40 independent seeds per backend (synthetic instance, small sizes),
and for the Gaussian-tree protocols the smallest eigenvalue of λI + Ṽ over the syncs (a
read-out of the tree noise); also ``strict=True`` for silo_ldp. Two-sample Kolmogorov–Smirnov
tests at level 1e-3 each (8 tests: false-alarm rate ≤ 8e-3; seeds fixed, so the test is
deterministic). The exact decision equality of the two kernels on a noiseless instance is
in test_mechanism.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

pytest.importorskip("numba")

from dpkit.mechanisms import bandits as B  # noqa: E402
from dpkit.mechanisms.bandits import _numba, reference  # noqa: E402
from dpkit.mechanisms.bandits.params import KernelOutput  # noqa: E402

M, K, D, T, BT = 3, 10, 4, 150, 10


@pytest.mark.parametrize("protocol,strict", [("none", False), ("silo_ldp", False),
                                             ("shuffle_amplification", False),
                                             ("shuffle_vector_sum", False), ("silo_ldp", True)])
def test_numba_same_law_as_numpy(protocol: str, strict: bool) -> None:
    eps = None if protocol == "none" else 4.0
    p = B.BanditParams(M, K, D, T, BT, protocol, epsilon=eps,
                       delta=None if eps is None else 1e-3, strict=strict)
    env = B.synthetic_environment(D, K, M, T, 0)
    ra = [B.simulate(p, env, 1000 + s, backend="numpy") for s in range(40)]
    rb = [B.simulate(p, env, 2000 + s, backend="numba") for s in range(40)]
    a = np.array([r.regret[-1] for r in ra])
    b = np.array([r.regret[-1] for r in rb])
    assert stats.ks_2samp(a, b).pvalue > 1e-3
    assert a.std() > 0 and b.std() > 0  # the statistic varies: the test can fail
    if protocol in ("silo_ldp", "shuffle_amplification"):
        ea = np.array([r.min_eigenvalue for r in ra])
        eb = np.array([r.min_eigenvalue for r in rb])
        assert ea.std() > 0 and eb.std() > 0
        assert stats.ks_2samp(ea, eb).pvalue > 1e-3


def test_numba_result_does_not_depend_on_threads() -> None:
    """Silo blocks have their own spawned generators: 1 or 4 worker threads, same bits."""
    p = B.BanditParams(17, K, D, 60, BT, "shuffle_vector_sum", epsilon=4.0, delta=1e-3)
    env = B.synthetic_environment(D, K, 17, 60, 0)

    def run(threads: int) -> KernelOutput:
        gen = np.random.default_rng(5)
        return _numba.simulate(reference.kernel_plan(p, env), gen,
                               reference.sync_step(p, gen), False, threads=threads)

    r1, r4 = run(1), run(4)
    assert len(_numba._blocks(17)) == 8  # several blocks, so the pool really splits the work
    np.testing.assert_array_equal(r1.regret, r4.regret)
    assert r1.min_eigenvalue == r4.min_eigenvalue
