"""``dpkit demo``: its sections (one module per mechanism), their registry and the budget."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys

import numpy as np
import pytest

import dpkit.demo
from dpkit.accounting import ZCDP, Accountant, dpsgd
from dpkit.demo import SECTIONS, DemoPart, run_demo
from dpkit.demo import bandits as demo_bandits
from dpkit.demo import continual as demo_continual
from dpkit.demo import rqm as demo_rqm
from dpkit.demo.part import methods_text
from dpkit.errors import DPKitError, PLDUnavailableError

HAS_OPACUS = all(importlib.util.find_spec(m) is not None for m in ("torch", "opacus"))
NAMES = ["dpsgd", "additive", "rqm", "continual", "bandits", "heavy_hitters", "kde",
         "smoothed_rr", "opacus"]


def _module(name: str):  # noqa: ANN202
    return importlib.import_module(f"dpkit.demo.{name}")


def test_sections_run_in_the_registered_order() -> None:
    expected = [_module(n).section for n in NAMES if n != "opacus" or HAS_OPACUS]
    assert SECTIONS[:len(expected)] == expected
    assert len(SECTIONS) == len(NAMES)


@pytest.mark.parametrize("name", [n for n in NAMES if n not in ("opacus", "heavy_hitters",
                                                                "smoothed_rr", "bandits")])
def test_a_section_is_reproducible_from_its_generator(name: str) -> None:
    a = _module(name).section(np.random.default_rng(3))
    b = _module(name).section(np.random.default_rng(3))
    assert isinstance(a, DemoPart) and a.lines == b.lines and a.events == b.events
    assert a.title and a.lines and a.events


@pytest.mark.parametrize("name", [n for n in NAMES if n != "opacus" or HAS_OPACUS])
@pytest.mark.parametrize("rng", [None, 0, "rng"])
def test_a_section_refuses_anything_but_a_generator(name: str, rng: object) -> None:
    with pytest.raises(DPKitError, match="rng"):
        _module(name).section(rng)  # type: ignore[arg-type]


def test_rqm_section() -> None:
    part = demo_rqm.section(np.random.default_rng(0))
    assert part.events and part.lines
    ev, count = part.events[0]
    assert count == 1 and math.isfinite(ev.epsilon_inf())


def test_continual_section() -> None:
    part = demo_continual.section(np.random.default_rng(0))
    assert len(part.events) == 4 and len(part.lines) == 6


def test_bandits_section() -> None:
    part = demo_bandits.section(np.random.default_rng(0))
    assert part.events and part.lines


@pytest.mark.skipif(not HAS_OPACUS, reason="needs the [opacus] extra")
def test_opacus_section_is_short_and_accounted() -> None:
    part = _module("opacus").section(np.random.default_rng(0))
    assert isinstance(part, DemoPart) and len(part.lines) == 2
    assert "accuracy" in part.lines[1] and "epsilon" in part.lines[1]
    ((event, steps),) = part.events
    assert steps == 30 and event == dpsgd.event(1.0, event.sample_rate)
    eps = float(part.lines[1].split("epsilon = ")[1].split()[0])
    res = dpsgd.epsilon_details(1.0, event.sample_rate, steps, 1e-5)
    assert eps == pytest.approx(res.epsilon, abs=1e-4)
    assert f"PLD; RDP gives {res.rdp_epsilon:.4f}" in part.lines[1]


def test_a_missing_extra_is_skipped_with_a_note() -> None:
    """Without torch the Opacus section prints what to install and spends nothing."""
    code = (
        # dpkit first: scipy cannot be imported while sys.modules['torch'] is None
        "import sys, dpkit.accounting; sys.modules['torch'] = None\n"
        "import numpy as np\n"
        "from dpkit.demo import SECTIONS\n"
        "part = SECTIONS[-1](np.random.default_rng(0))\n"
        "print(part.title); print(part.lines); print(part.events)\n"
        "print('opacus' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert out[0] == "DP-SGD with Opacus: skipped"
    assert "torch" in out[1] and "dpkit[opacus]" in out[1]
    assert out[2:] == ["[]", "False"]


def test_compose_keeps_one_ledger_per_relation() -> None:
    parts = [s(np.random.default_rng(0)) for s in SECTIONS[:4]]
    ledgers = dpkit.demo.compose(parts)
    assert set(ledgers) == {"add_remove", "replace_one"}
    for ev, _ in (e for p in parts for e in p.events):
        homes = [ledgers[ev.relation]] if ev.relation else list(ledgers.values())
        assert all(any(e == ev for e, _ in acct.ledger) for acct in homes)


def test_run_demo_json_is_one_strict_object(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_demo(seed=1, as_json=True) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1

    def refuse(token: str) -> None:
        raise AssertionError(token)

    data = json.loads(out[0], parse_constant=refuse)
    assert set(data) == {"add_remove", "replace_one"}
    for v in data.values():
        assert 0 < v["epsilon"] < math.inf and v["delta"] == 1e-6 and v["events"] > 0
        # both methods: the smaller decides; no PLD only with a note saying why
        both = [x for x in (v["rdp_epsilon"], v["pld_epsilon"]) if x is not None]
        assert v["rdp_epsilon"] is not None and v["epsilon"] == min(both)
        assert (v["method"] == "pld") == (v["pld_epsilon"] == v["epsilon"] < v["rdp_epsilon"])
        assert (v["order"] is None) == (v["method"] == "pld")
        if v["pld_epsilon"] is None:
            assert "pld" in v["note"].lower()


def test_composed_budget_line_names_the_method_and_both_numbers() -> None:
    """The text under each composed budget: which method decided, and both numbers."""
    acct = Accountant().compose(dpsgd.event(1.0, 0.01), 1000)
    res = acct.epsilon_details(1e-6)
    text = dpkit.demo._both(res)
    assert text.startswith("decided by PLD: ")
    assert f"RDP {res.rdp_epsilon:.4f}" in text and f"PLD {res.pld_epsilon:.4f}" in text
    assert "Rényi order" not in text
    rdp_only = acct.compose(ZCDP(0.01)).epsilon_details(1e-6)
    text = dpkit.demo._both(rdp_only)
    assert text == f"decided by RDP: RDP {rdp_only.epsilon:.4f} (Rényi order {rdp_only.order:g})"
    assert rdp_only.pld_epsilon is None and "ZCDP" in rdp_only.note
    assert methods_text(res) == f"PLD; RDP gives {res.rdp_epsilon:.4f}"
    assert methods_text(rdp_only) == "RDP"
    rdp_wins = Accountant().compose(ZCDP(0.01)).epsilon_details(1e-6, method="rdp")
    assert methods_text(rdp_wins) == "RDP"


@pytest.mark.parametrize("name", ["additive", "rqm", "continual", "bandits", "heavy_hitters",
                                  "kde", "smoothed_rr"])
def test_each_section_prints_what_it_spends_by_both_methods(name: str) -> None:
    """The last line of a mechanism's section: its events' ε at δ = 1e-6 by "auto", the
    method that decided, and the other method's number (both computed here, separately)."""
    part = _module(name).section(np.random.default_rng(0))
    acct = Accountant().compose_many(part.events)
    rdp = acct.epsilon(1e-6, method="rdp")
    try:
        pld: float | None = acct.epsilon(1e-6, method="pld")
    except PLDUnavailableError:
        pld = None
    auto = min(rdp, pld) if pld is not None else rdp
    line = part.lines[-1]
    assert line.startswith(f"spends epsilon = {auto:.4f} at delta = 1e-06 (")
    if pld is None:
        assert line.endswith("(RDP)")
    elif pld < rdp:
        assert line.endswith(f"(PLD; RDP gives {rdp:.4f})")
    else:
        assert line.endswith(f"(RDP; PLD gives {pld:.4f})")


def test_dpsgd_section_prints_both_methods() -> None:
    part = _module("dpsgd").section(np.random.default_rng(0))
    (event, steps), = part.events
    q = event.sample_rate
    res = dpsgd.epsilon_details(1.1, q, steps, 1e-5)
    assert res.method == "pld" and res.pld_epsilon < res.rdp_epsilon
    assert part.lines[1] == (f"epsilon = {res.epsilon:.4f} at delta = 1e-5 "
                             f"(PLD; RDP gives {res.rdp_epsilon:.4f})")
    sigma = dpsgd.noise_multiplier(3.0, 1e-5, q, steps)
    assert f"{sigma:.4f}" in part.lines[2]
    assert f"RDP alone needs {dpsgd.noise_multiplier(3.0, 1e-5, q, steps, method='rdp'):.4f}" in (
        part.lines[2])
