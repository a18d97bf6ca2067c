"""Private sequential learning with smoothed randomized response (Liu & Rahimian 2025).

``python examples/smoothed_rr_herding.py``: 1000 runs of 5000 agents who each see a Gaussian
signal N(θ, 1) about a binary state θ = +1 and publish one ε-DP bit (ε-DP for signals at
distance ≤ 1; each signal is released once, so every agent's budget is ε). Compares the public
belief and the accuracy of reports and intended actions without privacy, with classic
randomized response, and with smoothed randomized response; then prints one agent's budget
from the accountant and the binary-signal cascade closed forms.
"""

from __future__ import annotations

from dpkit.accounting import Accountant
from dpkit.mechanisms import smoothed_rr as S


def main() -> None:
    n, runs, eps = 5000, 1000, 1.0
    print(f"{runs} runs x {n} agents, sigma = 1, epsilon = {eps}")
    for mech in ("none", "classic", "smoothed"):
        r = S.simulate_sequential_learning(n, runs, mechanism=mech,  # type: ignore[arg-type]
                                           epsilon=eps, rng=1, checkpoints=[100, n])
        print(f"  {mech:>8}: mean belief l_100 = {r.mean_belief()[0]:6.2f}, l_{n} = "
              f"{r.mean_belief()[1]:6.2f}; correct reports {r.fraction_correct()[1]:.4f}, "
              f"actions {r.fraction_correct('actions')[1]:.4f}; mean wrong actions "
              f"{r.wrong_actions.mean():.2f}")
    p = S.SmoothedRRParams(eps)
    acct = Accountant().compose(S.privacy_event(p))
    print(f"one agent: epsilon = {acct.epsilon(0.0):.3f} (pure), for {p.adjacency}")
    bound = Accountant().compose(S.privacy_event(p), count=100).epsilon(1e-6)
    exact = Accountant().compose(S.privacy_event(p, exact=True), count=100).epsilon(1e-6)
    print(f"100 releases (e.g. 100 signals of one person): epsilon = {bound:.2f} (RR bound) / "
          f"{exact:.2f} (exact smoothed-RR RDP curve) at delta = 1e-6")
    for e in (0.25, 0.9, 1.0, 3.0):
        th = S.cascade_theory(0.9, e)
        print(f"binary p = 0.9, epsilon = {e}: cascade after {th.k} net reports, correct with "
              f"probability {th.p_correct:.4f} (non-private {th.p_correct_nonprivate:.4f})")


if __name__ == "__main__":
    main()
