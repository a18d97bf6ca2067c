"""Prefix-tree heavy hitters under LDP: PEM, TreeHist, Local-PEM + merge, TAP and TAPS.

* PEM, the prefix extending method: Wang, Li, Jha, "Locally Differentially Private Heavy
  Hitter Identification", arXiv:1708.06674 (IEEE TDSC). Users are split into G groups; group
  t reports its item's s_t-bit prefix with OLH; the server extends the top-k prefixes of each
  level by η bits.
* TreeHist: Bassily, Nissim, Stemmer, Thakurta, "Practical Locally Private Heavy Hitters",
  NeurIPS 2017 / JMLR 21 (2020), arXiv:1707.04982, as described in the spec (§3.2): users are
  split across the levels plus one final group; the server keeps *every* prefix whose
  estimate clears a noise threshold (not a fixed top-k), extends the survivors, and ranks the
  final survivors with the separate final group's estimates. dpkit uses OLH as the level
  oracle (the paper's Hashtogram is another frequency oracle with the same role) and a
  Gaussian union-bound threshold (see :class:`HeavyHitterParams`, ``beta``).
* TAP / TAPS, the target-aligning prefix tree (with consensus-based pruning): Zhang, Ye, Hu,
  "Federated Heavy Hitter Analytics with Local Differential Privacy", SIGMOD 2025,
  arXiv:2412.14832. **Reconstruction**: the paper's body could not be read; components and
  phase order (a shared shallow trie pooled across parties, per-party adaptive extension,
  sequential consensus-based pruning) follow its abstract and a secondary summary, the concrete
  rules are those of /work/shared/specs/heavy_hitters.md §4 ([R]/[D] there). The docs call it
  "TAP/TAPS as reconstructed", not the paper's algorithm.

Privacy (every protocol): each user perturbs its own item exactly once with an ε-LDP OLH
oracle whose parameters depend only on public data (level, ε); users of different groups and
parties are disjoint, so each user's view is one ε-LDP report (replace-one, local DP).
Everything the aggregators and the coordinator do (candidate selection, shared trie, priors,
thresholds, final ranking) is post-processing. Event: :func:`privacy_event` (params).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Union

import numpy as np
import numpy.typing as npt
from scipy.special import ndtri_exp

from ... import _validate as V
from ...errors import DPKitError
from ...random import RNGLike, SecureGenerator, as_generator, public_generator
from .mechanism import aggregate, estimate, perturb, variance
from .params import (
    FREQUENCY_ORACLES,
    GRR,
    OUE,
    PROTOCOLS,
    FrequencyState,
    HeavyHitterParams,
    HeavyHitterResult,
    Oracle,
    check_items,
)

__all__ = [
    "PROTOCOLS",
    "FREQUENCY_ORACLES",
    "HeavyHitterParams",
    "HeavyHitterResult",
    "find_heavy_hitters",
    "run_protocol",
    "partition_users",
    "treehist_threshold",
    "true_top_k",
    "f1_score",
    "ncr",
    "relative_error",
    "zipf_items",
]

#: estimator(party, level, candidates) -> estimated counts of the candidates in the party.
Estimator = Callable[[int, int, np.ndarray], np.ndarray]
#: noise_sd(party, level) -> the standard deviation of the party's estimates at count 0.
NoiseSD = Callable[[int, int], float]
#: aggregator(oracle, items, rng) -> FrequencyState of one user group's reports.
Aggregator = Callable[[Oracle, np.ndarray, RNGLike], FrequencyState]
#: one party's items (a 1-D integer array) or a list of parties' items.
Parties = Union[npt.ArrayLike, Sequence[npt.ArrayLike]]  # noqa: UP007 (runtime alias)


# ============================================================================ helpers
def _top(cand: np.ndarray, est: np.ndarray, m: int) -> np.ndarray:
    """Indices of the m best candidates: larger estimate first, ties by smaller item."""
    order = np.lexsort((cand, -est))
    return order[:m]


def _pooled(estimator: Estimator, m: int, t: int, cand: np.ndarray) -> np.ndarray:
    """Σ_j estimator(j, t, cand) over the m parties (float64, summed in party order)."""
    total = np.zeros(cand.size)
    for j in range(m):
        total = total + np.asarray(estimator(j, t, cand), dtype=float)
    return total


def _children(prefixes: np.ndarray, extra: int) -> np.ndarray:
    return ((prefixes[:, None] << extra) | np.arange(2**extra, dtype=np.int64)[None, :]).ravel()


def partition_users(params: HeavyHitterParams, n: int, rng: RNGLike) -> list[np.ndarray]:
    """An exact, uniformly random partition of n user indices into ``params.num_groups``
    near-equal groups (G levels; G + 1 for TreeHist).

    Every user is in exactly one group (reports once); group sizes differ by at most one.

    Raises:
        DPKitError: params not a HeavyHitterParams; n not an integer ≥ 1.
    """
    if not isinstance(params, HeavyHitterParams):
        raise DPKitError(f"params must be a HeavyHitterParams, got {type(params).__name__}")
    n = V.integer(minimum=1, n=n)
    gen = as_generator(rng)
    if hasattr(gen, "permutation"):
        perm = gen.permutation(n)
    else:  # SecureGenerator: sort by 62-bit random keys (ties, probability < n²/2^63, by index)
        perm = np.argsort(np.asarray(gen.integers(0, 2**62, size=n)), kind="stable")
    return np.array_split(perm, params.num_groups)


def treehist_threshold(params: HeavyHitterParams, num_candidates: int) -> float:
    """TreeHist's threshold in noise standard deviations: z = Φ^{-1}(1 − β/(G·|cand|)).

    A union bound over the G levels' candidate tests (Gaussian approximation of the pooled
    OLH noise): a prefix of true count 0 survives some level with probability ≲ β. BNST17's
    threshold is of the same order, (1/ε)·√(n log(ℓ/β)) in counts. Computed as
    −Φ^{-1}(β/(G·|cand|)) from the log tail probability (no rounding of 1 − p, no underflow).

    Raises:
        DPKitError: params not a HeavyHitterParams; num_candidates not an integer ≥ 1.
    """
    if not isinstance(params, HeavyHitterParams):
        raise DPKitError(f"params must be a HeavyHitterParams, got {type(params).__name__}")
    m = V.integer(minimum=1, num_candidates=num_candidates)
    log_tail = math.log(params.beta) - math.log(params.num_levels) - math.log(m)
    return -float(ndtri_exp(log_tail))


def _treehist(params: HeavyHitterParams, m: int, estimator: Estimator,
              noise_sd: NoiseSD) -> tuple[np.ndarray, np.ndarray, int]:
    """TreeHist control flow (BNST17 as in spec §3.2), estimates pooled over the m parties."""
    p = params
    big_g = p.num_levels
    k_set = np.arange(2**p.start_bits, dtype=np.int64)
    for t in range(1, big_g + 1):
        cand = _children(k_set, p.prefix_bits(t) - p.prefix_bits(t - 1))
        est = _pooled(estimator, m, t, cand)
        sd = math.sqrt(sum(noise_sd(j, t) ** 2 for j in range(m)))
        keep = est >= treehist_threshold(p, cand.size) * sd
        kc, ke = cand[keep], est[keep]
        k_set = kc[_top(kc, ke, p.b_max)]
        if k_set.size == 0:
            return k_set, np.zeros(0), 0
    est = _pooled(estimator, m, big_g + 1, k_set)
    idx = _top(k_set, est, p.k)
    return k_set[idx], est[idx], int(k_set.size)


def run_protocol(params: HeavyHitterParams, party_sizes: Sequence[int], estimator: Estimator,
                 noise_sd: NoiseSD) -> tuple[np.ndarray, np.ndarray, int]:
    """The server/coordinator control flow of the protocol, given level estimates.

    ``estimator(j, t, candidates)`` returns party j's (scaled) estimated counts of the
    s_t-bit candidates; ``noise_sd(j, t)`` its noise standard deviation at count 0. With the
    private OLH estimator this is :func:`find_heavy_hitters`; with an exact estimator (true
    prefix counts) it is the deterministic protocol oracle of spec §8.6. Pure post-processing.
    For TreeHist, level t = G + 1 denotes the separate final group (ℓ-bit items).

    Returns:
        (items, estimated counts, number of final candidates); TreeHist may return fewer
        than k items (only threshold survivors are ranked).

    Raises:
        DPKitError: params not a HeavyHitterParams; party_sizes not a non-empty list of
            integers ≥ 0; estimator or noise_sd not callable, or returning the wrong shape,
            NaN/inf counts, or a negative / non-finite standard deviation.
    """
    if not isinstance(params, HeavyHitterParams):
        raise DPKitError(f"params must be a HeavyHitterParams, got {type(params).__name__}")
    p = params
    if isinstance(party_sizes, (str, bytes)) or not hasattr(party_sizes, "__len__") \
            or len(party_sizes) == 0:
        raise DPKitError(f"party_sizes must be a non-empty sequence of integers, got "
                         f"{party_sizes!r}")
    party_sizes = [V.integer(minimum=0, **{f"party_sizes[{j}]": s})
                   for j, s in enumerate(party_sizes)]
    estimator, noise_sd = _checked_callbacks(estimator, noise_sd)
    m = len(party_sizes)
    if p.protocol == "treehist":
        return _treehist(p, m, estimator, noise_sd)
    big_g = p.num_levels
    proto = p.protocol
    shared = {"pem": big_g, "local_pem": 0}.get(proto, p.shared_levels)
    keep_shared = p.k if proto == "pem" else p.b_shared
    k_set = np.arange(2**p.start_bits, dtype=np.int64)
    for t in range(1, shared + 1):
        cand = _children(k_set, p.prefix_bits(t) - p.prefix_bits(t - 1))
        est = _pooled(estimator, m, t, cand)
        k_set = cand[_top(cand, est, keep_shared)]
    if shared == big_g:
        est = _pooled(estimator, m, big_g, k_set)
        idx = _top(k_set, est, p.k)
        return k_set[idx], est[idx], int(k_set.size)
    order = sorted(range(m), key=lambda j: (-party_sizes[j], j))
    prior_items: list[np.ndarray] = []
    found: list[np.ndarray] = []
    for j in order:
        kj = k_set
        for t in range(shared + 1, big_g + 1):
            bits = p.prefix_bits(t)
            cand = _children(kj, bits - p.prefix_bits(t - 1))
            est = np.asarray(estimator(j, t, cand), dtype=float)
            top_k = np.zeros(cand.size, dtype=bool)
            top_k[_top(cand, est, p.k)] = True
            if proto == "local_pem":
                keep = top_k
            else:
                sd = noise_sd(j, t)
                if proto == "taps" and prior_items:
                    pre = np.unique(np.concatenate(prior_items) >> (p.item_bits - bits))
                    supported = np.isin(cand, pre)
                    keep = top_k | (supported & (est >= p.z_prior * sd)) \
                        | (~supported & (est >= p.z_new * sd))
                elif proto == "taps":
                    keep = top_k | (est >= p.z_new * sd)
                else:
                    keep = top_k | (est >= p.z_keep * sd)
            kc, ke = cand[keep], est[keep]
            kj = kc[_top(kc, ke, p.b_max)]
        found.append(kj)
        if proto == "taps":
            prior_items.append(kj)
    union = np.unique(np.concatenate(found))
    est = _pooled(estimator, m, big_g, union)
    idx = _top(union, est, p.k)
    return union[idx], est[idx], int(union.size)


def _checked_callbacks(estimator: object, noise_sd: object) -> tuple[Estimator, NoiseSD]:
    """The caller's estimator and noise_sd, with their outputs validated."""
    if not callable(estimator):
        raise DPKitError("estimator must be callable: (party, level, candidates) -> counts")
    if not callable(noise_sd):
        raise DPKitError("noise_sd must be callable: (party, level) -> standard deviation")

    def est(j: int, t: int, cand: np.ndarray) -> np.ndarray:
        out = V.finite_array(**{"estimator output": estimator(j, t, cand)})
        if out.shape != (cand.size,):
            raise DPKitError(f"estimator must return one count per candidate ({cand.size}), "
                             f"got shape {out.shape}")
        return out

    def sd(j: int, t: int) -> float:
        return V.nonnegative(noise_sd=noise_sd(j, t))

    return est, sd


