"""Federated softmax regression on scikit-learn digits: RQM-encoded updates vs Gaussian noise.

Setup: the digits data (1797 8×8 images, bundled with scikit-learn) reduced to 16 PCA
components, 75/25 train/test split, the training set dealt to 100 clients (~13 images each).
Each round every client computes one local gradient step of softmax regression
(d = 17·10 = 170 parameters), clips the update to [−c, c]^d, and sends it

* with RQM (``dpkit.mechanisms.rqm``; m levels, ⌈log2 m⌉ bits per coordinate), or
* with the Gaussian mechanism: N(0, (σ·2c√d)²) per coordinate (2c√d is the ℓ2 distance between
  two updates in [−c, c]^d, i.e. the replace-one sensitivity), 32-bit floats.

Privacy: local DP per client, replace-one, composed over all rounds by dpkit's accountant; both
mechanisms are calibrated to the same total ε at δ = 1e-5 (RQM: ``rqm.calibrate`` searches Δ;
Gaussian: bisection on σ). The server averages (RQM: integer sums, ``rqm.aggregate``).
Local accounting charges d·ε per coordinate (spec §5.2), so meaningful accuracy needs a large
total ε; this example shows that trade-off honestly rather than hiding it.

Run: ``python examples/rqm_federated.py`` (about a minute; writes docs/img/rqm_federated.png).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

from dpkit.accounting import Accountant, Gaussian
from dpkit.mechanisms import rqm

DELTA = 1e-5
CLIP = 0.05
ROUNDS = 30
LR = 2.0
CLIENTS = 100


def load(seed: int = 0) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    x, y = load_digits(return_X_y=True)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.25, random_state=seed, stratify=y)
    pca = PCA(16, random_state=seed).fit(xtr)
    sc = StandardScaler().fit(pca.transform(xtr))
    xtr, xte = sc.transform(pca.transform(xtr)), sc.transform(pca.transform(xte))
    xtr = np.hstack([xtr, np.ones((len(xtr), 1))])
    xte = np.hstack([xte, np.ones((len(xte), 1))])
    order = np.random.default_rng(seed).permutation(len(xtr))
    shards = [(xtr[i], ytr[i]) for i in np.array_split(order, CLIENTS)]
    return shards, xte, yte


def gradient(w: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    z = x @ w
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(y)), y] -= 1.0
    return x.T @ p / len(y)


def accuracy(w: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    return float(((x @ w).argmax(axis=1) == y).mean())


def gaussian_sigma(target: float, rounds: int) -> float:
    """Smallest σ (to 1e-4 relative) with the accountant's ε of ``rounds`` Gaussians ≤ target."""
    def eps(s: float) -> float:
        return Accountant().compose(Gaussian(s), count=rounds).epsilon(DELTA)

    lo, hi = 1e-3, 1e3
    for _ in range(60):
        mid = math.sqrt(lo * hi)
        lo, hi = (lo, mid) if eps(mid) <= target else (mid, hi)
    return hi


def train(shards: list, xte: np.ndarray, yte: np.ndarray, encode: object,
          rng: np.random.Generator) -> float:
    d_in = shards[0][0].shape[1]
    w = np.zeros((d_in, 10))
    for _ in range(ROUNDS):
        updates = np.stack([np.clip(-LR * gradient(w, x, y), -CLIP, CLIP).ravel()
                            for x, y in shards])
        w = w + encode(updates, rng).reshape(w.shape)  # type: ignore[operator]
    return accuracy(w, xte, yte)


def experiment(epsilons: list[float], levels: tuple[int, ...] = (4, 16), seeds: int = 3
               ) -> dict[str, list[float]]:
    shards, xte, yte = load()
    d = shards[0][0].shape[1] * 10
    out: dict[str, list[float]] = {"epsilon": list(epsilons), "nonprivate": []}
    exact = train(shards, xte, yte, lambda u, g: u.mean(axis=0), np.random.default_rng(0))
    out["nonprivate"] = [exact] * len(epsilons)
    for m in levels:
        out[f"rqm_m{m}"] = []
    out["gaussian"] = []
    for e in epsilons:
        for m in levels:
            p = rqm.calibrate(epsilon=e, clip=CLIP, num_levels=m, keep_prob=0.25,
                              dimension=d, delta=DELTA, rounds=ROUNDS)

            def enc(u: np.ndarray, g: np.random.Generator, p: rqm.RQMParams = p) -> np.ndarray:
                return rqm.aggregate(p, rqm.quantize(p, u, g))

            acc = [train(shards, xte, yte, enc, np.random.default_rng(s)) for s in range(seeds)]
            out[f"rqm_m{m}"].append(float(np.mean(acc)))
        sigma = gaussian_sigma(e, ROUNDS)
        std = sigma * 2 * CLIP * math.sqrt(d)

        def gau(u: np.ndarray, g: np.random.Generator, std: float = std) -> np.ndarray:
            return (u + g.normal(0.0, std, u.shape)).mean(axis=0)

        acc = [train(shards, xte, yte, gau, np.random.default_rng(s)) for s in range(seeds)]
        out["gaussian"].append(float(np.mean(acc)))
        print(f"eps={e:8.1f}  " + "  ".join(f"{k}={v[-1]:.3f}" for k, v in out.items()
                                             if k not in ("epsilon", "nonprivate")),
              flush=True)
    return out


def plot(res: dict[str, list[float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    eps = res["epsilon"]
    bits = {"gaussian": 32}
    for k, v in res.items():
        if k == "epsilon":
            continue
        if k.startswith("rqm"):
            bits[k] = max(1, (int(k[5:]) - 1).bit_length())
            label = f"RQM m={k[5:]} ({bits[k]} bits)"
        else:
            label = {"nonprivate": "non-private (float64)",
                     "gaussian": "Gaussian (32-bit floats)"}[k]
        a1.plot(eps, v, marker="o", label=label, ls="--" if k == "nonprivate" else "-")
    a1.set_xscale("log")
    a1.set_xlabel(f"total ε per client ({ROUNDS} rounds, δ = 1e-5, local DP, d = 170)")
    a1.set_ylabel("test accuracy")
    a1.set_title("Federated softmax regression on digits")
    a1.legend(fontsize=8)
    names = list(bits)
    a2.bar(range(len(names)), [bits[n] for n in names])
    a2.set_xticks(range(len(names)), [n.replace("_", " ") for n in names])
    a2.set_ylabel("bits per coordinate per round")
    a2.set_title("Communication")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    epsilons = [300.0, 1000.0, 3000.0] if quick else [100.0, 300.0, 1000.0, 3000.0, 10000.0]
    res = experiment(epsilons, seeds=1 if quick else 3)
    out = Path(__file__).resolve().parents[1] / "docs" / "img" / "rqm_federated.png"
    plot(res, out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
