"""LDP frequency oracles and prefix-tree heavy hitters, single-party and federated.

Frequency oracles (Wang, Blocki, Li, Jha, *Locally Differentially Private Protocols for
Frequency Estimation*, USENIX Security 2017): :class:`GRR`, :class:`OUE`, :class:`OLH` with
:func:`perturb` (user side), :func:`aggregate` → a mergeable :class:`FrequencyState`,
:func:`merge` (associative: chunked = serial), :func:`estimate` (unbiased counts),
:func:`variance` (closed form) and :func:`privacy_event`.

Heavy hitters: :class:`HeavyHitterParams`, :func:`find_heavy_hitters` (PEM of Wang, Li, Jha
2017; TreeHist of Bassily, Nissim, Stemmer, Thakurta 2017; TAP/TAPS of Zhang, Ye, Hu, SIGMOD
2025 as reconstructed in the spec), metrics :func:`f1_score`, :func:`ncr`,
:func:`relative_error`.

Scale-out (:mod:`.scale`): chunked perturb + aggregate with exact tree merges, serially or on
Dask (:func:`dask_perturb_aggregate`, :func:`dask_aggregate`, :func:`dask_aggregator`; dask
is optional and imported only when these are called).

Privacy: every report is ε-LDP (local DP, replace-one relation: any two items of one user),
with worst-case likelihood ratio exactly e^ε; a protocol run asks each user for exactly one
report, so its event is that of one report (spec §5). The numpy code is the reference;
``_numba.py`` and ``_jax.py`` are kernels tested for the same law. Sampling is in floating
point: not hardened against floating-point attacks. See docs/heavy_hitters.md.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import _validate as V
from ...errors import DPKitError
from ...random import as_generator
from .oracles import (
    GRR,
    MAX_DOMAIN,
    OLH,
    OUE,
    FrequencyState,
    OLHReports,
    Oracle,
    aggregate,
    estimate,
    merge,
    perturb,
    perturb_reference,
    support_counts,
    variance,
)
from .privacy import max_log_ratio, oue_rdp, output_pmf, privacy_event
from .protocol import (
    FREQUENCY_ORACLES,
    PROTOCOLS,
    HeavyHitterParams,
    HeavyHitterResult,
    f1_score,
    find_heavy_hitters,
    ncr,
    partition_users,
    relative_error,
    run_protocol,
    treehist_threshold,
    true_top_k,
)
from .scale import (
    aggregate_chunks,
    chunk_rngs,
    chunked_aggregator,
    dask_aggregate,
    dask_aggregator,
    dask_perturb_aggregate,
    perturb_aggregate,
    tree_merge,
)

__all__ = [
    "GRR",
    "OUE",
    "OLH",
    "Oracle",
    "OLHReports",
    "FrequencyState",
    "MAX_DOMAIN",
    "perturb",
    "perturb_reference",
    "aggregate",
    "merge",
    "estimate",
    "support_counts",
    "variance",
    "privacy_event",
    "oue_rdp",
    "output_pmf",
    "max_log_ratio",
    "PROTOCOLS",
    "FREQUENCY_ORACLES",
    "HeavyHitterParams",
    "HeavyHitterResult",
    "find_heavy_hitters",
    "run_protocol",
    "partition_users",
    "treehist_threshold",
    "true_top_k",
    "chunk_rngs",
    "perturb_aggregate",
    "tree_merge",
    "aggregate_chunks",
    "chunked_aggregator",
    "dask_aggregate",
    "dask_perturb_aggregate",
    "dask_aggregator",
    "f1_score",
    "ncr",
    "relative_error",
    "zipf_items",
]


def zipf_items(n: int, item_bits: int, exponent: float, rng: Any, *,
               support: int = 4096) -> np.ndarray:
    """n synthetic items: a Zipf(exponent) law over ``support`` random distinct ℓ-bit items.

    The rank-r item (r = 1..support) has probability ∝ r^−exponent; the items themselves are
    drawn uniformly without replacement from [0, 2^ℓ), so prefixes carry no hidden order.

    Raises:
        DPKitError: n not in [0, 2^32], item_bits not in [1, 32], exponent not finite ≥ 0,
            support not in [1, 2^24], or rng not None / an int seed / a numpy Generator.
    """
    n = V.integer(minimum=0, maximum=2**32, n=n)
    item_bits = V.integer(minimum=1, maximum=32, item_bits=item_bits)
    exponent = V.nonnegative(exponent=exponent)
    support = V.integer(minimum=1, maximum=2**24, support=support)
    gen = as_generator(rng)
    if not isinstance(gen, np.random.Generator):
        raise DPKitError("rng must be None, an int seed or a numpy Generator (synthetic data "
                         "needs NumPy's choice), got a SecureGenerator")
    m = min(support, 2**item_bits)
    vocab = gen.choice(2**item_bits, size=m, replace=False) if item_bits <= 24 else \
        np.unique(gen.integers(0, 2**item_bits, size=2 * m))[:m]
    vocab = gen.permutation(vocab)
    w = np.arange(1, m + 1, dtype=float) ** -float(exponent)
    return vocab[gen.choice(m, size=n, p=w / w.sum())].astype(np.int64)
