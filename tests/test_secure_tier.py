"""The hardened tier (docs/security.md): every random bit from the OS CSPRNG, on every backend.

* Counting: a :class:`SecureGenerator` subclass counts the OS bytes a mechanism reads; every
  backend the hardened tier accepts must read at least 8 bytes (one 64-bit word) per random
  decision of the reference law. The old numba paths expanded one 64-bit key with SplitMix64
  and read 16 bytes per call whatever the number of reports.
* Laws: the hardened path's outputs follow the mechanism's law. A SecureGenerator cannot be
  seeded, so these tests are random: each check has a false-alarm rate of at most 1e-6
  (stated at each assertion).
* Public values (OLH hash seeds, KDE public seeds, heavy-hitter groups) come from
  :func:`dpkit.random.public_generator`, never from the private stream: an attacker who sees
  the seeds learns nothing about the private decisions (MT19937 state-recovery attack below).
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from scipy import stats

import dpkit.mechanisms.heavy_hitters as hh
from dpkit.errors import DPKitError
from dpkit.mechanisms import continual, kde, rqm
from dpkit.mechanisms import smoothed_rr as srr
from dpkit.mechanisms.additive import (
    DiscreteGaussianParams,
    DiscreteLaplaceParams,
    discrete_gaussian_mechanism,
    discrete_laplace_mechanism,
)
from dpkit.mechanisms.heavy_hitters import oracles as O
from dpkit.mechanisms.heavy_hitters.reference import grr_reference
from dpkit.random import (
    SecureGenerator,
    public_generator,
    route_backend,
    secure_generator,
)

ALPHA = 1e-6  # false-alarm rate of every statistical check in this file
BACKENDS = ["auto", "numpy", "numba"]


class Counting(SecureGenerator):
    """A SecureGenerator that counts the OS bytes it reads (and keeps the 64-bit words)."""

    def __init__(self, keep: bool = False) -> None:
        self.nbytes = 0
        self.keep = keep
        self.words: list[np.ndarray] = []

    def _read(self, nbytes: int) -> bytes:
        self.nbytes += nbytes
        b = os.urandom(nbytes)
        if self.keep:
            self.words.append(np.frombuffer(b, dtype=np.uint64).copy())
        return b


# ======================================================================== seeding, ranges
def test_secure_generator_refuses_seeds_with_a_dpkit_error() -> None:
    for make in (lambda: secure_generator(42), lambda: SecureGenerator(42),
                 lambda: secure_generator(seed=1)):
        with pytest.raises(DPKitError, match="cannot be seeded"):
            make()
    assert isinstance(secure_generator(), SecureGenerator)


def test_secure_integers_cover_ranges_up_to_2_64() -> None:
    """The old limit (2**62) broke kde.build and seeds drawn with integers(0, 2**63 - 1).
    Top-bit frequencies of 2**63, 2**64 ranges: chi-square, false alarm ≤ 1e-6 each."""
    s = secure_generator()
    n = 8000
    for low, high, dt in ((0, 2**63 - 1, np.int64), (0, 2**63, np.int64),
                          (0, 2**64, np.uint64), (-2**63, 2**63, np.int64)):
        x = s.integers(low, high, size=n, dtype=dt)
        assert x.dtype == dt and int(x.min()) >= low and int(x.max()) < high
        octile = np.floor(8 * (x.astype(np.float64) - low) / (high - low)).astype(np.int64)
        assert stats.chisquare(np.bincount(np.minimum(octile, 7), minlength=8)).pvalue > ALPHA
        assert isinstance(s.integers(low, high, dtype=dt), int)
    y = s.integers(-3, 2, size=6000, endpoint=True)  # {-3..2}
    assert stats.chisquare(np.bincount(y + 3, minlength=6)).pvalue > ALPHA
    with pytest.raises(DPKitError, match="does not fit"):
        s.integers(0, 2**64)  # int64 cannot hold it (numpy raises too)
    with pytest.raises(DPKitError, match="high must be > low"):
        s.integers(5, 5)


def test_secure_permutation_is_exact_and_uniform() -> None:
    """All 6 orders of 3 items, 6000 draws: chi-square, false alarm ≤ 1e-6; ties re-drawn."""
    s = secure_generator()
    code = [tuple(s.permutation(3)) for _ in range(6000)]
    _, counts = np.unique(np.array(code), axis=0, return_counts=True)
    assert counts.size == 6 and stats.chisquare(counts).pvalue > ALPHA
    a = np.arange(10) * 3
    np.testing.assert_array_equal(np.sort(s.permutation(a)), a)

    class Ties(Counting):  # the first keys all tie: the order must come from later keys
        def _words(self, n: int) -> np.ndarray:
            self.calls = getattr(self, "calls", 0) + 1
            return np.zeros(n, dtype=np.uint64) if self.calls == 1 else super()._words(n)

    t = Ties()
    assert sorted(t.permutation(50).tolist()) == list(range(50)) and t.calls >= 2


# ======================================================================== routing
def test_route_backend_in_the_hardened_tier() -> None:
    s = secure_generator()
    for b in ("auto", "numpy", "numba"):
        assert route_backend(b, np.zeros(3), s) == "numpy"
    assert route_backend("numba", None, s, kernel_draws=False) == "numba"
    with pytest.raises(DPKitError, match="hardened"):
        route_backend("jax", None, s)
    with pytest.raises(DPKitError, match="backend"):
        route_backend("torch", None, s)
    assert route_backend("numba", np.zeros(3), np.random.default_rng(0)) == "numba"


def test_splitmix_keys_refuse_a_secure_generator() -> None:
    from dpkit._numba_random import seed_key

    with pytest.raises(DPKitError, match="SecureGenerator"):
        seed_key(secure_generator())


def test_jax_backend_refuses_the_hardened_tier() -> None:
    s = secure_generator()
    calls = [
        lambda: hh.perturb(hh.GRR(1.0, 8), np.arange(8), s, backend="jax"),
        lambda: rqm.quantize(rqm.RQMParams(1.0, 1.0, 8, 0.5), np.zeros(4), s, backend="jax"),
        lambda: srr.respond(srr.SmoothedRRParams(1.0), np.zeros(4), s, backend="jax"),
        lambda: kde.build(kde.KDEParams("l1", epsilon=1.0, radius=1.0, size_hint=16),
                          np.zeros((10, 1)), s, backend="jax"),
        lambda: continual.run(continual.CounterParams("tree", 8, noise_multiplier=1.0),
                              np.zeros(8), s, backend="jax"),
        lambda: srr.simulate_sequential_learning(10, 2, epsilon=1.0, rng=s, backend="jax"),
    ]
    for call in calls:
        with pytest.raises(DPKitError, match="hardened"):
            call()


def test_jax_arrays_under_auto_run_the_hardened_numpy_path() -> None:
    jnp = pytest.importorskip("jax.numpy")
    s = Counting()
    out = hh.perturb(hh.GRR(1.0, 8), jnp.arange(400) % 8, s)
    assert isinstance(out, np.ndarray) and s.nbytes >= 8 * 800
    s = Counting()
    out = rqm.quantize(rqm.RQMParams(1.0, 1.0, 8, 0.5), jnp.zeros(400), s)
    assert isinstance(out, np.ndarray) and s.nbytes >= 8 * 400


# ======================================================================== OS bytes consumed
N = 2000


def _grr(rng, b):
    return hh.perturb(hh.GRR(1.0, 64), np.arange(N) % 64, rng, backend=b)


def _oue(rng, b):
    return hh.perturb(hh.OUE(1.0, 16), np.arange(N) % 16, rng, backend=b)


def _olh(rng, b):
    return hh.perturb(hh.OLH(1.0, 64, num_hashes=None), np.arange(N) % 64, rng, backend=b)


def _olh_pool(rng, b):
    return hh.perturb(hh.OLH(1.0, 64), np.arange(N) % 64, rng, backend=b)


def _srr(rng, b):
    return srr.respond(srr.SmoothedRRParams(1.0), np.linspace(-2, 2, N), rng, backend=b)


def _rqm(rng, b):
    return rqm.quantize(rqm.RQMParams(1.0, 1.0, 16, 0.5), np.linspace(-1, 1, N), rng,
                        backend=b)


def _rqm_large(rng, b):  # m > the alias-table limit: the numba log-walk kernel
    return rqm.quantize(rqm.RQMParams(1.0, 1.0, 5000, 0.5), np.linspace(-1, 1, N), rng,
                        backend=b)


def _sequential(rng, b):
    return srr.simulate_sequential_learning(N // 10, 10, epsilon=1.0, rng=rng, backend=b)


# (mechanism, random decisions of the reference law, each needing ≥ one 64-bit OS word)
DRAWS = [
    (_grr, 2 * N),          # keep? and a uniform other item, per report
    (_oue, 16 * N),         # one Bernoulli per bit
    (_olh, 2 * N),          # GRR over the hash buckets (the public seeds are not counted)
    (_olh_pool, 2 * N),
    (_srr, N),              # one flip decision per signal
    (_rqm, N),              # at least one decision per coordinate
    (_rqm_large, N),
    (_sequential, N),       # one signal per agent and run
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("mech,decisions", DRAWS, ids=[f.__name__[1:] for f, _ in DRAWS])
def test_every_backend_reads_the_os_for_every_decision(mech, decisions, backend) -> None:
    """Fails for the old numba paths (16 bytes per call: one SplitMix64 key)."""
    g = Counting()
    mech(g, backend)
    assert g.nbytes >= 8 * decisions, (g.nbytes, decisions)


@pytest.mark.parametrize("backend", BACKENDS)
def test_kde_build_runs_and_reads_the_os_for_every_noisy_number(backend) -> None:
    """kde.build with a SecureGenerator failed on every backend ('integer range must be at
    most 2**62'). Every released noisy number needs ≥ 8 OS bytes."""
    pts = np.linspace(-1, 1, 200).reshape(-1, 1)
    for params in (kde.KDEParams("l1", epsilon=1.0, radius=1.0, size_hint=64),
                   kde.KDEParams("gaussian", epsilon=1.0, radius=1.0, bandwidth=0.5,
                                 features=32)):
        g = Counting()
        s = kde.build(params, pts, g, backend=backend)
        released = sum(a.size for a in (s.counts, s.sums, s.rff) if a is not None)
        assert g.nbytes >= 8 * released
        assert np.isfinite(kde.query(s, np.zeros((3, 1)))).all()
        assert 0 <= s.public_seed < 2**63


@pytest.mark.parametrize("backend", BACKENDS)
def test_continual_run_reads_the_os_for_every_noise_draw(backend) -> None:
    p = continual.CounterParams("honaker", 64, noise_multiplier=1.0)
    g = Counting()
    y = continual.run(p, np.ones(64), g, backend=backend)
    assert np.isfinite(y).all()
    assert g.nbytes >= 8 * continual.total_noise_rows(p, 64)


def test_additive_and_scale_read_the_os_for_every_draw() -> None:
    g = Counting()
    discrete_laplace_mechanism(DiscreteLaplaceParams(2), np.zeros(500, dtype=int), g)
    assert g.nbytes >= 8 * 500
    g = Counting()
    discrete_gaussian_mechanism(DiscreteGaussianParams(2), np.zeros(500, dtype=int), g)
    assert g.nbytes >= 8 * 500
    g = Counting()
    o = hh.GRR(1.0, 32)
    st = hh.aggregate_chunks(o, np.array_split(np.arange(N) % 32, 4), g, backend="auto")
    assert st.n == N and g.nbytes >= 8 * 2 * N
    assert len(hh.chunk_rngs(np.random.default_rng(0), 3)) == 3  # integers(0, 2**63) path


def test_heavy_hitter_protocol_end_to_end_in_the_hardened_tier() -> None:
    g = Counting()
    parties = [np.arange(3000) % 7, np.arange(2000) % 5]
    res = hh.find_heavy_hitters(hh.HeavyHitterParams(4.0, 12, 4, protocol="taps"), parties, g,
                                backend="auto")
    assert [sum(s) for s in res.group_sizes] == [3000, 2000]
    assert g.nbytes >= 8 * 2 * 5000


def test_bandits_simulator_refuses_the_hardened_tier_clearly() -> None:
    from dpkit.mechanisms import bandits

    env = bandits.synthetic_environment(3, 5, 2, 40, secure_generator())
    p = bandits.BanditParams(2, 5, 3, 40, 10, "none")
    for b in ("auto", "numpy", "numba"):
        with pytest.raises(DPKitError, match="simulator"):
            bandits.simulate(p, env, secure_generator(), backend=b)


# ======================================================================== laws
def test_hardened_grr_and_olh_laws() -> None:
    """GRR: reports of item 0 over D = 8 ~ (p, (1−p)/7, ...). OLH: (y − H_s(v)) mod g is 0
    w.p. p, each other residue (1−p)/(g−1). Chi-square, false alarm ≤ 1e-6 each."""
    s = secure_generator()
    n = 20_000
    o = hh.GRR(1.0, 8)
    y = hh.perturb(o, np.zeros(n, dtype=int), s, backend="numba")
    p = 1.0 - O.flip_probability(1.0, 8)
    law = np.r_[p, np.full(7, (1 - p) / 7)]
    assert stats.chisquare(np.bincount(y, minlength=8), n * law).pvalue > ALPHA
    ol = hh.OLH(1.0, 1000, num_hashes=None)
    v = np.arange(n) % 1000
    r = hh.perturb(ol, v, s, backend="auto")
    res = (r.buckets - O.olh_hashes(ol, r.seeds, v)) % ol.g
    p = 1.0 - O.flip_probability(1.0, ol.g)
    law = np.r_[p, np.full(ol.g - 1, (1 - p) / (ol.g - 1))]
    assert stats.chisquare(np.bincount(res, minlength=ol.g), n * law).pvalue > ALPHA


def test_hardened_oue_srr_rqm_laws() -> None:
    """OUE: the true item's bit ~ Bern(½), others Bern(q) (binomial tests, Bonferroni over the
    8 columns); smoothed RR: P(+1) = prob_positive (binomial); RQM: indices ~ pmf
    (chi-square). False alarm ≤ 1e-6 per assertion."""
    s = secure_generator()
    n = 20_000
    o = hh.OUE(1.0, 8)
    bits = hh.perturb(o, np.zeros(n, dtype=int), s, backend="numba")
    for j in range(8):
        want = 0.5 if j == 0 else o.q
        assert stats.binomtest(int(bits[:, j].sum()), n, want).pvalue > ALPHA / 8
    pr = srr.SmoothedRRParams(1.0)
    x = srr.respond(pr, np.full(n, 0.3), s, backend="numba")
    want = float(srr.prob_positive(pr, 0.3))
    assert stats.binomtest(int((x == 1).sum()), n, want).pvalue > ALPHA
    pq = rqm.RQMParams(1.0, 1.0, 8, 0.5)
    k = rqm.quantize(pq, np.full(n, 0.2), s, backend="numba")
    law = np.asarray(rqm.pmf(pq, 0.2)).reshape(-1)
    counts = np.bincount(k.astype(int), minlength=8)
    keep = law * n >= 5  # chi-square cells with expected count ≥ 5; the rest pooled
    obs = np.r_[counts[keep], counts[~keep].sum()]
    exp = np.r_[law[keep], law[~keep].sum()] * n
    obs, exp = (obs, exp) if exp[-1] > 0 else (obs[:-1], exp[:-1])
    assert stats.chisquare(obs, exp).pvalue > ALPHA


# ======================================================================== public seeds
def _untemper(y: np.ndarray) -> np.ndarray:
    """Invert MT19937's output tempering (on uint32 arrays)."""
    y = y.astype(np.uint64)
    m32 = np.uint64(0xFFFFFFFF)
    y ^= y >> np.uint64(18)
    y ^= (y << np.uint64(15)) & np.uint64(0xEFC60000)
    x = y.copy()
    for _ in range(5):
        x = y ^ ((x << np.uint64(7)) & np.uint64(0x9D2C5680))
    y = x & m32
    x = y.copy()
    for _ in range(3):
        x = y ^ (x >> np.uint64(11))
    return (x & m32).astype(np.uint32)


def _is_mt_stream(words: np.ndarray) -> bool:
    """Whether ≥ 625 words are consecutive MT19937 outputs (the state recurrence holds)."""
    mt = _untemper(words).astype(np.uint64)
    k = np.arange(mt.size - 624)
    y = (mt[k] & np.uint64(0x80000000)) | (mt[k + 1] & np.uint64(0x7FFFFFFF))
    nxt = mt[k + 397] ^ (y >> np.uint64(1)) ^ np.where(y & np.uint64(1), np.uint64(0x9908B0DF),
                                                        np.uint64(0))
    return bool((nxt == mt[k + 624]).all())


def test_untemper_recovers_mt19937() -> None:  # the attack's tools, checked on a real stream
    words = np.random.MT19937(3).random_raw(700).astype(np.uint32)
    assert _is_mt_stream(words)
    assert not _is_mt_stream(np.random.default_rng(3).integers(0, 2**32, 700).astype(np.uint32))


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_olh_public_seeds_are_not_outputs_of_the_callers_stream(backend) -> None:
    """With a caller's Generator(MT19937), the old code published raw outputs of the caller's
    stream as the seeds (hi, lo halves): a server could untemper 624 of them into the whole
    generator state and replay every private decision. Public seeds must come from a separate
    generator."""
    n = 700
    o = hh.OLH(1.0, 1000, num_hashes=None)
    r = hh.perturb(o, np.arange(n), np.random.Generator(np.random.MT19937(11)), backend=backend)
    seeds = np.asarray(r.seeds, dtype=np.uint64)
    for half in (seeds >> np.uint64(32), seeds & np.uint64(0xFFFFFFFF)):
        assert not _is_mt_stream(half.astype(np.uint32))


def test_olh_private_decisions_cannot_be_replayed_from_the_public_seeds() -> None:
    """The full attack on the numpy reference: recover the MT19937 state from the last 624
    published seed halves, continue the generator and replay the GRR decisions. Old code:
    every bucket predicted; now: chance agreement (about 0.32 here)."""
    n = 2000
    o = hh.OLH(1.0, 1000, num_hashes=None)
    v = np.arange(n) % 1000
    r = hh.perturb(o, v, np.random.Generator(np.random.MT19937(5)), backend="numpy")
    lo = (np.asarray(r.seeds, dtype=np.uint64) & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    bg = np.random.MT19937(0)
    bg.state = {"bit_generator": "MT19937",
                "state": {"key": _untemper(lo[-624:]), "pos": 624}}
    clone = np.random.Generator(bg)
    x = O.olh_hashes(o, r.seeds, v)
    guess = grr_reference(O.flip_probability(o.epsilon, o.g), o.g, x, clone)
    assert (guess == r.buckets).mean() < 0.6


def test_olh_public_seeds_never_use_the_callers_secure_words() -> None:
    """A SecureGenerator's words must never become public seeds (old code: seed =
    (hi << 32) | lo of two of its words): public values come from a fresh SecureGenerator."""
    g = Counting(keep=True)
    r = hh.perturb(hh.OLH(1.0, 1000, num_hashes=None), np.arange(500), g, backend="numba")
    low32 = set((np.concatenate(g.words) & np.uint64(0xFFFFFFFF)).tolist())
    hi = (np.asarray(r.seeds, dtype=np.uint64) >> np.uint64(32)).tolist()
    assert sum(h in low32 for h in hi) < 5  # chance: 500·2000/2^32 ≈ 2e-4 expected hits


def test_public_generator_is_separate_reproducible_and_one_way() -> None:
    a = public_generator(np.random.default_rng(7)).integers(0, 2**63, size=4)
    b = public_generator(7).integers(0, 2**63, size=4)
    np.testing.assert_array_equal(a, b)  # int seeds stay reproducible
    g = np.random.default_rng(7)
    first = g.integers(0, 2**32, size=8)  # what public_generator consumed
    assert not np.isin(a % 2**32, first).any()
    assert isinstance(public_generator(secure_generator()), SecureGenerator)
    c = Counting()
    public_generator(c).integers(0, 10, size=100)
    assert c.nbytes == 0  # the caller's secure stream is not touched


def test_kde_public_seed_comes_from_the_public_generator() -> None:
    p = kde.KDEParams("l1", epsilon=1.0, radius=1.0, size_hint=16)
    s = kde.build(p, np.zeros((20, 1)), 3, backend="numpy")
    assert s.public_seed == int(public_generator(3).integers(0, 2**63))