def _item_list(**kwargs: Any) -> list[Any]:
    """A 1-D sequence of item labels (integers, or any hashable labels) as a list."""
    name, value = V.one(kwargs)
    try:
        arr = np.asarray(value)
        items = arr.tolist() if arr.ndim == 1 else None
        if items is not None:
            {hash(v) for v in items}  # labels must be hashable (set membership)
    except (TypeError, ValueError) as exc:
        raise DPKitError(f"{name} must be a 1-D sequence of items: {exc}") from None
    if items is None or any(isinstance(v, float) and not math.isfinite(v) for v in items):
        raise DPKitError(f"{name} must be a 1-D sequence of items (no NaN), got {value!r}")
    return items


def _parties(parties: object, item_bits: int) -> list[np.ndarray]:
    if isinstance(parties, np.ndarray) or (hasattr(parties, "shape") and not
                                           isinstance(parties, (list, tuple))):
        parties = [parties]
    if not isinstance(parties, (list, tuple)) or len(parties) == 0:
        raise DPKitError("parties must be a non-empty list of 1-D item arrays (one per party)")
    out = []
    for j, items in enumerate(parties):
        arr = check_items(items, 2**item_bits, f"parties[{j}]")
        if arr.size == 0:
            raise DPKitError(f"parties[{j}] is empty: every party needs at least one user")
        out.append(arr)
    return out


