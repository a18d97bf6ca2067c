"""LDP frequency oracles GRR, OUE and OLH (Wang, Blocki, Li, Jha, USENIX Security 2017).

A thin re-export module, kept so that ``dpkit.mechanisms.heavy_hitters.oracles`` (and its
names) keeps working: the oracles and their records live in :mod:`.params`, the numpy
reference in :mod:`.reference` and the public functions (:func:`perturb`, :func:`aggregate`,
:func:`merge`, :func:`estimate`, :func:`support_counts`, :func:`variance`) in
:mod:`.mechanism`.

Privacy (local DP, replace-one: any two inputs v, v' of one user; each user reports once):
every oracle is ε-LDP with worst-case likelihood ratio exactly e^ε; see :mod:`.privacy`.
Sampling uses floating-point uniforms for the Bernoulli draws: *not* hardened against
floating-point attacks.
"""

from __future__ import annotations

from .mechanism import aggregate, estimate, merge, perturb, variance
from .mechanism import support_counts as support_counts
from .params import GRR, MAX_DOMAIN, OLH, OUE, FrequencyState, OLHReports, Oracle
from .params import MAX_BUCKETS as MAX_BUCKETS
from .params import auto_num_hashes as auto_num_hashes
from .params import check_items as check_items
from .reference import flip_probability as flip_probability
from .reference import olh_hashes as olh_hashes
from .reference import perturb_reference

__all__ = [
    "GRR",
    "OUE",
    "OLH",
    "Oracle",
    "OLHReports",
    "FrequencyState",
    "perturb",
    "perturb_reference",
    "aggregate",
    "merge",
    "estimate",
    "variance",
    "MAX_DOMAIN",
]
