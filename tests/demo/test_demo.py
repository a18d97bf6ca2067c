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
from dpkit.accounting import dpsgd
from dpkit.demo import SECTIONS, DemoPart, run_demo
from dpkit.demo import bandits as demo_bandits
from dpkit.demo import continual as demo_continual
from dpkit.demo import rqm as demo_rqm
from dpkit.errors import DPKitError

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
    assert len(part.events) == 4 and len(part.lines) == 5


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
    assert eps == pytest.approx(dpsgd.epsilon(1.0, event.sample_rate, steps, 1e-5), abs=1e-4)


def test_a_missing_extra_is_skipped_with_a_note() -> None:
    """Without torch the Opacus section prints what to install and spends nothing."""
    code = (
        "import sys; sys.modules['torch'] = None\n"
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