def find_heavy_hitters(params: HeavyHitterParams, parties: Parties, rng: RNGLike, *,
                       backend: str = "auto",
                       aggregator: Aggregator | None = None) -> HeavyHitterResult:
    """Find the global top-k items of one or several parties' users under ε-LDP.

    Each party partitions its users into G level groups (:func:`partition_users`); every user
    sends one OLH report of its s_t-bit prefix (:func:`~.mechanism.perturb`); the party's
    aggregator keeps the mergeable OLH state per level; the coordinator runs
    :func:`run_protocol` with estimates ĉ_{j,t}(c)·n_j/n_{j,t} and noise sd
    √Var_OLH(0; n_{j,t})·n_j/n_{j,t}.

    Privacy: ε-LDP per user, replace-one (each user reports once; disjoint users). Event:
    ``privacy_event(params)``. Wang, Li, Jha 2017 (PEM); Zhang, Ye, Hu, SIGMOD 2025 (TAP/TAPS,
    reconstructed; see module docstring).

    Args:
        params: a :class:`HeavyHitterParams`.
        parties: a 1-D item array (one party) or a list of them; items in [0, 2^ℓ).
        rng: None, an int seed, a numpy Generator or SecureGenerator.
        backend: kernels for perturb/estimate: "auto", "numpy" or "numba".
        aggregator: optional ``(oracle, items, rng) -> FrequencyState`` that perturbs and
            aggregates one user group (default: one :func:`~.mechanism.perturb` then
            :func:`~.mechanism.aggregate`); e.g. :func:`~.scale.dask_aggregator` to run the
            groups' chunks on a Dask cluster, :func:`~.scale.chunked_aggregator` for the same
            chunking serially. It must perturb each item exactly once with the oracle given.

    Returns:
        A :class:`HeavyHitterResult`.

    Raises:
        DPKitError: bad params; empty parties; items outside [0, 2^ℓ); a party with fewer
            users than levels G.
    """
    if not isinstance(params, HeavyHitterParams):
        raise DPKitError(f"params must be HeavyHitterParams, got {type(params).__name__}")
    p = params
    data = _parties(parties, p.item_bits)
    gen = as_generator(rng)
    big_g = p.num_groups
    for j, items in enumerate(data):
        if items.size < big_g:
            raise DPKitError(f"parties[{j}] has {items.size} users; at least {big_g} (one per "
                             "group) are needed")
    if aggregator is not None and not callable(aggregator):
        raise DPKitError("aggregator must be a callable (oracle, items, rng) -> FrequencyState")
    if p.fo != "olh":
        return _find_candidate_mode(p, data, gen, backend, aggregator)
    oracles = [p.oracle(p.prefix_bits(t), t) for t in range(1, big_g + 1)]
    states: list[list[FrequencyState]] = []
    sizes: list[tuple[int, ...]] = []
    pub = public_generator(gen)  # the groups are public: never from the private stream
    for items in data:
        groups = partition_users(p, items.size, pub)
        row: list[FrequencyState] = []
        for t, grp in enumerate(groups, start=1):
            prefix = items[grp] >> (p.item_bits - p.prefix_bits(t))
            row.append(_run_group(oracles[t - 1], prefix, gen, backend, aggregator))
        states.append(row)
        sizes.append(tuple(int(g.size) for g in groups))
    n = [int(items.size) for items in data]

    def estimator(j: int, t: int, cand: np.ndarray) -> np.ndarray:
        st = states[j][t - 1]
        return estimate(oracles[t - 1], st, cand, backend=backend) * (n[j] / st.n)

    def noise_sd(j: int, t: int) -> float:
        st = states[j][t - 1]
        return math.sqrt(float(variance(oracles[t - 1], st.n))) * (n[j] / st.n)

    items, counts, ncand = run_protocol(p, n, estimator, noise_sd)
    return HeavyHitterResult(items, counts, ncand, tuple(sizes))


