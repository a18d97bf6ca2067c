"""Contract specs: dpkit.mechanisms.kde."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from dpkit.errors import DPKitError
from dpkit.mechanisms import kde as K

from .harness import record, spec
from .strategies import (
    Call,
    backends,
    enum,
    f_arrays,
    floats_any,
    hostile,
    ints_any,
    mix,
    numbers,
    seeds,
)

record(K.PublicRandomness, "record of public_randomness (regenerated from the seed)")

DISTANCES = ("l1", "l2")


def params(draw: Any) -> Any:
    if draw(st.integers(0, 9)) == 9:
        return draw(st.sampled_from([None, "l1", 1.0]))
    kind = draw(st.sampled_from(K.KINDS))
    kw: dict[str, Any] = {"size_hint": draw(st.integers(1, 64)),
                          "relation": draw(st.sampled_from(["add_remove", "replace_one"]))}
    if kind in DISTANCES:
        kw["mode"] = draw(st.sampled_from(["exact", "ring"]))
        if kind == "l2":
            kw["embed_dim"] = draw(st.integers(1, 8))
    else:
        kw["bandwidth"] = draw(numbers(0.1, 3.0))
        kw["features"] = draw(st.integers(1, 32))
        kw["count_fraction"] = draw(st.sampled_from([0.0, 0.25]))
        if kind == "cauchy":
            kw["cauchy_method"] = draw(st.sampled_from(["expsum", "mixture"]))
            kw["expsum_error"] = draw(st.sampled_from([1e-2, 1e-1]))
    if draw(st.booleans()):
        kw["dimension"] = draw(st.integers(1, 3))
    try:
        return K.KDEParams(kind, draw(numbers(0.1, 5.0)), draw(numbers(0.1, 3.0)), **kw)
    except Exception:  # noqa: BLE001
        return K.KDEParams("l1", 1.0, 1.0, size_hint=16)


@spec(K.KDEParams, examples=40)
def _params(draw: Any) -> Call:
    kw: dict[str, Any] = {}
    for name, valid, bad in (
        ("bandwidth", numbers(0.1, 3.0), floats_any()),
        ("dimension", st.integers(1, 4), ints_any()),
        ("relation", st.sampled_from(["add_remove", "replace_one"]), hostile()),
        ("neighbour", st.sampled_from(["add_remove", "replace"]), hostile()),  # deprecated
        ("size_hint", st.integers(1, 2**20), ints_any()),
        ("mode", st.sampled_from(["exact", "ring"]), hostile()),
        ("alpha", numbers(0.01, 1.0), floats_any()),
        ("ring_rep", st.sampled_from(["low", "mid"]), hostile()),
        ("embed_dim", st.integers(1, 16), ints_any()),
        ("embed_beta", numbers(0.01, 0.5), floats_any()),
        ("features", st.integers(1, 64), ints_any()),
        ("jl_dim", st.integers(1, 8), ints_any()),
        ("cauchy_method", st.sampled_from(["expsum", "mixture"]), hostile()),
        ("expsum_error", numbers(1e-4, 0.5), floats_any()),
        ("count_fraction", numbers(0.0, 0.9), floats_any()),
    ):
        if draw(st.integers(0, 3)) == 0:
            kw[name] = draw(mix(valid, bad))
    return Call((draw(enum(K.KINDS)), draw(mix(numbers(0.01, 10.0), floats_any())),
                 draw(mix(numbers(0.01, 10.0), floats_any()))), kw)


def dim(p: Any) -> int:
    return p.dimension if isinstance(p, K.KDEParams) and p.dimension else 2


def points(draw: Any, p: Any, lo: float = -3.0, hi: float = 3.0) -> Any:
    d = dim(p)
    return draw(mix(f_arrays(st.tuples(st.integers(0, 30), st.just(d)), lo, hi),
                    st.one_of(hostile(), f_arrays(st.tuples(st.integers(1, 4),
                                                            st.just(d + 1))))))


@spec(K.build, seed=2, examples=25)
def _build(draw: Any) -> Call:
    p = params(draw)
    return Call((p, points(draw, p), draw(seeds())), {"backend": draw(backends())})


public_seeds = mix(st.integers(0, 2**32), st.one_of(ints_any(), floats_any()))


@spec(K.sketch, examples=25)
def _sketch(draw: Any) -> Call:
    p = params(draw)
    return Call((p, points(draw, p), draw(public_seeds)), {"backend": draw(backends())})


def a_sketch(draw: Any, p: Any = None) -> Any:
    """A sketch from K.sketch (mostly), sometimes with one field corrupted, or not a sketch."""
    p = params(draw) if p is None else p
    if not isinstance(p, K.KDEParams) or draw(st.integers(0, 7)) == 7:
        return draw(hostile())
    pts = draw(f_arrays(st.tuples(st.integers(0, 10), st.just(dim(p))), -2.0, 2.0))
    sk = K.sketch(p, pts, draw(st.integers(0, 5)), backend="numpy")
    if draw(st.integers(0, 5)) == 5:
        field = draw(st.sampled_from(["n", "counts", "sums", "rff", "dimension"]))
        bad = draw(st.one_of(hostile(), st.just(-1)))
        fields = {f: getattr(sk, f) for f in ("params", "dimension", "public_seed", "n",
                                              "counts", "sums", "rff")}
        try:  # a corrupted sketch cannot be built (KDESketch validates); the error is tested
            return K.KDESketch(**{**fields, field: bad})  # by the KDESketch spec
        except DPKitError:
            return draw(hostile())
    return sk


@spec(K.KDESketch)
def _kde_sketch(draw: Any) -> Call:
    sk = a_sketch(draw)
    if not isinstance(sk, K.KDESketch):
        return Call((params(draw), draw(mix(st.integers(1, 3))), draw(public_seeds),
                     draw(mix(st.integers(0, 5)))))
    return Call((sk.params, sk.dimension, sk.public_seed, sk.n),
                {"counts": sk.counts, "sums": sk.sums, "rff": sk.rff})


@spec(K.merge)
def _merge(draw: Any) -> Call:
    p = params(draw)
    return Call((a_sketch(draw, p), a_sketch(draw, p if draw(st.integers(0, 3)) < 3 else None)))


@spec(K.privatize, seed=1)
def _privatize(draw: Any) -> Call:
    return Call((a_sketch(draw), draw(seeds())))


@spec(K.release_noise, seed=1)
def _release_noise(draw: Any) -> Call:
    return Call((a_sketch(draw), draw(seeds()),
                 draw(st.one_of(st.none(), mix(st.integers(1, 3), ints_any())))))


def structure(draw: Any) -> Any:
    p = params(draw)
    if not isinstance(p, K.KDEParams) or draw(st.integers(0, 7)) == 7:
        return draw(hostile())
    pts = draw(f_arrays(st.tuples(st.integers(1, 10), st.just(dim(p))), -2.0, 2.0))
    return K.build(p, pts, draw(st.integers(0, 5)), backend="numpy")


@spec(K.KDEStructure)
def _kde_structure(draw: Any) -> Call:
    s = structure(draw)
    if not isinstance(s, K.KDEStructure):
        return Call((params(draw), 0, None, None, None, None, {}, None))
    which = draw(st.sampled_from(["none", "counts", "rff", "count", "scales", "event"]))
    fields = {f: getattr(s, f) for f in ("params", "public_seed", "counts", "sums", "rff",
                                          "count", "scales", "event")}
    if which != "none":
        fields[which] = draw(hostile())
    return Call((), fields)


@spec(K.query, finite=True)
def _query(draw: Any) -> Call:
    s = structure(draw)
    p = s.params if isinstance(s, K.KDEStructure) else None
    return Call((s, points(draw, p, -5.0, 5.0)),
                {"normalize": draw(mix(st.booleans(), hostile())),
                 "backend": draw(backends())})


@spec(K.exact_sums, finite=True)
def _exact(draw: Any) -> Call:
    p = params(draw)
    return Call((p, points(draw, p), points(draw, p, -5.0, 5.0)))


for _fn in (K.privacy_event, K.noise_scales):
    def _p_dim(draw: Any) -> Call:
        return Call((params(draw), draw(st.one_of(st.none(), mix(st.integers(1, 4),
                                                                  ints_any())))))
    spec(_fn)(_p_dim)


@spec(K.public_randomness)
def _public(draw: Any) -> Call:
    return Call((params(draw), draw(mix(st.integers(1, 4), ints_any())),
                 draw(public_seeds)))


@spec(K.expsum_terms, finite=True)
def _expsum(draw: Any) -> Call:
    return Call((draw(mix(numbers(1e-4, 0.5), floats_any())),
                 draw(mix(numbers(0.1, 1.0), floats_any()))))


@spec(K.ring_boundaries)
def _rings(draw: Any) -> Call:
    return Call((draw(mix(numbers(0.01, 1.0), floats_any())),
                 draw(mix(st.integers(1, 2**20), ints_any()))))


