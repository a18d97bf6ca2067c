"""Binary-tree (dyadic) combinatorics, written once: exact integer arithmetic, no floats.

The tree aggregation of Dwork, Naor, Pitassi, Rothblum (STOC 2010) and Chan, Shi, Song
(ACM TISSEC 2011) releases, over leaves (steps) 1, 2, …, T, one noisy node per step: the node
completed at step t covers the leaves (t − lowbit(t), t], where lowbit(t) = t & −t = 2^h and
h is its *height* (level). The prefix [1, t] is the disjoint union of the nodes t, t − lowbit(t),
… (one per set bit of t, the Fenwick decomposition), and a leaf ℓ lies in exactly one node of
each height h, the one ending at ⌈ℓ / 2^h⌉·2^h, which is released by step T only if that end
is ≤ T. So a tree over T leaves has ⌊log₂ T⌋ + 1 levels, and that is both the most nodes any
leaf is in and the number the first leaf is in: the sensitivity multiplier of the tree
mechanisms (continual counters, private bandits, KDE's range trees).

Privacy statement: none on its own; these are counting facts that the privacy analyses of
:mod:`dpkit.mechanisms.continual`, :mod:`dpkit.mechanisms.bandits` and
:mod:`dpkit.mechanisms.kde` rely on (each leaf is in at most :func:`levels` released nodes).

These are plain-number helpers (no validation: callers pass validated integers ≥ 1; the
``lowbit`` forms also accept integer numpy arrays). Jitted kernels that need a formula inside
compiled code keep a one-line copy that is tested against this module.

>>> levels(400), lowbit_level(12), node_start(12), prefix_nodes(13)
(9, 2, 8, [13, 12, 8])
>>> covering_nodes(5, 8), covering_levels(5, 8)
([5, 6, 8], [0, 1, 3])
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np

__all__ = ["levels", "ceil_log2", "lowbit", "lowbit_level", "node_start", "prefix_nodes",
           "covering_nodes", "covering_levels", "coverage_count"]

IntLike = TypeVar("IntLike", int, np.ndarray)


def levels(n: int) -> int:
    """⌊log₂ n⌋ + 1 (n ≥ 1): the heights h with 2^h ≤ n, i.e. the levels of a tree over n
    leaves with a node complete by leaf n; the most released nodes one leaf is in."""
    return n.bit_length()


def ceil_log2(n: int) -> int:
    """⌈log₂ n⌉ (n ≥ 1): the height of the smallest complete tree with ≥ n leaves."""
    return (n - 1).bit_length()


def lowbit(t: IntLike) -> IntLike:
    """t & −t = 2^h, the number of leaves under the node completed at step t ≥ 1."""
    return t & -t


def lowbit_level(t: int) -> int:
    """h with lowbit(t) = 2^h (the count of trailing zero bits of t ≥ 1): the height of the
    node completed at step t."""
    return (t & -t).bit_length() - 1


def node_start(t: IntLike) -> IntLike:
    """t − lowbit(t): the node completed at step t covers the leaves (node_start(t), t]."""
    return t - (t & -t)


def prefix_nodes(t: int) -> list[int]:
    """The nodes (by completing step) whose disjoint union is the prefix [1, t], t ≥ 0:
    t, node_start(t), node_start(node_start(t)), … down to 0 exclusive (one per set bit)."""
    out = []
    rest = t
    while rest:
        out.append(rest)
        rest -= rest & -rest
    return out


def covering_nodes(leaf: int, n: int) -> list[int]:
    """The nodes k ≤ n that contain ``leaf`` (1 ≤ leaf ≤ n), lowest level first: at level j the
    node ending at ⌈leaf / 2^j⌉·2^j, kept when it is ≤ n and its lowbit is exactly 2^j."""
    out = []
    for j in range(levels(n)):
        k = (((leaf - 1) >> j) + 1) << j
        if k <= n and (k & -k) == (1 << j):
            out.append(k)
    return out


def covering_levels(leaf: int, n: int) -> list[int]:
    """The levels j of the nodes of :func:`covering_nodes` (``leaf``, ``n``)."""
    return [lowbit_level(k) for k in covering_nodes(leaf, n)]


def coverage_count(leaf: int, n: int) -> int:
    """How many released nodes k ≤ n contain ``leaf``; at most :func:`levels` (n), with
    equality at leaf 1."""
    return len(covering_nodes(leaf, n))
