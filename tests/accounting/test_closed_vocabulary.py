"""The accountant's event vocabulary is closed (issue 15, item 3).

Every event type readable from JSON is defined in dpkit/accounting/events.py; reading one never
needs a mechanism module. The (ε, δ) claim the bandits' shuffle protocols make is the general
event ``ClaimedApproxDP`` (formerly bandits' ``ShuffleClaim``): no certified bound, ε = ∞ in an
Accountant, never understated.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import dpkit
from dpkit.accounting import (
    DEFAULT_ORDERS,
    Accountant,
    ClaimedApproxDP,
    Composed,
    Event,
    Gaussian,
    Repeated,
    event_from_dict,
)
from dpkit.accounting import events as E
from dpkit.errors import DPKitError, IncompatibleRelationError, UnsupportedEventError

CLAIM_JSON = {"type": "ClaimedApproxDP", "epsilon": 1.0, "delta": 1e-6,
              "relation": "replace_one", "source": "a paper"}
LEGACY_JSON = {"type": "ShuffleClaim", "epsilon": 2.0, "delta": 1e-5, "relation": "replace_one"}


# ------------------------------------------------------------------------ the claim event
def test_claim_gives_no_certified_bound():
    ev = ClaimedApproxDP(1.0, 1e-6)
    assert np.all(np.isinf(ev.rdp(np.asarray(DEFAULT_ORDERS, dtype=float))))
    assert ev.epsilon_inf() == math.inf
    acct = Accountant().compose(ev)
    assert acct.epsilon(1e-6) == math.inf
    assert acct.delta(1e3) == 1.0
    # composed with a finite event, the whole ledger is still uncertified (never understated)
    mixed = Accountant().compose(Gaussian(5.0)).compose(ev, count=10**9)
    assert mixed.epsilon(1e-6) == math.inf
    assert Composed((Gaussian(5.0), ev)).epsilon_inf() == math.inf


def test_claim_json_round_trip():
    ev = event_from_dict(CLAIM_JSON)
    assert ev == ClaimedApproxDP(1.0, 1e-6, relation="replace_one", source="a paper")
    assert ev.to_dict() == CLAIM_JSON
    assert event_from_dict(json.loads(json.dumps(ev.to_dict(), allow_nan=False))) == ev
    bare = ClaimedApproxDP(math.inf, 0.0)
    assert bare.to_dict() == {"type": "ClaimedApproxDP", "epsilon": "inf", "delta": 0.0}
    assert event_from_dict(bare.to_dict()) == bare


def test_legacy_shuffle_claim_json_is_read_as_the_claim():
    ev = event_from_dict(LEGACY_JSON)
    assert type(ev) is ClaimedApproxDP
    assert (ev.epsilon, ev.delta, ev.relation) == (2.0, 1e-5, "replace_one")
    assert ev.to_dict()["type"] == "ClaimedApproxDP"
    nested = event_from_dict({"type": "Repeated", "count": 3, "event": LEGACY_JSON})
    assert nested == Repeated(ev, 3)


@pytest.mark.parametrize("kwargs, needle", [
    (dict(epsilon=-1.0, delta=0.0), "epsilon"),
    (dict(epsilon=float("nan"), delta=0.0), "epsilon"),
    (dict(epsilon=1.0, delta=1.5), "delta"),
    (dict(epsilon=1.0, delta=-1e-9), "delta"),
    (dict(epsilon=1.0, delta=0.0, relation="neighbours"), "relation"),
    (dict(epsilon=1.0, delta=0.0, source=3), "source"),
])
def test_claim_validation_names_the_parameter(kwargs, needle):
    with pytest.raises(DPKitError, match=needle):
        ClaimedApproxDP(**kwargs)
    with pytest.raises(DPKitError, match=needle):
        event_from_dict({"type": "ClaimedApproxDP", **kwargs})


def test_claim_relation_is_checked_in_composition():
    acct = Accountant().compose(ClaimedApproxDP(1.0, 1e-6, relation="replace_one"))
    with pytest.raises(IncompatibleRelationError):
        Accountant.from_dict({"type": "Accountant", "ledger": [
            CLAIM_JSON, {"type": "PoissonSampled", "sample_rate": 0.1,
                         "event": {"type": "Gaussian", "noise_multiplier": 1.0}}]})
    assert acct.relation == "replace_one"


def test_bandits_alias_and_claim():
    from dpkit.mechanisms import bandits as B

    assert B.ShuffleClaim is ClaimedApproxDP is dpkit.ClaimedApproxDP
    params = B.BanditParams(num_silos=2, num_arms=3, dim=2, horizon=8, batch_size=2,
                            protocol="shuffle_vector_sum", epsilon=1.0, delta=1e-5)
    ev = B.privacy_event(params)
    assert type(ev) is ClaimedApproxDP and ev.relation == "replace_one"
    assert (ev.epsilon, ev.delta) == (1.0, 1e-5)
    assert "Zhou" in ev.source
    assert event_from_dict(ev.to_dict()) == ev
    assert Accountant().compose(ev).epsilon(1e-5) == math.inf


# ------------------------------------------------------------------------ the closed registry
def test_every_readable_type_is_defined_in_events_py():
    for name, cls in E._REGISTRY.items():
        assert cls.__module__ == "dpkit.accounting.events", name
        assert cls.__name__ == name
    for legacy, target in E._LEGACY_TYPES.items():
        assert target in E._REGISTRY and legacy not in E._REGISTRY


def test_a_subclass_defined_elsewhere_does_not_extend_or_shadow_the_vocabulary():
    before = dict(E._REGISTRY)

    @dataclass(frozen=True)
    class Skellam(Event):  # a user's event: fine in Python, not in the JSON vocabulary
        mu: float

        def rdp(self, orders: Any) -> np.ndarray:
            return np.full(np.asarray(orders, dtype=float).reshape(-1).shape, 1.0 / self.mu)

        def to_dict(self) -> dict[str, Any]:
            return {"type": self.type_name, "mu": self.mu}

    @dataclass(frozen=True)
    class Gaussian(Event):  # noqa: F811 - same name as a vocabulary event
        noise_multiplier: float

        def rdp(self, orders: Any) -> np.ndarray:
            return np.zeros(np.asarray(orders, dtype=float).reshape(-1).shape)

        def to_dict(self) -> dict[str, Any]:
            return {"type": self.type_name, "noise_multiplier": self.noise_multiplier}

    assert E._REGISTRY == before
    assert Accountant().compose(Skellam(4.0)).rdp()[0] == 0.25  # usable in Python
    with pytest.raises(UnsupportedEventError, match="Skellam"):
        event_from_dict(Skellam(4.0).to_dict())
    back = event_from_dict(Gaussian(1.0).to_dict())
    assert type(back) is E.Gaussian  # the vocabulary's Gaussian, not the impostor


# ------------------------------------------------------------------------ no mechanism imported
_SUBPROCESS = r"""
import json, sys
from dpkit.accounting import event_from_dict, accountant_from_json
ev = event_from_dict(json.loads(sys.argv[1]))
old = event_from_dict(json.loads(sys.argv[2]))
eps = accountant_from_json([{"event": json.loads(sys.argv[1]), "count": 5}]).epsilon(1e-6)
loaded = sorted(m for m in sys.modules if m.startswith("dpkit.mechanisms"))
print(json.dumps({"type": type(ev).__name__, "old": type(old).__name__,
                  "epsilon": str(eps), "mechanisms": loaded}))
