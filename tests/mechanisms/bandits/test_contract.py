"""The mechanism contract (tests/contracts/mechanism.py) for the federated linear bandits
(dpkit.mechanisms.bandits), protocol "silo_ldp", a small synthetic environment.

Law: the final cumulative regret of 40 runs (a discrete statistic: multiples of the reward
gaps), numba / JAX against the numpy reference (chi-square). No audit here: the silo-level tree
release is audited with its Neyman–Pearson statistic in tests/audit/test_bandits_audit.py.
Known weakness: the final regret at this size is insensitive to the noise level (a numba twin
run at ε = 50 is not caught, also at horizon 32), so this law test only guards gross errors.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from dpkit.accounting import Event
from dpkit.mechanisms.bandits import BanditParams, privacy_event, simulate, synthetic_environment
from tests.contracts.mechanism import MechanismContract, to_numpy

BAD = st.sampled_from([0, -1, 2.5, "2", None])


class TestBanditsContract(MechanismContract):
    backends = ("numpy", "numba", "jax")
    law_draws = 40
    wrong_ranks = False

    def params(self) -> BanditParams:
        return BanditParams(2, 3, 2, 8, 2, "silo_ldp", epsilon=1.0, delta=1e-5)

    def bad_params(self) -> list[tuple[dict[str, Any], str]]:
        return [({"num_silos": 0}, "num_silos"), ({"protocol": "x"}, "protocol"),
                ({"horizon": 0}, "horizon"), ({"epsilon": -1.0}, "epsilon")]

    def bad_param_values(self) -> dict[str, st.SearchStrategy[Any]]:
        return {"num_silos": BAD, "num_arms": BAD, "horizon": BAD}

    def data(self, rng: np.random.Generator) -> Any:
        return synthetic_environment(2, 3, 2, 8, rng=int(rng.integers(0, 2**31)))

    def bad_data_makers(self) -> dict[str, Any]:
        env = self.data(np.random.default_rng(0))
        return {"none": lambda draw: None, "str": lambda draw: "env",
                "array": lambda draw: np.zeros((2, 3)),
                "wrong_dim": lambda draw: synthetic_environment(3, 3, 2, 8, rng=0),
                "short": lambda draw: synthetic_environment(2, 3, 2, 4, rng=0),
                "params": lambda draw: env.__class__}

    def release(self, params: BanditParams, data: Any, rng: Any, backend: str) -> Any:
        return simulate(params, data, rng=rng, backend=backend)

    def law_statistic(self, output: Any) -> np.ndarray:
        return np.asarray(to_numpy(output.regret), dtype=float)[-1:]

    def privacy_event(self, params: BanditParams) -> Event:
        return privacy_event(params)
