"""Scale-out of the frequency oracles: chunked perturb + aggregate, exact tree merge, Dask.

The server state of every oracle is mergeable (:func:`~.mechanism.merge` adds count arrays, or
concatenates OLH fresh-seed reports in order), so a population can be cut into chunks that
are perturbed and aggregated independently — on threads, processes or cluster workers — and
reduced pairwise to exactly the serial state. This module holds that glue:

* :func:`chunk_rngs` — one independent generator per chunk (``SeedSequence.spawn``), so a
  chunked run is reproducible from one seed and independent of where each chunk runs;
* :func:`perturb_aggregate` — the per-chunk task: perturb the chunk's items, aggregate, return
  only the state (the raw reports never leave the worker);
* :func:`tree_merge`, :func:`aggregate_chunks` — serial reference of the chunked run;
* :func:`dask_aggregate`, :func:`dask_perturb_aggregate`, :func:`dask_aggregator` — the same
  on ``dask`` (any scheduler; a ``dask.distributed.Client`` for a cluster). ``dask`` is an
  optional dependency imported only inside these functions (``pip install 'dpkit[dev]'``).

Privacy: unchanged and independent of the chunking — each user's report is produced once by
an ε-LDP oracle (local DP, replace-one) from randomness that depends on no other user's data;
aggregation and merging are post-processing of the reports (Wang, Blocki, Li, Jha, USENIX
Security 2017 for the oracles). The chunk generators are spawned from the caller's seed;
a :class:`~dpkit.random.SecureGenerator` is passed to every chunk unchanged (it has no state).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ... import _validate as V
from ...errors import DPKitError
from ...random import RNGLike, SecureGenerator, as_generator
from .mechanism import aggregate, merge, perturb
from .params import FrequencyState, Oracle, check_oracle

__all__ = [
    "chunk_rngs",
    "perturb_aggregate",
    "tree_merge",
    "aggregate_chunks",
    "dask_aggregate",
    "dask_perturb_aggregate",
    "dask_aggregator",
    "chunked_aggregator",
]

_DASK_HINT = ("dask is needed for the Dask scale-out (an optional dependency): "
              "pip install 'dpkit[dev]'  (or: pip install 'dask[distributed]')")


def _dask() -> Any:
    try:
        import dask
    except ImportError as exc:  # pragma: no cover - exercised by monkeypatching in a test
        raise ImportError(_DASK_HINT) from exc
    return dask


#: Most chunks of one chunked run (each gets its own generator).
MAX_CHUNKS = 2**20


def chunk_rngs(rng: RNGLike, num_chunks: int) -> list[Any]:
    """``num_chunks`` independent generators for chunked perturbation (``SeedSequence.spawn``).

    An int seed or Generator gives reproducible children (64 bits of entropy are drawn from a
    Generator); a :class:`~dpkit.random.SecureGenerator` is returned ``num_chunks`` times (it
    draws from the OS CSPRNG and cannot be seeded).
    """
    m = V.integer(minimum=1, maximum=MAX_CHUNKS, num_chunks=num_chunks)
    gen = as_generator(rng)
    if isinstance(gen, SecureGenerator):
        return [gen] * m
    base = np.random.SeedSequence(int(gen.integers(0, 2**63)))
    return [np.random.default_rng(s) for s in base.spawn(m)]


def perturb_aggregate(oracle: Oracle, items: Any, rng: RNGLike, *,
                      backend: str = "auto") -> FrequencyState:
    """One chunk's work: every user of the chunk reports once (:func:`~.mechanism.perturb`), the
    reports are aggregated at once, and only the mergeable state is returned.

    Privacy: ε-LDP per user (replace-one); aggregation is post-processing. WBLJ17.
    """
    o = check_oracle(oracle)
    return aggregate(o, perturb(o, items, rng, backend=backend))


def tree_merge(states: Sequence[FrequencyState]) -> FrequencyState:
    """Pairwise (tree) reduction of states with :func:`~.mechanism.merge`, keeping chunk order.

    Equal to the left fold and to the state of all reports aggregated at once (merge is exact
    and associative; OLH fresh-seed reports are concatenated in chunk order).
    """
    level = _chunks(states, "states")
    for i, st in enumerate(level):
        if not isinstance(st, FrequencyState):
            raise DPKitError(f"states[{i}] must be a FrequencyState, got {type(st).__name__}")
    while len(level) > 1:
        nxt = [merge(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def _chunks(item_chunks: Any, name: str) -> list[Any]:
    if not isinstance(item_chunks, (list, tuple)) or len(item_chunks) == 0:
        raise DPKitError(f"{name} must be a non-empty list of chunks")
    return list(item_chunks)


def aggregate_chunks(oracle: Oracle, item_chunks: Sequence[Any], rng: RNGLike, *,
                     backend: str = "auto") -> FrequencyState:
    """Serial reference of the chunked run: chunk i is perturbed with ``chunk_rngs(rng)[i]``,
    aggregated, and the states are tree-merged. :func:`dask_perturb_aggregate` returns exactly
    this state for the same ``rng`` and chunks.

    Privacy: ε-LDP per user (replace-one), each user reports once. WBLJ17.
    """
    chunks = _chunks(item_chunks, "item_chunks")
    gens = chunk_rngs(rng, len(chunks))
    return tree_merge([perturb_aggregate(oracle, c, g, backend=backend)
                       for c, g in zip(chunks, gens, strict=True)])


def _delayed_tree(dask: Any, parts: list[Any]) -> Any:
    merge_d = dask.delayed(merge, pure=True)
    while len(parts) > 1:
        nxt = [merge_d(parts[i], parts[i + 1]) for i in range(0, len(parts) - 1, 2)]
        if len(parts) % 2:
            nxt.append(parts[-1])
        parts = nxt
    return parts[0]


def _compute(dask: Any, root: Any, client: Any) -> FrequencyState:
    if client is not None:
        return client.compute(root).result()
    return dask.compute(root)[0]


def dask_aggregate(oracle: Oracle, report_chunks: Sequence[Any], *, client: Any = None
                   ) -> FrequencyState:
    """Aggregate report chunks on Dask workers and tree-merge the states: exactly
    ``aggregate(oracle, all reports)`` (reports in chunk order).

    Args:
        oracle: the oracle the reports came from.
        report_chunks: a list of report batches (arrays / :class:`~.params.OLHReports`, or
            ``dask.delayed`` objects / futures that resolve to them).
        client: a ``dask.distributed.Client`` (None: dask's current default scheduler).

    Privacy: post-processing of ε-LDP reports (no cost). Raises ImportError naming
    ``pip install 'dpkit[dev]'`` when dask is missing.
    """
    o = check_oracle(oracle)
    chunks = _chunks(report_chunks, "report_chunks")
    dask = _dask()
    agg = dask.delayed(aggregate, pure=True)
    return _compute(dask, _delayed_tree(dask, [agg(o, c) for c in chunks]), client)


def dask_perturb_aggregate(oracle: Oracle, item_chunks: Sequence[Any], rng: RNGLike, *,
                           client: Any = None, backend: str = "auto") -> FrequencyState:
    """Perturb and aggregate each chunk on a Dask worker (the simulated devices of that
    chunk), then tree-merge: exactly :func:`aggregate_chunks` (oracle, item_chunks, rng).

    Privacy: ε-LDP per user (replace-one), each user reports once; the chunk's generator is
    spawned from ``rng`` (:func:`chunk_rngs`). Raises ImportError naming
    ``pip install 'dpkit[dev]'`` when dask is missing.
    """
    o = check_oracle(oracle)
    chunks = _chunks(item_chunks, "item_chunks")
    dask = _dask()
    gens = chunk_rngs(rng, len(chunks))
    task = dask.delayed(perturb_aggregate, pure=False)
    parts = [task(o, c, g, backend=backend) for c, g in zip(chunks, gens, strict=True)]
    return _compute(dask, _delayed_tree(dask, parts), client)


def dask_aggregator(client: Any = None, num_chunks: int = 4, *, backend: str = "auto"
                    ) -> Callable[[Oracle, np.ndarray, RNGLike], FrequencyState]:
    """An ``aggregator`` for :func:`~.protocol.find_heavy_hitters` that runs each (party,
    level) group's perturb + aggregate as ``num_chunks`` Dask tasks.

    ``find_heavy_hitters(params, parties, rng, aggregator=dask_aggregator(client))`` gives
    exactly the result of ``aggregator=chunked_aggregator(num_chunks)`` (the serial chunked
    run) for the same seed. Privacy: unchanged (each user reports once).
    """
    m = V.integer(minimum=1, maximum=MAX_CHUNKS, num_chunks=num_chunks)
    _dask()

    def run(oracle: Oracle, items: np.ndarray, rng: RNGLike) -> FrequencyState:
        return dask_perturb_aggregate(oracle, np.array_split(items, m), rng, client=client,
                                      backend=backend)

    return run


def chunked_aggregator(num_chunks: int = 4, *, backend: str = "auto"
                       ) -> Callable[[Oracle, np.ndarray, RNGLike], FrequencyState]:
    """Serial counterpart of :func:`dask_aggregator` (same chunking, same chunk seeds)."""
    m = V.integer(minimum=1, maximum=MAX_CHUNKS, num_chunks=num_chunks)

    def run(oracle: Oracle, items: np.ndarray, rng: RNGLike) -> FrequencyState:
        return aggregate_chunks(oracle, np.array_split(items, m), rng, backend=backend)

    return run

