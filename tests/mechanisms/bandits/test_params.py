"""Tests of dpkit.mechanisms.bandits.params and .environment: validation names the field."""

from __future__ import annotations

import pytest

from dpkit.errors import DPKitError
from dpkit.mechanisms import bandits as B


# ============================================================================ validation
@pytest.mark.parametrize("kw,name", [
    (dict(protocol="fancy"), "protocol"),
    (dict(num_silos=0), "num_silos"),
    (dict(batch_size=20), "batch_size"),
    (dict(epsilon=-1.0), "epsilon"),
    (dict(epsilon=float("nan")), "epsilon"),
    (dict(delta=1.0), "delta"),
    (dict(delta=None), "delta"),
    (dict(feature_bound=0.0), "feature_bound"),
    (dict(reward_bound=float("inf")), "reward_bound"),
    (dict(alpha=0.0), "alpha"),
    (dict(lambda_rule="big"), "lambda_rule"),
])
def test_bad_params_named(kw: dict, name: str) -> None:
    base = dict(num_silos=2, num_arms=3, dim=2, horizon=10, batch_size=5, protocol="silo_ldp",
                epsilon=1.0, delta=1e-5)
    base.update(kw)
    with pytest.raises(DPKitError, match=name):
        B.BanditParams(**base)


def test_none_refuses_epsilon() -> None:
    with pytest.raises(DPKitError, match="epsilon"):
        B.BanditParams(2, 3, 2, 10, 5, "none", epsilon=1.0)


def test_environment_mismatch_and_rng() -> None:
    env = B.synthetic_environment(3, 4, 2, 50, 0)
    with pytest.raises(DPKitError, match="environment"):
        B.simulate(B.BanditParams(3, 4, 3, 50, 5, "none"), env, 0)
    with pytest.raises(DPKitError, match="backend"):
        B.simulate(B.BanditParams(2, 4, 3, 50, 5, "none"), env, 0, backend="gpu")
