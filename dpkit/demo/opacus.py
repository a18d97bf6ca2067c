"""``dpkit demo`` section: a short DP-SGD run through ``PrivacyEngine(accountant="dpkit")``.

Uses the public API of :mod:`dpkit.integrations.opacus` (importing it registers the
``"dpkit"`` accountant with Opacus). Needs the ``[opacus]`` extra (PyTorch and Opacus):
:mod:`dpkit.demo` checks for them before importing this module and prints a note instead of
running it when they are missing. scikit-learn is optional: without it the run uses
synthetic data.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from opacus import PrivacyEngine
from torch.utils.data import DataLoader, TensorDataset

from ..accounting import dpsgd
from ..integrations.opacus import MECHANISM
from .part import DemoPart, generator, methods_text

__all__ = ["section"]


def _digits(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, str]:
    """scikit-learn's bundled handwritten digits (pixels scaled to [0, 1]), or a fallback."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        x = rng.normal(size=(1200, 64))
        y = (x[:, :8].sum(axis=1) > 0).astype(np.int64)
        return x.astype(np.float32), y, "synthetic 2-class data (scikit-learn not installed)"
    data = load_digits()
    x = (data.data / 16.0).astype(np.float32)  # fixed public range: no data-dependent scaling
    return x, data.target.astype(np.int64), "scikit-learn digits"


def section(rng: np.random.Generator) -> DemoPart:
    """A 64-32-10 MLP on scikit-learn's digits, two epochs of DP-SGD accounted by dpkit.

    30 steps, σ = 1.0, clip 1.0, Poisson rate 1/15. Reports the test accuracy and the ε the
    engine reports (``method="auto"``: the smaller of the RDP and PLD bounds, both shown), and
    spends ``(dpsgd.event(σ, q), steps)`` (add/remove one example). Takes
    about a second after imports. torch's global generator is left as it was.
    """
    rng = generator(rng)
    seed = int(rng.integers(2**31 - 1))
    x, y, source = _digits(rng)
    perm = rng.permutation(len(x))
    n_test = len(x) // 6
    test, train = perm[:n_test], perm[n_test:]
    sigma, clip, epochs, batch, delta = 1.0, 1.0, 2, 100, 1e-5
    with warnings.catch_warnings(), torch.random.fork_rng(devices=[]):
        warnings.simplefilter("ignore")  # "secure RNG off" and a torch backward-hook notice
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)
        xt, yt = torch.from_numpy(x[train]), torch.from_numpy(y[train])
        loader = DataLoader(TensorDataset(xt, yt), batch_size=batch, generator=gen)
        n_classes = int(y.max()) + 1
        model = torch.nn.Sequential(torch.nn.Linear(x.shape[1], 32), torch.nn.Tanh(),
                                    torch.nn.Linear(32, n_classes))
        opt = torch.optim.SGD(model.parameters(), lr=1.0)
        engine = PrivacyEngine(accountant=MECHANISM)
        model, opt, loader = engine.make_private(
            module=model, optimizer=opt, data_loader=loader, noise_multiplier=sigma,
            max_grad_norm=clip, noise_generator=gen)
        loss_fn = torch.nn.CrossEntropyLoss()
        for _ in range(epochs):
            for xb, yb in loader:
                opt.zero_grad()
                loss_fn(model(xb), yb).backward()
                opt.step()
        with torch.no_grad():
            pred = model(torch.from_numpy(x[test])).argmax(dim=1).numpy()
        acc = float((pred == y[test]).mean())
        eps = engine.get_epsilon(delta)
    acct = engine.accountant
    res = acct.get_epsilon_details(delta)  # the engine's ε, with both methods' numbers
    part = DemoPart("DP-SGD with Opacus, accounted by dpkit (PrivacyEngine(accountant='dpkit'))")
    (s, q, steps), = acct.history
    part.lines += [
        f"{source}: {len(train)} training / {n_test} test images, MLP {x.shape[1]}-32-"
        f"{n_classes}, {steps} steps, q={q:.4f}, sigma={s:g}, clip={clip:g}",
        f"test accuracy {acc:.1%}; epsilon = {eps:.4f} at delta = {delta:g} "
        f"({methods_text(res)}; = dpsgd.epsilon: {dpsgd.epsilon(s, q, steps, delta):.4f})",
    ]
    part.events.append((dpsgd.event(s, q), steps))
    return part
