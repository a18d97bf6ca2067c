"""dpkit in data pipelines: privacy units, contribution bounding, keyed releases on pandas / Dask.

Every function takes a pandas DataFrame or a Dask DataFrame (same call, same result for the
same ``rng``, bit for bit) and returns a pandas DataFrame (``bound_contributions`` on Dask
returns a Dask frame, lazily). Execution follows one protocol (:mod:`._engine`): map each
partition to an exact mergeable state, tree-merge, privatize **once** at the end.

Privacy unit and neighbouring relation: a release is differentially private with respect to
adding or removing one *privacy unit* (all rows sharing a ``privacy_unit`` value), after the
declared contribution bounds (``max_partitions`` keys per unit, ``max_per_partition`` rows per
(unit, key), values clipped to ``bounds``); the local-DP releases (heavy hitters, smoothed RR,
RQM) are replace-one per unit. What a release spends: :func:`privacy_event` with the release
function and the same keyword arguments (:mod:`.privacy`).

Papers: partition selection — Korolova, Kenthapadi, Mishra, Ntoulas 2009; Desfontaines, Voss,
Gipson, Mandayam 2022; Gopi, Gulhane, Kulkarni, Shen, Shokouhi, Yekhanin 2020; bounded user
contribution — Wilson, Zhang, Lam, Desfontaines, Simmons-Marengo, Gipson 2020.

pandas (extra ``[pandas]``) and Dask (extra ``[dask]``) are imported lazily.
"""

from ._engine import Aggregation, KeyedSums, run
from .aggregates import count, mean, select_partitions, sum
from .bounding import bound_contributions
from .continual import continual_counts
from .encoding import ByteEncoding, CandidateEncoding
from .heavy_hitters import heavy_hitters
from .kde import kde_build
from .privacy import as_replace_one, privacy_event, register_event
from .rqm import rqm_mean
from .smoothed_rr import smoothed_rr_responses, smoothed_rr_tally

__all__ = [
    "bound_contributions",
    "count",
    "sum",
    "mean",
    "select_partitions",
    "heavy_hitters",
    "continual_counts",
    "kde_build",
    "rqm_mean",
    "smoothed_rr_responses",
    "smoothed_rr_tally",
    "ByteEncoding",
    "CandidateEncoding",
    "privacy_event",
    "register_event",
    "as_replace_one",
    "Aggregation",
    "KeyedSums",
    "run",
]