def _run_group(oracle: Oracle, items: np.ndarray, gen: np.random.Generator | SecureGenerator,
               backend: str, aggregator: Aggregator | None) -> FrequencyState:
    """One user group's state: perturb + aggregate, or the caller's aggregator (checked)."""
    if aggregator is None:
        return aggregate(oracle, perturb(oracle, items, gen, backend=backend))
    st = aggregator(oracle, items, gen)
    if not isinstance(st, FrequencyState) or st.oracle != oracle or st.n != items.size:
        raise DPKitError("aggregator must return the FrequencyState of exactly the group's "
                         "reports under the given oracle")
    return st


def _find_candidate_mode(p: HeavyHitterParams, data: list[np.ndarray],
                         gen: np.random.Generator | SecureGenerator, backend: str,
                         aggregator: Aggregator | None) -> HeavyHitterResult:
    """Candidate-domain mode (spec §4.6) with GRR or OUE: group (j, t) is perturbed the first
    time the protocol asks for its estimates, over the candidate list of that request plus ⊥.
    The list is public (a function of earlier levels' noisy estimates only), so each user's
    single report is ε-LDP. Later requests for other candidates of the same group are answered
    from its list (0 for items outside it)."""
    cls = GRR if p.fo == "grr" else OUE
    pub = public_generator(gen)  # the groups are public: never from the private stream
    groups = [partition_users(p, items.size, pub) for items in data]
    n = [int(items.size) for items in data]
    asked: dict[tuple[int, int], tuple[np.ndarray, Oracle, FrequencyState]] = {}

    def group_state(j: int, t: int, cand: np.ndarray) -> tuple[np.ndarray, Oracle,
                                                                  FrequencyState]:
        if (j, t) not in asked:
            lst = np.unique(cand)
            oracle: Oracle = cls(p.epsilon, int(lst.size) + 1)
            pre = data[j][groups[j][t - 1]] >> (p.item_bits - p.prefix_bits(t))
            pos = np.minimum(np.searchsorted(lst, pre), lst.size - 1)
            idx = np.where(lst[pos] == pre, pos, lst.size)  # ⊥ = |cand|
            asked[(j, t)] = (lst, oracle, _run_group(oracle, idx, gen, backend, aggregator))
        return asked[(j, t)]

    def estimator(j: int, t: int, cand: np.ndarray) -> np.ndarray:
        lst, oracle, st = group_state(j, t, cand)
        est = estimate(oracle, st, None, backend=backend)[:-1] * (n[j] / st.n)
        pos = np.minimum(np.searchsorted(lst, cand), lst.size - 1)
        return np.where(lst[pos] == cand, est[pos], 0.0)

    def noise_sd(j: int, t: int) -> float:
        _, oracle, st = asked[(j, t)]
        return math.sqrt(float(variance(oracle, st.n))) * (n[j] / st.n)

    items, counts, ncand = run_protocol(p, n, estimator, noise_sd)
    sizes = tuple(tuple(int(g.size) for g in gr) for gr in groups)
    return HeavyHitterResult(items, counts, ncand, sizes)


