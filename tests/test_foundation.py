"""Package-level promises: light import, explicit randomness, one validation format."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from dpkit import _validate as V
from dpkit.backend import resolve
from dpkit.errors import DPKitError
from dpkit.random import SecureGenerator, as_generator, secure_generator


def test_import_dpkit_loads_no_heavy_backend() -> None:
    code = ("import sys, dpkit, dpkit.accounting, dpkit.cli; "
            "print(','.join(m for m in ('jax', 'numba', 'torch', 'opacus') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_as_generator_contract() -> None:
    g = np.random.default_rng(1)
    assert as_generator(g) is g
    a, b = as_generator(7), as_generator(7)
    assert a.integers(0, 10**9) == b.integers(0, 10**9)
    s = secure_generator()
    assert as_generator(s) is s
    with pytest.raises(DPKitError, match="rng"):
        as_generator("seed")
    with pytest.raises(DPKitError, match="RandomState"):
        as_generator(np.random.RandomState(0))
    with pytest.raises(DPKitError, match=">= 0"):
        as_generator(-1)


def test_secure_generator_integers_are_uniform() -> None:
    """Chi-square test of 60 000 draws over 6 values; false alarm rate 1e-6."""
    from scipy import stats

    s = SecureGenerator()
    x = s.integers(0, 6, size=60_000)
    assert x.min() >= 0 and x.max() <= 5
    counts = np.bincount(x, minlength=6)
    assert stats.chisquare(counts).pvalue > 1e-6
    u = s.random(10_000)
    assert 0 <= u.min() and u.max() < 1
    assert stats.kstest(u, "uniform").pvalue > 1e-6
    assert stats.kstest(s.standard_normal(10_000), "norm").pvalue > 1e-6
    assert isinstance(s.integers(5), int) and len(s.bytes(16)) == 16
    with pytest.raises(DPKitError):
        s.integers(3, 3)


def test_validators_name_the_parameter() -> None:
    with pytest.raises(DPKitError, match=r"sigma must be > 0 and finite, got -1"):
        V.positive(sigma=-1)
    with pytest.raises(DPKitError, match="sigma must be a number, got NaN"):
        V.positive(sigma=math.nan)
    with pytest.raises(DPKitError, match=r"q must be in \[0, 1\], got 2"):
        V.probability(q=2)
    with pytest.raises(DPKitError, match="steps must be a whole number"):
        V.integer(steps=1.5)
    with pytest.raises(DPKitError, match="steps must be >= 0"):
        V.integer(minimum=0, steps=-1)
    assert V.integer(steps=1e9) == 10**9
    with pytest.raises(DPKitError, match="must be a real number"):
        V.finite(x=True)
    with pytest.raises(DPKitError, match=r"position\(s\) 1, 3"):
        V.finite_array(x=[0.0, math.nan, 1.0, math.inf])
    assert issubclass(DPKitError, ValueError)


def test_backend_resolution() -> None:
    assert resolve("numpy") == "numpy"
    assert resolve("auto", np.zeros(3)) in ("numba", "numpy")
    with pytest.raises(DPKitError, match="backend"):
        resolve("cuda")
