"""Regressions for the input-validation defects the submodule contract specs found.

Each case failed before its fix with a non-DPKitError exception, a RuntimeWarning, or (kde
neighbour) by silently accepting an unknown relation.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from dpkit.errors import DPKitError
from dpkit.mechanisms import rqm as R
from dpkit.mechanisms.bandits import privacy as BP
from dpkit.mechanisms.continual import privacy as CP
from dpkit.mechanisms.kde import privacy as KP
from dpkit.mechanisms.rqm import privacy as RP

CASES = [
    (BP.aggregate_noise_std, (None,), "params"),
    (BP.privacy_event, (None,), "params"),
    (BP.joint_sensitivity, (1e308, 1.0), "joint_sensitivity"),
    (BP.legacy_code_sigma_ldp, (1.0, 0.0, 1), "delta"),
    (BP.amplification_sigma, (1.0, 1e-9, 1, 0, 1, 1.0), "num_silos"),
    (BP.vector_sum_parameters, (1.0, 1e-9, 1, 0), "users"),
    (BP.vector_sum_parameters, (1.3407807929942597e154, 1e-9, 1, 1), "epsilon"),
    (CP.privacy_event, (None,), "params"),
    (CP.toeplitz_pattern_norm_sq, (np.zeros(2), 3, 1, 1), "coeffs"),
    (CP.toeplitz_pattern_norm_sq, (np.ones(3), "3", 1, 1), "horizon"),
    (CP.blt_pattern_norm_sq, ([1.5], [1.0], 3, 1, 1), "theta"),
    (KP.relation_of, ("xyz",), "relation"),
    (KP.neighbour_factor, (None,), "relation"),
    (KP.sensitivity_bruteforce, (None, np.zeros((1, 1)), np.zeros((1, 1)), [1.0]),
     "sketch_fn"),
    (KP.sensitivity_bruteforce, (np.sum, 1.0, np.zeros((1, 1)), [1.0]), "base_points"),
    (RP.randomized_response_bound, (None, 2.0), "eps"),
    (RP.randomized_response_bound, (1.0, 0.5), "alpha"),
    (R.RQMParams, (1.0, 1e308, 2, 0.5), "extension"),
]


@pytest.mark.parametrize(("fn", "args", "word"), CASES,
                         ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(CASES)])
def test_bad_input_raises_dpkit_error_naming_it(fn, args, word) -> None:  # noqa: ANN001
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(DPKitError, match=word):
            fn(*args)


def test_calibrate_with_huge_extension_raises_without_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(DPKitError, match="extension"):
            R.calibrate(epsilon=1.0, clip=1.0, num_levels=2, extension=1e308)


def test_valid_results_unchanged() -> None:
    assert KP.relation_of("add_remove") != KP.relation_of("replace")
    assert KP.neighbour_factor("replace") == 2.0
    assert BP.joint_sensitivity(1.0, 1.0) == pytest.approx(6.0**0.5)
    c = CP.sqrt_coefficients(5)
    assert CP.toeplitz_pattern_norm_sq(c, 5, 1, 1) == pytest.approx(float(c @ c))
