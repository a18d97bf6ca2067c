"""σ calibration for DP-SGD: dpkit (RDP, then certified PLD secant steps) vs Opacus PRV.

For each (ε, δ, q, T): dpkit's ``dpsgd.noise_multiplier(method="auto")`` and Opacus's
``get_noise_multiplier(accountant="prv")``, timed side by side, the speed ratio, and both σ
compared with a fine PLD-optimal reference (bisection on dpkit's certified PLD ε at
accuracy 1e-4 to relative 1e-5). Also the certified PLD ε at Opacus's σ (PRV is an estimate:
it may exceed the target). Run: ``.venv/bin/python -m benchmarks.pld_calibration``.
"""

from __future__ import annotations

import time
import warnings

from dpkit.accounting import dpsgd, pld

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


def main() -> None:
    from opacus.accountants.utils import get_noise_multiplier

    dpsgd.noise_multiplier(1.0, 1e-5, 0.01, 100)  # warm imports
    print(f"{'eps':>5} {'delta':>7} {'q':>6} {'T':>7} | {'dpkit σ':>9} {'s':>7} | "
          f"{'PRV σ':>9} {'s':>7} {'PRV ε cert':>10} | {'ratio':>6} | {'ref σ':>9} "
          f"{'dpkit/ref-1':>11}")
    for target, delta, q, steps in CASES:
        t = time.perf_counter()
        s = dpsgd.noise_multiplier(target, delta, q, steps)
        t_ours = time.perf_counter() - t
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = time.perf_counter()
            s_prv = get_noise_multiplier(target_epsilon=target, target_delta=delta,
                                         sample_rate=q, steps=steps, accountant="prv")
            t_prv = time.perf_counter() - t
        e_prv = pld.sampled_gaussian_epsilon(s_prv, q, steps, delta)
        ref = reference_sigma(target, delta, q, steps, s)
        print(f"{target:5g} {delta:7.0e} {q:6g} {steps:7d} | {s:9.5f} {t_ours:7.3f} | "
              f"{s_prv:9.5f} {t_prv:7.3f} {e_prv:10.5f} | {t_prv / t_ours:6.1f} | "
              f"{ref:9.5f} {s / ref - 1:11.2e}", flush=True)


if __name__ == "__main__":
    main()
