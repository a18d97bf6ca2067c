"""Property-based contract over every public callable of every mechanism and of dpkit.audit.

For each callable, hypothesis draws calls from its spec (tests/contracts/specs_*.py) and
``check_call`` asserts: a result or a ``DPKitError`` (never another exception type, never a
warning), no input array mutated, an int seed reproduces, privacy events sound and strict JSON,
outputs finite where documented. Deterministic (derandomize=True), modest example counts.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from .harness import Record, Spec, check_call
from .registry import contract_modules, public_callables, specs

CALLABLES = public_callables()
SPECS = specs()
FUZZED = sorted(k for k, v in SPECS.items() if isinstance(v, Spec))


def test_every_public_callable_has_a_spec() -> None:
    """A new public function or class fails here until it is given a spec (or a Record)."""
    missing = sorted(set(CALLABLES) - set(SPECS))
    assert not missing, f"public callables without a contract spec: {missing}"
    stale = sorted(set(SPECS) - set(CALLABLES))
    assert not stale, f"specs for names that are no longer public: {stale}"


def test_discovery_covers_every_mechanism_package() -> None:
    mods = contract_modules()
    for name in ("additive", "rqm", "continual", "kde", "heavy_hitters", "smoothed_rr",
                 "bandits"):
        assert f"dpkit.mechanisms.{name}" in mods
    assert "dpkit.audit" in mods
    records = [k for k, v in SPECS.items() if isinstance(v, Record)]
    assert len(records) < len(FUZZED) // 4, "records are for result types only"


@pytest.mark.parametrize("name", FUZZED)
def test_contract(name: str) -> None:
    sp = SPECS[name]
    assert isinstance(sp, Spec)
    fn = CALLABLES[name]

    @settings(max_examples=sp.examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(call=sp.calls)
    def run(call):  # noqa: ANN001, ANN202
        check_call(fn, call, sp)

    run()