"""


def test_claim_is_read_with_no_mechanism_module_imported():
    out = subprocess.run(
        [sys.executable, "-c", _SUBPROCESS, json.dumps(CLAIM_JSON), json.dumps(LEGACY_JSON)],
        capture_output=True, text=True, check=True, timeout=120)
    got = json.loads(out.stdout)
    assert got == {"type": "ClaimedApproxDP", "old": "ClaimedApproxDP", "epsilon": "inf",
                   "mechanisms": []}


def test_dpkit_compose_reads_a_claim_without_mechanisms(tmp_path: Path):
    spec = tmp_path / "claim.json"
    spec.write_text(json.dumps([{"event": CLAIM_JSON, "count": 2}, LEGACY_JSON,
                                {"type": "RandomizedResponse", "epsilon": 1.0}]))
    code = ("import json, sys; from dpkit.cli import main; rc = main(sys.argv[1:]); "
            "sys.stdout.flush(); "
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith('dpkit.mechanisms'))),"
            " file=sys.stderr); sys.exit(rc)")
    out = subprocess.run([sys.executable, "-c", code, "compose", str(spec), "--delta", "1e-6",
                          "--json"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    assert res["epsilon"] == "inf" and res["relation"] == "replace_one"
    assert json.loads(out.stderr.strip().splitlines()[-1]) == []