# ============================================================================ metrics
def true_top_k(parties: Parties, k: int, item_bits: int = 32) -> np.ndarray:
    """The exact global top-k (largest count first, ties by smaller item)."""
    data = _parties(parties, item_bits)
    vals, counts = np.unique(np.concatenate(data), return_counts=True)
    return vals[_top(vals, counts.astype(float), k)]


def f1_score(found: Any, truth: Any) -> float:
    """F1 = 2PR/(P + R) of the found set against the true set (0 when either is empty)."""
    h, t = set(_item_list(found=found)), set(_item_list(truth=truth))
    hit = len(h & t)
    if hit == 0:
        return 0.0
    prec, rec = hit / len(h), hit / len(t)
    return 2 * prec * rec / (prec + rec)


def ncr(found: Any, truth_ranked: Any) -> float:
    """Normalized cumulative rank (WLJ): the true rank-i item scores k − i + 1, others 0;
    NCR = Σ_{v∈H} score(v) / (k(k+1)/2), k = |truth_ranked|."""
    t = _item_list(truth_ranked=truth_ranked)
    k = len(t)
    if k == 0:
        raise DPKitError("truth_ranked must not be empty")
    score = {v: k - i for i, v in enumerate(t)}
    return sum(score.get(v, 0) for v in set(_item_list(found=found))) / (k * (k + 1) / 2)


