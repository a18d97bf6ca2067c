"""Smoke test of examples/pipeline_events.py at 10^4 rows (Dask threaded scheduler, no cluster).

It checks the run end to end: the Parquet files are written and read back with Dask, every
release returns a frame, and the ledger composes the four releases into one finite (ε, δ)
that is at least each release's own ε (composition can only add).
"""

from __future__ import annotations

import importlib.util
import io
import math
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pandas")
pytest.importorskip("dask.dataframe")
pytest.importorskip("pyarrow")

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "pipeline_events.py"


def _load() -> Any:
    spec = importlib.util.spec_from_file_location("pipeline_events_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_example_runs_end_to_end(tmp_path: Path) -> None:
    ex = _load()
    files = ex.write_events(tmp_path / "events", 10_000, seed=1, progress=False)
    assert files == len(list((tmp_path / "events").glob("*.parquet"))) >= 3
    buf = io.StringIO()
    res = ex.run(tmp_path / "events", workers=0, seed=5, progress=False, out=buf)
    text = buf.getvalue()
    assert res["rows"] == 10_000
    assert 0 < res["rows_kept"] <= 10_000
    for name in ("count per country", "sum of seconds per country", "top pages (local DP)",
                 "daily counts per country (continual)"):
        assert name in text
        assert hasattr(res[name], "columns")
    daily = res["daily counts per country (continual)"]
    assert len(daily) == ex.DAYS * len(ex.COUNTRIES)
    acct = res["accountant"]
    assert len(acct.ledger) == 4
    assert all(ev.relation == "replace_one" for ev, _ in acct.ledger)
    eps, delta = res["epsilon"], res["delta"]
    assert math.isfinite(eps) and 0 < delta < 1e-6
    assert "decided by PLD" in text
    # the four releases compose: the total is above each one's ε (count: 2 · 0.5 after the
    # replace-one conversion; heavy hitters: 2.0)
    assert eps > 2.0 + 1.0 + 1.0
    assert f"total: ({eps:.3f}" in text
