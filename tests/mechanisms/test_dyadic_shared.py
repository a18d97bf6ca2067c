"""dpkit.mechanisms._dyadic: the one copy of the binary-tree (dyadic) combinatorics.

Checks (issue 15, "math written once"): every helper equals a brute force written from the
definitions (sets of leaves, not bit tricks) for every T ≤ 4096; the formulas it replaced give
the same integers; the mechanisms call it; the jitted one-liners kept in kernels (numba and
JAX ``_ctz``) agree with it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from dpkit.mechanisms import _dyadic as D

N = 4096


def brute_node(t: int) -> set[int]:
    """Leaves under the node completed at step t: the largest aligned block 2^h ending at t."""
    h = 0
    while t % (2 ** (h + 1)) == 0:
        h += 1
    return set(range(t - 2**h + 1, t + 1))


def brute_levels(n: int) -> int:
    return sum(1 for h in range(64) if 2**h <= n)


def test_levels_ceil_log2_lowbit_against_brute_force() -> None:
    for n in range(1, N + 1):
        assert D.levels(n) == brute_levels(n) == math.floor(math.log2(n)) + 1
        assert D.ceil_log2(n) == min(h for h in range(64) if 2**h >= n)
        node = brute_node(n)
        assert D.lowbit(n) == len(node)
        assert 2 ** D.lowbit_level(n) == len(node)
        assert D.node_start(n) == min(node) - 1


def test_prefix_nodes_partition_the_prefix() -> None:
    assert D.prefix_nodes(0) == []
    for t in range(1, N + 1):
        nodes = D.prefix_nodes(t)
        covered: list[int] = []
        for k in nodes:
            covered.extend(brute_node(k))
        assert sorted(covered) == list(range(1, t + 1))  # disjoint and complete
        assert len(nodes) == bin(t).count("1")
        assert nodes == sorted(nodes, reverse=True)


def test_covering_nodes_and_counts_against_brute_force() -> None:
    # every (leaf, T) for T ≤ 128, and spread leaves (both ends included) of larger T ≤ 4096
    first = {k: min(brute_node(k)) for k in range(1, N + 1)}
    cases = [(leaf, n) for n in range(1, 129) for leaf in range(1, n + 1)]
    cases += [(leaf, n) for n in (400, 1000, 4095, 4096)
              for leaf in [*range(1, n + 1, 37), n - 1, n]]
    for leaf, n in cases:
        brute = [k for k in range(leaf, n + 1) if first[k] <= leaf]
        assert D.covering_nodes(leaf, n) == brute
        assert D.covering_levels(leaf, n) == [D.lowbit_level(k) for k in brute]
        assert D.coverage_count(leaf, n) == len(brute) <= D.levels(n)
    for n in range(1, N + 1):
        assert D.coverage_count(1, n) == D.levels(n)  # the first leaf attains the maximum


def test_lowbit_forms_accept_integer_arrays() -> None:
    k = np.arange(1, N + 1)
    assert np.array_equal(D.node_start(k), [D.node_start(int(t)) for t in k])
    assert np.array_equal(D.lowbit(k), [D.lowbit(int(t)) for t in k])


def test_replaced_formulas_verbatim() -> None:
    for n in range(1, N + 1):
        assert D.levels(n) == n.bit_length()  # continual tree_levels, bandits num_levels
        assert D.ceil_log2(n) == max(0, (n - 1).bit_length())  # continual tree-DP height
        assert D.lowbit_level(n) == (n & -n).bit_length() - 1  # continual _ctz, bandits
        size_hint = n
        assert (1 << max(1, D.ceil_log2(max(size_hint, 2)))) == (
            1 << max(1, (max(size_hint, 2) - 1).bit_length()))  # kde leaves


def test_mechanisms_use_it() -> None:
    from dpkit.mechanisms.bandits import privacy as bp
    from dpkit.mechanisms.continual import CounterParams, noise_rows, tree_levels

    for n in (1, 2, 3, 400, 4096):
        assert tree_levels(n) == D.levels(n)
        assert bp.num_levels(n) == D.levels(n)
        assert bp.lowbit_level(n) == D.lowbit_level(n)
        assert bp.prefix_nodes(n) == D.prefix_nodes(n)
        assert bp.covering_nodes(1, n) == D.covering_nodes(1, n)
    p = CounterParams(horizon=64, kind="honaker", noise_multiplier=1.0)
    assert [noise_rows(p, t) for t in range(1, 65)] == [D.lowbit_level(t) + 1
                                                        for t in range(1, 65)]


def test_numba_kernel_ctz_matches() -> None:
    pytest.importorskip("numba")
    from dpkit.mechanisms.continual._numba import _ctz

    for t in range(1, N + 1):
        assert _ctz(t) == D.lowbit_level(t)


def test_jax_kernel_ctz_matches() -> None:
    pytest.importorskip("jax")
    import jax.numpy as jnp

    from dpkit.mechanisms.continual._jax import _ctz

    t = jnp.arange(1, N + 1, dtype=jnp.int32)
    assert np.array_equal(np.asarray(_ctz(t)), [D.lowbit_level(int(x)) for x in range(1, N + 1)])
