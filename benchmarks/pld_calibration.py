"""σ calibration for DP-SGD: dpkit (RDP, then certified PLD secant steps) vs Opacus PRV.

For each (ε, δ, q, T): dpkit's ``dpsgd.noise_multiplier(method="auto")`` (median of 5 warm
calls, the target moved by 1e-9 relative per call so that no cache answers) and Opacus's
``get_noise_multiplier(accountant="prv")`` (one call), the speed ratio, the number of
certified PLD evaluations (one direction each) and RDP evaluations of dpkit's search, and
both σ compared with a fine PLD-optimal reference (bisection on dpkit's certified PLD ε at
accuracy 1e-4 to relative 1e-5). Also the certified PLD ε at Opacus's σ (PRV is an estimate:
it may exceed the target). Run: ``.venv/bin/python -m benchmarks.pld_calibration``.
"""

from __future__ import annotations

import statistics
import time
import warnings
from collections.abc import Callable
from typing import Any

from dpkit.accounting import calibrate, dpsgd, pld
from dpkit.accounting.pld import ledger

CASES = [(1.0, 1e-5, 0.01, 1000), (3.0, 1e-5, 0.004, 10_000), (0.5, 1e-5, 0.05, 200),
         (2.0, 1e-5, 0.02, 5000), (8.0, 1e-6, 0.001, 100_000)]


def reference_sigma(target: float, delta: float, q: float, steps: int, near: float) -> float:
    """Bisection on the fine certified PLD ε (accuracy 1e-4) to relative 1e-5 around ``near``
    (the bracket is widened until it holds the crossing)."""
    def eps(s: float) -> float:
        return pld.sampled_gaussian_epsilon(s, q, steps, delta, accuracy=1e-4)
    lo, hi = near * 0.97, near * 1.03
    while eps(lo) <= target:
        lo *= 0.9
    while eps(hi) > target:
        hi *= 1.1
    while hi / lo - 1 > 1e-5:
        mid = (lo * hi) ** 0.5
        lo, hi = (mid, hi) if eps(mid) > target else (lo, mid)
    return hi


def _counted(target: float, delta: float, q: float, steps: int) -> tuple[float, int, int]:
    """dpkit's σ with the number of PLD (per direction) and RDP evaluations it made."""
    n_pld, n_rdp = [0], [0]
    orig_pld, orig_rdp = ledger.direction_epsilon, calibrate._epsilon_of

    def pld_eps(parts: Any, d: float, **kwargs: Any) -> float:
        n_pld[0] += 1
        return orig_pld(parts, d, **kwargs)

    def rdp_of(*args: Any, **kwargs: Any) -> Callable[[float], float]:
        f = orig_rdp(*args, **kwargs)
        memo = args[4] if len(args) > 4 else kwargs.get("memo")
        seen: set[float] = set() if memo is None else set(memo)

        def g(x: float) -> float:
            if x not in seen:
                seen.add(x)
                n_rdp[0] += 1
            return f(x)
        return g

    ledger.direction_epsilon, calibrate._epsilon_of = pld_eps, rdp_of  # type: ignore[assignment]
    try:
        s = dpsgd.noise_multiplier(target * (1 + 3e-9), delta, q, steps)
    finally:
        ledger.direction_epsilon, calibrate._epsilon_of = orig_pld, orig_rdp
    return s, n_pld[0], n_rdp[0]


def main() -> None:
    from opacus.accountants.utils import get_noise_multiplier

    dpsgd.noise_multiplier(1.0, 1e-5, 0.01, 100)  # warm imports
    print(f"{'eps':>5} {'delta':>7} {'q':>6} {'T':>7} | {'dpkit σ':>9} {'ms':>7} {'PLD':>3} "
          f"{'RDP':>3} | {'PRV σ':>9} {'s':>7} {'PRV ε cert':>10} | {'ratio':>6} | "
          f"{'ref σ':>9} {'dpkit/ref-1':>11}")
    for target, delta, q, steps in CASES:
        times = []
        for k in range(5):
            t = time.perf_counter()
            s = dpsgd.noise_multiplier(target * (1 + 1e-9 * k), delta, q, steps)
            times.append(time.perf_counter() - t)
        t_ours = statistics.median(times)
        _, n_pld, n_rdp = _counted(target, delta, q, steps)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = time.perf_counter()
            s_prv = get_noise_multiplier(target_epsilon=target, target_delta=delta,
                                         sample_rate=q, steps=steps, accountant="prv")
            t_prv = time.perf_counter() - t
        e_prv = pld.sampled_gaussian_epsilon(s_prv, q, steps, delta)
        ref = reference_sigma(target, delta, q, steps, s)
        print(f"{target:5g} {delta:7.0e} {q:6g} {steps:7d} | {s:9.5f} {t_ours * 1e3:7.2f} "
              f"{n_pld:3d} {n_rdp:3d} | {s_prv:9.5f} {t_prv:7.3f} {e_prv:10.5f} | "
              f"{t_prv / t_ours:6.1f} | {ref:9.5f} {s / ref - 1:11.2e}", flush=True)


if __name__ == "__main__":
    main()
