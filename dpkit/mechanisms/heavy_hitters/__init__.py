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

Layout: ``params`` (oracles, protocol params, records) ← ``privacy`` ← ``reference``,
``_numba``, ``_jax`` ← ``mechanism`` (the oracles' public functions) ← ``protocol`` (the
prefix-tree protocols, metrics, synthetic data) and ``scale`` (chunked / Dask runs);
``oracles`` re-exports the oracle layer under its historical name.
"""


from . import oracles  # noqa: F401 (the historical submodule, kept reachable as an attribute)
from .mechanism import aggregate, estimate, merge, perturb, support_counts, variance
from .params import (
    FREQUENCY_ORACLES,
    GRR,
    MAX_DOMAIN,
    OLH,
    OUE,
    PROTOCOLS,
    FrequencyState,
    HeavyHitterParams,
    HeavyHitterResult,
    OLHReports,
    Oracle,
)
from .privacy import max_log_ratio, oue_event, oue_rdp, output_pmf, privacy_event
from .protocol import (
    f1_score,
    find_heavy_hitters,
    ncr,
    partition_users,
    relative_error,
    run_protocol,
    treehist_threshold,
    true_top_k,
    zipf_items,
)
from .reference import perturb_reference
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
    # frequency oracles (params, mechanism, reference, privacy)
    "GRR", "OUE", "OLH", "Oracle", "OLHReports", "FrequencyState", "MAX_DOMAIN",
    "perturb", "perturb_reference", "aggregate", "merge", "estimate", "support_counts",
    "variance", "privacy_event", "oue_rdp", "oue_event", "output_pmf", "max_log_ratio",
    # the prefix-tree protocol (params, protocol)
    "PROTOCOLS", "FREQUENCY_ORACLES", "HeavyHitterParams", "HeavyHitterResult",
    "find_heavy_hitters", "run_protocol", "partition_users", "treehist_threshold", "true_top_k",
    "f1_score", "ncr", "relative_error", "zipf_items",
    # scale-out (scale)
    "chunk_rngs", "perturb_aggregate", "tree_merge", "aggregate_chunks", "chunked_aggregator",
    "dask_aggregate", "dask_perturb_aggregate", "dask_aggregator",
]
