"""DP-SGD on scikit-learn's handwritten digits with Opacus, calibrated and accounted by dpkit.

Run: ``python examples/dpsgd_digits.py`` (needs ``pip install 'dpkit[opacus,progress]'
scikit-learn``; add ``--quick`` for a 5-epoch run). The data ship with scikit-learn: 1 797
real 8×8 images, no download.

A 64-64-10 MLP is trained with DP-SGD (Abadi et al. 2016) for a target of ε = 3 at
δ = 1e-5: ``dpkit.integrations.opacus.make_private_with_epsilon`` picks the smallest noise
multiplier that keeps the whole run within the target (exact sampled-Gaussian RDP, Mironov,
Talwar, Zhang 2019), and ``PrivacyEngine(accountant="dpkit")`` reports the ε spent after each
epoch.

Privacy statement: the trained model (and every intermediate one) is (ε, δ)-DP with respect
to the 1 438 training images under add/remove-one-image adjacency, with ε the printed value
(≤ 3 at the end). Preprocessing divides pixels by their fixed public maximum (16), so it
uses no private statistic; the test images are never trained on, and the accuracy printed on
them is not privatised (evaluation only).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch
from opacus import PrivacyEngine
from sklearn.datasets import load_digits
from torch.utils.data import DataLoader, TensorDataset
from tqdm import tqdm

from dpkit.integrations.opacus import make_private_with_epsilon


def parse_args() -> argparse.Namespace:
    """Command-line options (defaults are the measured configuration in docs/opacus.md)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epsilon", type=float, default=3.0, help="target epsilon (default 3)")
    p.add_argument("--delta", type=float, default=1e-5, help="target delta (default 1e-5)")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=128, help="expected Poisson batch size")
    p.add_argument("--lr", type=float, default=0.5)
    p.add_argument("--max-grad-norm", type=float, default=0.25, help="clipping norm C")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (default 1: faster for a model this small)")
    p.add_argument("--quick", action="store_true", help="5 epochs (a smoke run)")
    return p.parse_args()


def load_split(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Digits scaled to [0, 1] by the fixed pixel maximum; 80 % train / 20 % test."""
    data = load_digits()
    x = (data.data / 16.0).astype(np.float32)
    y = data.target.astype(np.int64)
    perm = np.random.default_rng(seed).permutation(len(x))
    n_test = len(x) // 5
    test, train = perm[:n_test], perm[n_test:]
    return x[train], y[train], x[test], y[test]


def accuracy(model: torch.nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    """Share of correctly classified examples."""
    with torch.no_grad():
        pred = model(torch.from_numpy(x)).argmax(dim=1).numpy()
    return float((pred == y).mean())


def main() -> None:
    """Train, printing accuracy and ε after every epoch."""
    args = parse_args()
    epochs = 5 if args.quick else args.epochs
    warnings.filterwarnings("ignore", message="Secure RNG turned off")
    warnings.filterwarnings("ignore", message=".*full backward hook.*")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    x_tr, y_tr, x_te, y_te = load_split(args.seed)

    model = torch.nn.Sequential(
        torch.nn.Linear(64, 64), torch.nn.Tanh(), torch.nn.Linear(64, 10)
    )
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    loader = DataLoader(TensorDataset(torch.from_numpy(x_tr), torch.from_numpy(y_tr)),
                        batch_size=args.batch_size, shuffle=True, generator=gen)

    t0 = time.perf_counter()
    engine = PrivacyEngine(accountant="dpkit")
    model, optimizer, loader = make_private_with_epsilon(
        engine, module=model, optimizer=optimizer, data_loader=loader,
        target_epsilon=args.epsilon, target_delta=args.delta, epochs=epochs,
        max_grad_norm=args.max_grad_norm, noise_generator=gen,
    )
    q = 1.0 / len(loader)
    print(f"{len(x_tr)} training / {len(x_te)} test images; q = {q:.5f}, "
          f"{epochs} epochs = {epochs * len(loader)} steps; calibrated noise multiplier "
          f"sigma = {optimizer.noise_multiplier:.4f} for epsilon <= {args.epsilon:g} at "
          f"delta = {args.delta:g}")

    loss_fn = torch.nn.CrossEntropyLoss()
    for epoch in range(1, epochs + 1):
        model.train()
        losses = []
        for xb, yb in tqdm(loader, desc=f"epoch {epoch:2d}/{epochs}", leave=False):
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        model.eval()
        eps = engine.get_epsilon(args.delta)
        print(f"epoch {epoch:2d}: loss {np.mean(losses):.3f}  test accuracy "
              f"{accuracy(model, x_te, y_te):.1%}  epsilon {eps:.4f}", flush=True)

    eps = engine.get_epsilon(args.delta)
    acc = accuracy(model, x_te, y_te)
    print(f"final: test accuracy {acc:.1%}, epsilon = {eps:.4f} (target {args.epsilon:g}) "
          f"at delta = {args.delta:g}, {time.perf_counter() - t0:.1f} s")
    assert eps <= args.epsilon, "the realised epsilon exceeds the target"


if __name__ == "__main__":
    main()
