"""Soundness of dpkit's DP-SGD ε against the measured anchors and against live references.

The soundness rule (ARCHITECTURE.md): dpkit's ε is never below dp_accounting's PLD value and
never above its RDP value by more than numerical noise. dpkit's default orders contain every
dp_accounting default order and its fractional orders are exact, so dpkit ≤ dpacc RDP.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from dpkit.accounting import dpsgd

# A copy of /work/shared/specs/reference_eps.csv (values rounded to 6 significant digits).
CSV_PATH = Path(__file__).with_name("reference_eps.csv")
ROWS = [
    {
        "q": float(r["q"]),
        "sigma": float(r["sigma"]),
        "steps": int(float(r["steps"])),
        "delta": float(r["delta"]),
        "rdp": float(r["eps_dpacc_rdp"]),
        "pld": float(r["eps_dpacc_pld"]),
        "opacus_rdp": float(r["eps_opacus_rdp"]),
    }
    for r in csv.DictReader(CSV_PATH.open())
]


def _id(row: dict) -> str:
    return f"q={row['q']:g}-s={row['sigma']:g}-T={row['steps']}-d={row['delta']:g}"


def test_the_grid_has_all_87_rows():
    assert len(ROWS) == 87


@pytest.mark.parametrize("row", ROWS, ids=_id)
def test_reference_row_is_bracketed_by_dpacc_pld_and_rdp(row):
    eps = dpsgd.epsilon(row["sigma"], row["q"], row["steps"], row["delta"], method="rdp")
    # CSV values are rounded to 6 significant digits: up to 5e-6 relative either way
    assert eps <= row["rdp"] * (1 + 1e-6) + 5e-6 * row["rdp"], (eps, row["rdp"])
    assert eps >= row["pld"] * (1 - 5e-6), (eps, row["pld"])


# about 15 rows spread over the grid (every 6th row), recomputed live: no rounding slack
LIVE_ROWS = ROWS[::6]


@pytest.mark.parametrize("row", LIVE_ROWS, ids=_id)
def test_never_above_live_dp_accounting_rdp(oracle, row):
    args = (row["q"], row["sigma"], row["steps"], row["delta"])
    ref = oracle.dpacc_rdp(*args)
    eps = dpsgd.epsilon(row["sigma"], row["q"], row["steps"], row["delta"], method="rdp")
    assert eps <= ref * (1 + 1e-6), (eps, ref)


# PLD costs ~0.3-1 s per call: a few rows with small, medium and large ε
PLD_ROWS = [
    r for r in ROWS
    if (r["q"], r["sigma"], r["steps"], r["delta"]) in {
        (0.01, 1.0, 1000, 1e-5), (0.001, 1.0, 10000, 1e-5), (0.05, 1.5, 100, 1e-5),
        (0.004, 3.0, 1000, 1e-5),
    }
]


def test_pld_rows_selected():
    assert len(PLD_ROWS) == 4


@pytest.mark.parametrize("row", PLD_ROWS, ids=_id)
def test_never_below_live_dp_accounting_pld(oracle, row):
    ref = oracle.dpacc_pld(row["q"], row["sigma"], row["steps"], row["delta"])
    eps = dpsgd.epsilon(row["sigma"], row["q"], row["steps"], row["delta"], method="rdp")
    assert eps >= ref, (eps, ref)


# ----------------------------------------------------------------------- random points
def _log_uniform(lo: float, hi: float):
    return st.floats(math.log(lo), math.log(hi)).map(math.exp)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    q=_log_uniform(1e-4, 0.3),
    sigma=st.floats(0.5, 5.0),
    steps=st.integers(1, 10_000),
    delta=_log_uniform(1e-8, 1e-3),
)
def test_random_points_never_above_dp_accounting_rdp(oracle, q, sigma, steps, delta):
    ref = oracle.dpacc_rdp(q, sigma, steps, delta)
    eps = dpsgd.epsilon(sigma, q, steps, delta, method="rdp")
    assert eps <= ref * (1 + 1e-6), (eps, ref)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.filter_too_much])
@given(
    q=_log_uniform(1e-3, 0.05),
    sigma=st.floats(0.8, 5.0),
    steps=st.integers(10, 2000),
    delta=_log_uniform(1e-8, 1e-3),
)
def test_random_points_never_below_dp_accounting_pld(oracle, q, sigma, steps, delta):
    """PLD is the tightest anchor; restricted to moderate ε (dpkit's ε, an upper bound on
    the PLD ε, in [0.05, 50]) and to parameters where one PLD call stays under ~1 s."""
    eps = dpsgd.epsilon(sigma, q, steps, delta, method="rdp")
    assume(0.05 <= eps <= 50)
    ref = oracle.dpacc_pld(q, sigma, steps, delta)
    assert eps >= ref, (eps, ref)


# ------------------------------------------------------------------------------- Opacus
OPACUS_ROWS = ROWS[3::9]


@pytest.mark.filterwarnings("ignore:Optimal order is the largest alpha")
@pytest.mark.parametrize("row", OPACUS_ROWS, ids=_id)
def test_never_above_opacus_rdp(oracle, row):
    """Opacus's orders (1.1…10.9, 12…63) are a subset of dpkit's, and its fractional orders
    are exact too, so dpkit can only be smaller."""
    ref = oracle.opacus_rdp(row["q"], row["sigma"], row["steps"], row["delta"])
    eps = dpsgd.epsilon(row["sigma"], row["q"], row["steps"], row["delta"], method="rdp")
    assert eps <= ref + 1e-9, (eps, ref)
