"""Issue 15, "validate once": on the Opacus path each value is checked where it enters.

``make_private_with_epsilon`` validates target ε and δ itself; the calibration below it (the
adapter's ``_calibrate``, ``dpsgd``'s and ``calibrate``'s private search, the accountant's
queries) takes the validated values and re-checks none of them, not even once per search
step. After the search, the answer is checked against one accountant built once: the
number of accountants the adapter builds does not depend on how long the search ran.
These tests count calls; they assert no timings.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

pytest.importorskip("torch")
pytest.importorskip("opacus")

import torch  # noqa: E402
from opacus import PrivacyEngine  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

import dpkit._validate as V  # noqa: E402
from dpkit.accounting import Accountant, Composed, Repeated, calibrate, dpsgd  # noqa: E402
from dpkit.errors import DPKitError  # noqa: E402
from dpkit.integrations import opacus as adapter  # noqa: E402

DELTA = 1e-5

pytestmark = [
    pytest.mark.filterwarnings("ignore:Secure RNG turned off"),
    pytest.mark.filterwarnings("ignore:.*full backward hook"),
]


def _setup() -> tuple[torch.nn.Module, torch.optim.Optimizer, DataLoader]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(512, 20, generator=g)
    y = (x[:, 0] > 0).long()
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(20, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    return model, opt, DataLoader(TensorDataset(x, y), batch_size=64, generator=g)


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """Counts every validator call by the parameter name it checks (a validator calling
    another, e.g. ``probability`` calling ``in_range``, counts once)."""
    seen: Counter[str] = Counter()
    depth = [0]

    def counting(fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if depth[0] == 0:
                for name in kwargs:
                    if name not in ("allow_inf", "allow_zero", "low_open", "high_open",
                                    "minimum", "maximum"):
                        seen[name] += 1
            depth[0] += 1
            try:
                return fn(*args, **kwargs)
            finally:
                depth[0] -= 1
        return wrapper

    for name in ("positive", "nonnegative", "in_range", "probability", "integer"):
        monkeypatch.setattr(V, name, counting(getattr(V, name)))
    yield seen


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts the accountants the adapter builds (its own Accountant and DpkitAccountant)."""
    seen: Counter[str] = Counter()

    def accountant(*args: Any, **kwargs: Any) -> Accountant:
        seen["Accountant"] += 1
        return Accountant(*args, **kwargs)

    init = adapter.DpkitAccountant.__init__

    def dpkit_init(self: Any, *args: Any, **kwargs: Any) -> None:
        seen["DpkitAccountant"] += 1
        init(self, *args, **kwargs)

    monkeypatch.setattr(adapter, "Accountant", accountant)
    monkeypatch.setattr(adapter.DpkitAccountant, "__init__", dpkit_init)
    return seen


def _delta_checks(seen: Counter[str]) -> int:
    return sum(n for name, n in seen.items() if "delta" in name)


#: The accounting methods. The PLD searches (``"auto"``, ``"pld"``) evaluate each direction
#: with ``pld.ledger.direction_epsilon`` and the engine reads ε off each pass with
#: ``PrivacyLossDistribution.epsilon_checked``: both take the δ validated where it entered.
METHODS = ["rdp", "auto", "pld"]


@pytest.mark.parametrize("method", METHODS)
def test_fresh_engine_validates_each_value_once_and_builds_one_accountant(
        checks: Counter[str], builds: Counter[str], method: str) -> None:
    engine = PrivacyEngine(accountant="dpkit")
    model, opt, loader = _setup()
    checks.clear()
    builds.clear()
    _, opt, _ = adapter.make_private_with_epsilon(
        engine, module=model, optimizer=opt, data_loader=loader, target_epsilon=2.0,
        target_delta=DELTA, epochs=2, max_grad_norm=1.0, method=method)
    assert checks["target_epsilon"] == 1
    assert checks["target_delta"] == 1
    assert _delta_checks(checks) == 1  # not once per search step
    assert checks["epochs"] == 1
    assert checks["max_grad_norm"] == 1
    assert builds == Counter({"Accountant": 1})  # the final check's, built once
    # ... and the σ is the one the public calibration gives, to the bit.
    assert opt.noise_multiplier == dpsgd.noise_multiplier(2.0, DELTA, 0.125, 16, method=method)


