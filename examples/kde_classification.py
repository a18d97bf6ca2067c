"""DP classification by average similarity (BLMST24 §11 idea) on scikit-learn's digits,
against DP-SGD (Opacus, calibrated by dpkit) at the same ε.

Run: ``python examples/kde_classification.py [--epsilon 3] [--skip-dpsgd]``. The data ship
with scikit-learn (1 797 real 8×8 images, no download).

KDE classifier: pixels / 16 (a fixed public map), then each image is scaled to unit ℓ2 norm
(a per-record public map). One Gaussian-kernel structure (RFF, D features, bandwidth σ) is
built per class on that class's training images (all classes share one public feature seed,
so their feature errors are common), with 10 % of ε for a noisy class count; a
test image goes to the class with the largest private *average* similarity F̂_c(y)/ñ_c.

Privacy: each training image is in exactly one class structure, so the ten releases together
are pure ε-DP under add/remove-one-image (parallel composition; under replace-one, where the
label may change, it would be 2ε). DP-SGD is (ε, δ)-DP with δ = 1e-5 under add/remove — a
weaker guarantee at the same ε. Test-set accuracies are evaluation only (not private).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.datasets import load_digits

from dpkit.mechanisms.kde import KDEParams, privatize, query, sketch


def load_split(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Digits scaled by the public pixel maximum; 80 % train / 20 % test."""
    data = load_digits()
    x = (data.data / 16.0).astype(np.float64)
    y = data.target.astype(np.int64)
    perm = np.random.default_rng(seed).permutation(len(x))
    n_test = len(x) // 5
    return x[perm[n_test:]], y[perm[n_test:]], x[perm[:n_test]], y[perm[:n_test]]


def unit(x: np.ndarray) -> np.ndarray:
    """Scale each row to unit ℓ2 norm (a public per-record map)."""
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def kde_classifier(x_tr, y_tr, x_te, epsilon, bandwidth, features, seed):
    """Per-class private Gaussian-kernel structures; predictions by average similarity."""
    p = KDEParams("gaussian", epsilon=epsilon, radius=1.0, bandwidth=bandwidth,
                  features=features, count_fraction=0.1)
    g = np.random.default_rng(seed)
    shared = int(g.integers(2**62))  # one public seed: the same features for every class
    scores = []
    for c in range(10):
        s = privatize(sketch(p, unit(x_tr[y_tr == c]), shared), g)
        scores.append(query(s, unit(x_te), normalize=True))
    return np.argmax(np.stack(scores, axis=1), axis=1), s.event


def dpsgd(x_tr, y_tr, x_te, epsilon, seed, epochs=30):
    """The DP-SGD MLP of examples/dpsgd_digits.py (64-64-10, C = 0.25, lr 0.5, batch 128)."""
    import warnings

    import torch
    from opacus import PrivacyEngine
    from torch.utils.data import DataLoader, TensorDataset

    from dpkit.integrations.opacus import make_private_with_epsilon

    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.Tanh(), torch.nn.Linear(64, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    loader = DataLoader(TensorDataset(torch.from_numpy(x_tr.astype(np.float32)),
                                      torch.from_numpy(y_tr)), batch_size=128, shuffle=True,
                        generator=gen)
    engine = PrivacyEngine(accountant="dpkit")
    model, opt, loader = make_private_with_epsilon(
        engine, module=model, optimizer=opt, data_loader=loader, target_epsilon=epsilon,
        target_delta=1e-5, epochs=epochs, max_grad_norm=0.25, noise_generator=gen)
    loss_fn = torch.nn.CrossEntropyLoss()
    for _ in range(epochs):
        for xb, yb in loader:
            opt.zero_grad()
            loss_fn(model(xb), yb).backward()
            opt.step()
    with torch.no_grad():
        pred = model(torch.from_numpy(x_te.astype(np.float32))).argmax(dim=1).numpy()
    return pred, engine.get_epsilon(1e-5)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epsilon", type=float, default=3.0)
    ap.add_argument("--bandwidth", type=float, default=0.8)
    ap.add_argument("--features", type=int, default=128)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--skip-dpsgd", action="store_true")
    args = ap.parse_args()
    x_tr, y_tr, x_te, y_te = load_split(0)
    accs, times = [], []
    for seed in range(args.seeds):
        t0 = time.perf_counter()
        pred, ev = kde_classifier(x_tr, y_tr, x_te, args.epsilon, args.bandwidth,
                                  args.features, seed)
        times.append(time.perf_counter() - t0)
        accs.append(float((pred == y_te).mean()))
    print(f"KDE classifier (pure eps = {ev.epsilon_inf():.3g}, add/remove, parallel over "
          f"classes): accuracy {np.mean(accs):.1%} (min {min(accs):.1%}, {args.seeds} seeds), "
          f"{np.median(times):.3f} s train + predict")
    nonprivate = kde_classifier(x_tr, y_tr, x_te, 1e9, args.bandwidth, args.features, 0)[0]
    print(f"same classifier without noise (eps = 1e9): {(nonprivate == y_te).mean():.1%}")
    if not args.skip_dpsgd:
        t0 = time.perf_counter()
        pred, eps = dpsgd(x_tr, y_tr, x_te, args.epsilon, 0)
        dt = time.perf_counter() - t0
        print(f"DP-SGD MLP ((eps, delta) = ({eps:.3f}, 1e-5)): accuracy "
              f"{(pred == y_te).mean():.1%}, {dt:.1f} s; time ratio "
              f"{dt / np.median(times):.0f}x")


if __name__ == "__main__":
    main()
