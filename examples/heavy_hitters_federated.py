"""Federated heavy hitters under local DP: OLH frequency estimates, then TAPS vs PEM.

Run: ``python examples/heavy_hitters_federated.py``. Three parties with different local
favourites; every user sends one ε-LDP report (local DP, replace-one); the coordinator finds
the global top-k. Prints F1 / NCR of each protocol and the privacy budget per user.
"""

from __future__ import annotations

import numpy as np

from dpkit.accounting import Accountant
from dpkit.mechanisms import heavy_hitters as hh


def main() -> None:
    rng = np.random.default_rng(0)
    eps, k = 4.0, 16
    shared = hh.zipf_items(300_000, 32, 1.2, rng, support=5000)
    parties = []
    for j, n in enumerate((150_000, 100_000, 50_000)):
        local = hh.zipf_items(n // 4, 32, 1.1, np.random.default_rng(10 + j), support=30)
        parties.append(np.concatenate([shared[: n - n // 4], local]))
        shared = shared[n - n // 4:]
    truth = hh.true_top_k(parties, k, 32)

    o = hh.OLH(eps, 2**32)
    state = hh.aggregate(o, hh.perturb(o, parties[0], rng))
    est = hh.estimate(o, state, truth[:5])
    true = [int((parties[0] == v).sum()) for v in truth[:5]]
    print(f"OLH on party 0: true {true}\n                est  {np.round(est).astype(int).tolist()}")

    for proto in hh.PROTOCOLS:
        params = hh.HeavyHitterParams(eps, 32, k, protocol=proto)
        res = hh.find_heavy_hitters(params, parties, rng)
        print(f"{proto:9s} F1@{k} = {hh.f1_score(res.items, truth):.3f}  "
              f"NCR = {hh.ncr(res.items, truth):.3f}  candidates = {res.candidates}")
    ev = hh.privacy_event(hh.HeavyHitterParams(eps, 32, k))
    print(f"per user: {ev} -> pure eps {Accountant().compose(ev).epsilon(0.0):.3f}, "
          f"eps at delta=1e-6: {Accountant().compose(ev).epsilon(1e-6):.3f}")


if __name__ == "__main__":
    main()