@pytest.mark.parametrize("method", METHODS)
def test_engine_with_prior_steps_validates_once_and_builds_constant_accountants(
        checks: Counter[str], builds: Counter[str], method: str) -> None:
    engine = PrivacyEngine(accountant="rdp")
    for _ in range(8):
        engine.accountant.step(noise_multiplier=1.5, sample_rate=0.125)
    model, opt, loader = _setup()
    checks.clear()
    builds.clear()
    with pytest.warns(UserWarning, match="replaced by dpkit"):
        _, opt, _ = adapter.make_private_with_epsilon(
            engine, module=model, optimizer=opt, data_loader=loader, target_epsilon=3.0,
            target_delta=DELTA, epochs=2, max_grad_norm=1.0, method=method)
    assert checks["target_epsilon"] == 1
    assert _delta_checks(checks) == 1
    # The carried-over history entry is validated once, when it enters the new accountant.
    assert checks["history[0] noise_multiplier"] == checks["history[0] sample_rate"] == 1
    # One DpkitAccountant replaces Opacus's (three Accountants: its own, the empty history
    # Opacus's base class assigns, then the carried-over history), and one Accountant checks
    # the answer: a constant, with no rebuild per candidate σ.
    assert builds == Counter({"DpkitAccountant": 1, "Accountant": 4})
    # The σ is the public calibration's, on the same composed event, to the bit.
    prior = Accountant().compose(dpsgd.event(1.5, 0.125), 8).as_event()
    expected = calibrate.noise_multiplier(
        lambda s: Composed((prior, Repeated(dpsgd.event(s, 0.125), 16))), 3.0, DELTA,
        method=method)
    assert opt.noise_multiplier == expected


def _entered(seen: Counter[str], *names: str) -> dict[str, int]:
    return {name: seen[name] for name in names}


@pytest.mark.parametrize("method", METHODS)
def test_public_calibrations_validate_each_value_once(checks: Counter[str], method: str) -> None:
    # (Each candidate event validates its own σ and q at construction, as params do.)
    dpsgd.noise_multiplier(3.0, DELTA, 0.01, 1000, method=method)
    assert _entered(checks, "target_epsilon", "delta", "steps") == {
        "target_epsilon": 1, "delta": 1, "steps": 1}
    checks.clear()
    calibrate.noise_multiplier(lambda s: dpsgd.event(s, 0.01), 3.0, DELTA, count=1000,
                               method=method)
    assert _entered(checks, "target_epsilon", "delta") == {"target_epsilon": 1, "delta": 1}
    checks.clear()
    calibrate.sample_rate(lambda q: dpsgd.event(1.0, q), 3.0, DELTA, count=1000,
                          method=method)
    assert _entered(checks, "target_epsilon", "delta") == {"target_epsilon": 1, "delta": 1}
    checks.clear()
    calibrate.max_count(dpsgd.event(1.0, 0.01), 3.0, DELTA, method=method)
    assert _entered(checks, "target_epsilon", "delta") == {"target_epsilon": 1, "delta": 1}


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan")])
def test_public_calibration_still_refuses_bad_targets(bad: float) -> None:
    with pytest.raises(DPKitError, match="target_epsilon"):
        dpsgd.noise_multiplier(bad, DELTA, 0.01, 1000)
    with pytest.raises(DPKitError, match="delta"):
        dpsgd.noise_multiplier(3.0, bad, 0.01, 1000)
    with pytest.raises(DPKitError, match="target_epsilon"):
        calibrate.noise_multiplier(lambda s: dpsgd.event(s, 0.01), bad, DELTA)