def relative_error(found: Any, estimates: Any, true_counts: dict[int, float]) -> float:
    """Mean |ĉ(v) − c(v)|/c(v) over the found items that are in ``true_counts`` (nan if none).

    Raises:
        DPKitError: found / estimates not 1-D of the same length, estimates not finite,
            true_counts not a dict of finite counts.
    """
    items = _item_list(found=found)
    est = V.finite_array(estimates=estimates)
    if est.shape != (len(items),):
        raise DPKitError(f"estimates must have one value per found item ({len(items)}), got "
                         f"shape {est.shape}")
    if not isinstance(true_counts, dict):
        raise DPKitError(f"true_counts must be a dict item -> count, got "
                         f"{type(true_counts).__name__}")
    truth = {}
    for key, c in true_counts.items():
        truth[key] = V.finite(**{f"true_counts[{key!r}]": c})
    errs = [abs(float(e) - truth[v]) / truth[v]
            for v, e in zip(items, est.tolist(), strict=True)
            if v in truth and truth[v] > 0]
    return float(np.mean(errs)) if errs else math.nan


# ============================================================================ synthetic data
def zipf_items(n: int, item_bits: int, exponent: float, rng: RNGLike, *,
               support: int = 4096) -> np.ndarray:
    """n synthetic items: a Zipf(exponent) law over ``support`` random distinct ℓ-bit items.

    The rank-r item (r = 1..support) has probability ∝ r^−exponent; the items themselves are
    drawn uniformly without replacement from [0, 2^ℓ), so prefixes carry no hidden order.
    Synthetic data for tests, benchmarks and the demo: no privacy statement (it is not a
    release); the heavy-hitter protocols that consume it are ε-LDP (Wang, Li, Jha 2017).

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
