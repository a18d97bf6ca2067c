"""Shared fixtures of the dpkit.pipeline tests: small synthetic tables and a Dask converter.

Dask runs on the synchronous scheduler in most tests (fast, deterministic); a few tests use a
``distributed.LocalCluster`` explicitly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

pd = pytest.importorskip("pandas")


@pytest.fixture
def sync_dask() -> Iterator[None]:
    """Dask's synchronous scheduler for the duration of a test."""
    dask = pytest.importorskip("dask")
    with dask.config.set(scheduler="sync"):
        yield


@pytest.fixture
def to_dask() -> Callable[[Any, int], Any]:
    """``to_dask(pdf, npartitions)``: the same table as a Dask DataFrame."""
    dd = pytest.importorskip("dask.dataframe")

    def convert(pdf: Any, npartitions: int) -> Any:
        return dd.from_pandas(pdf, npartitions=npartitions, sort=False)

    return convert


def make_events(n_rows: int = 20_000, n_units: int = 2_000, n_keys: int = 30,
                seed: int = 0) -> Any:
    """A table of user events: unit ``user``, key ``country`` (str, skewed), ``day`` (int),
    ``value`` (float)."""
    rng = np.random.default_rng(seed)
    w = 1.0 / np.arange(1, n_keys + 1)
    keys = np.array([f"c{i:02d}" for i in range(n_keys)], dtype=object)
    return pd.DataFrame({
        "user": rng.integers(0, n_units, n_rows),
        "country": keys[rng.choice(n_keys, n_rows, p=w / w.sum())],
        "day": rng.integers(0, 7, n_rows),
        "value": rng.normal(2.0, 3.0, n_rows),
    })


@pytest.fixture
def events() -> Any:
    """20 000 rows, 2 000 users, 30 countries (Zipf-like)."""
    return make_events()
