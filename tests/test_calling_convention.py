"""One calling convention (issue 15, item 2): ``rng`` and ``backend`` the same way everywhere.

* ``rng`` = None | int | numpy Generator | SecureGenerator | JAX key (JAX backend): an int seed
  works on every backend; with ``backend="jax"`` the same int (or a Generator in the same state)
  gives the same output, and a JAX key works as before. One helper turns them into a key
  (:func:`dpkit._jax_random.as_key`).
* ``backend="auto"`` follows one rule (JAX for a JAX input array, else numba when installed,
  else numpy): a JAX key with "auto" and numpy data is refused with a message naming
  ``backend="jax"`` (bandits and the sequential simulator used to pick JAX from ``rng``).

JAX sizes are tiny: these check the convention, not the laws (the kernel tests do that).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

jax = pytest.importorskip("jax")

from dpkit.errors import DPKitError  # noqa: E402
from dpkit.mechanisms import bandits as B  # noqa: E402
from dpkit.mechanisms import continual as C  # noqa: E402
from dpkit.mechanisms import heavy_hitters as hh  # noqa: E402
from dpkit.mechanisms import kde, rqm  # noqa: E402
from dpkit.mechanisms import smoothed_rr as srr  # noqa: E402
from dpkit.random import secure_generator  # noqa: E402


def _arrays(out: Any) -> list[np.ndarray]:
    """The released numbers of any sampler's output, as numpy arrays."""
    if isinstance(out, hh.OLHReports):
        return [np.asarray(out.seeds), np.asarray(out.buckets)]
    if isinstance(out, kde.KDEStructure):
        parts = [out.counts, out.sums, out.rff, out.count, out.public_seed]
        return [np.asarray(v) for v in parts if v is not None]
    if isinstance(out, B.SimulationResult):
        return [np.asarray(out.regret)]
    return [np.asarray(out)]


_BANDIT_P = B.BanditParams(2, 3, 2, 20, 5, "silo_ldp", epsilon=4.0, delta=1e-3)
_BANDIT_ENV = B.synthetic_environment(2, 3, 2, 20, rng=1)
_ITEMS = np.array([0, 3, 1, 2, 3])

SAMPLERS: dict[str, Callable[..., Any]] = {
    "rqm.quantize": lambda rng, backend="jax": rqm.quantize(
        rqm.RQMParams(1.0, 0.5, 8, 0.5), np.linspace(-1, 1, 6), rng, backend=backend),
    "heavy_hitters.perturb GRR": lambda rng, backend="jax": hh.perturb(
        hh.GRR(1.0, 4), _ITEMS, rng, backend=backend),
    "heavy_hitters.perturb OUE": lambda rng, backend="jax": hh.perturb(
        hh.OUE(1.0, 4), _ITEMS, rng, backend=backend),
    "heavy_hitters.perturb OLH": lambda rng, backend="jax": hh.perturb(
        hh.OLH(1.0, 4), _ITEMS, rng, backend=backend),
    "kde.build": lambda rng, backend="jax": kde.build(
        kde.KDEParams("l1", 1.0, 1.0, size_hint=8), np.linspace(-1, 1, 10).reshape(5, 2), rng,
        backend=backend),
    "smoothed_rr.respond": lambda rng, backend="jax": srr.respond(
        srr.SmoothedRRParams(2.0), np.array([-1.0, 0.0, 0.5, 2.0]), rng, backend=backend),
    "continual.run": lambda rng, backend="jax": C.run(
        C.CounterParams.for_rho("tree", horizon=8, rho=0.5, bound=1.0), np.ones(8), rng,
        backend=backend),
    "bandits.simulate": lambda rng, backend="jax": B.simulate(
        _BANDIT_P, _BANDIT_ENV, rng, backend=backend),
}


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_int_seed_on_jax_is_reproducible_and_a_key_still_works(name: str) -> None:
    f = SAMPLERS[name]
    a, b = _arrays(f(7)), _arrays(f(7))
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    # a Generator in the same state gives the same output too
    g1, g2 = _arrays(f(np.random.default_rng(3))), _arrays(f(np.random.default_rng(3)))
    for x, y in zip(g1, g2, strict=True):
        np.testing.assert_array_equal(x, y)
    # a JAX key works as before (and the int seed s is the key jax.random.key(s))
    k = _arrays(f(jax.random.key(7)))
    for x, y in zip(a, k, strict=True):
        np.testing.assert_array_equal(x, y)
    f(None)  # a fresh OS-seeded key
    with pytest.raises(DPKitError, match="hardened tier"):
        f(secure_generator())
    with pytest.raises(DPKitError, match="rng"):
        f("seed")
    with pytest.raises(DPKitError, match="rng seed"):
        f(-1)


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_auto_with_a_jax_key_and_numpy_data_points_to_backend_jax(name: str) -> None:
    with pytest.raises(DPKitError, match="backend='jax'"):
        SAMPLERS[name](jax.random.key(0), backend="auto")


def test_sequential_simulator_follows_the_auto_rule() -> None:
    with pytest.raises(DPKitError, match="backend='jax'"):
        srr.simulate_sequential_learning(5, 2, epsilon=1.0, rng=jax.random.key(0))
    a = srr.simulate_sequential_learning(5, 2, epsilon=1.0, rng=7, backend="jax")
    b = srr.simulate_sequential_learning(5, 2, epsilon=1.0, rng=7, backend="jax")
    np.testing.assert_array_equal(a.beliefs, b.beliefs)


def test_as_key_large_seeds_and_raw_keys() -> None:
    from dpkit import _jax_random as R

    big = R.as_key(2**70)
    np.testing.assert_array_equal(jax.random.key_data(big), jax.random.key_data(R.as_key(2**70)))
    raw = jax.random.PRNGKey(0)
    assert R.as_key(raw) is raw
    with pytest.raises(DPKitError, match="rng"):
        R.as_key(True)


# ------------------------------------------------------------------ relation (one spelling)
@pytest.mark.parametrize(("old", "new"), [("replace", "replace_one"), ("zero_out", "add_remove")])
@pytest.mark.parametrize("kw", [dict(noise_multiplier=2.0), dict(epsilon=1.0)])
def test_continual_relation_and_the_deprecated_neighbours_alias(old: str, new: str,
                                                                kw: dict[str, Any]) -> None:
    from dataclasses import replace

    a = C.CounterParams("tree", 16, bound=0.5, neighbours=old, **kw)
    b = C.CounterParams("tree", 16, bound=0.5, relation=new, **kw)
    assert a == b and a.relation == new and a.neighbours is None
    assert a.sensitivity == (1.0 if new == "replace_one" else 0.5)
    assert C.privacy_event(a) == C.privacy_event(b)
    assert C.privacy_event(a).to_dict() == C.privacy_event(b).to_dict()
    r1 = C.CounterParams.for_rho("honaker", 16, rho=0.5, neighbours=old)
    r2 = C.CounterParams.for_rho("honaker", 16, rho=0.5, relation=new)
    assert r1 == r2 and C.privacy_event(r1) == C.privacy_event(r2)
    # old code's dataclasses.replace(p, neighbours=...) still works: the alias decides
    assert replace(C.CounterParams("tree", 16, noise_multiplier=1.0), neighbours=old) == \
        C.CounterParams("tree", 16, noise_multiplier=1.0, relation=new)


@pytest.mark.parametrize(("old", "new"), [("replace", "replace_one"), ("add_remove", "add_remove")])
def test_kde_relation_and_the_deprecated_neighbour_alias(old: str, new: str) -> None:
    a = kde.KDEParams("l1", 1.0, 1.0, dimension=2, size_hint=8, neighbour=old)
    b = kde.KDEParams("l1", 1.0, 1.0, dimension=2, size_hint=8, relation=new)
    assert a == b and a.relation == new and a.neighbour is None
    assert kde.privacy_event(a) == kde.privacy_event(b)
    assert kde.privacy_event(a).to_dict() == kde.privacy_event(b).to_dict()


def test_relation_default_and_bad_values() -> None:
    assert C.CounterParams("tree", 8, noise_multiplier=1.0).relation == "replace_one"
    assert kde.KDEParams("l1", 1.0, 1.0).relation == "add_remove"
    for bad in ("replace", "zero_out", 3, np.array(["add_remove"])):
        with pytest.raises(DPKitError, match="relation"):
            C.CounterParams("tree", 8, noise_multiplier=1.0, relation=bad)
        with pytest.raises(DPKitError, match="relation"):
            kde.KDEParams("l1", 1.0, 1.0, relation=bad)
    with pytest.raises(DPKitError, match="neighbours"):
        C.CounterParams("tree", 8, noise_multiplier=1.0, neighbours="add")
    with pytest.raises(DPKitError, match="neighbour"):
        kde.KDEParams("l1", 1.0, 1.0, neighbour="replace_one")
