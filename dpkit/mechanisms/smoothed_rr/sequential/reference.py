"""The numpy reference of the sequential-learning simulator (Liu & Rahimian 2025).

:func:`simulate_reference` draws each agent's Gaussian signal and applies the report mechanism
literally (smoothed RR flips ½e^{−ε|s−t|/Δ}, classic RR flips 1/(1+e^ε)), then updates the
public belief with the closed forms of :mod:`.theory`: the law the numba and JAX kernels
(which draw the pair (a, x) from its exact conditional law instead) are tested against.
:func:`simulate_binary_cascade` is the binary-signal model (numpy only). :class:`Progress`
and :func:`new_buffers` are shared with the block driver of :mod:`.mechanism`.

Privacy: each agent's signal enters one report (ε-DP per agent; parallel composition).
Imports :mod:`.params` and :mod:`.theory`.
"""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np
import numpy.typing as npt

from .... import _validate as V
from ....errors import DPKitError
from ....random import RNGLike, as_generator
from ... import _rr
from .params import BLOCK_WORK, SequentialResult, Simulation, check_state, checkpoint_array
from .theory import cascade_theory, log_report_probs

__all__ = ["simulate_reference", "simulate_binary_cascade"]


class Progress:
    """A one-line text progress bar on stderr (no dependency)."""

    def __init__(self, total: int, enabled: bool, label: str) -> None:
        self.total, self.enabled, self.label = total, enabled, label

    def update(self, done: int) -> None:
        """Show ``done`` of ``total`` agents (a newline when complete)."""
        if not self.enabled:
            return
        frac = done / self.total
        bar = "#" * int(30 * frac)
        sys.stderr.write(f"\r{self.label} [{bar:<30}] {100 * frac:5.1f}% ({done}/{self.total} "
                         "agents)")
        if done >= self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def new_buffers(n: int, runs: int, cps: np.ndarray, keep: bool) -> dict[str, Any]:
    """The checkpoint arrays (R, C) and, with ``keep``, the (R, N) path arrays of a result."""
    c = cps.size
    return {
        "beliefs": np.empty((runs, c)),
        "correct_reports": np.empty((runs, c), dtype=np.int64),
        "correct_actions": np.empty((runs, c), dtype=np.int64),
        "actions": np.empty((runs, n), dtype=np.int8) if keep else None,
        "reports": np.empty((runs, n), dtype=np.int8) if keep else None,
        "belief_paths": np.empty((runs, n)) if keep else None,
    }


def simulate_reference(sim: Simulation, rng: RNGLike) -> SequentialResult:
    """numpy reference of ``simulate_sequential_learning`` for Gaussian signals.

    Draws s, applies the mechanism literally and updates with the closed forms (spec §4).
    ``sim``: the checked settings (:func:`~.params.simulation`).
    """
    g = as_generator(rng)
    n, runs, mechanism, eps = sim.n_agents, sim.n_runs, sim.mechanism, sim.epsilon
    r, u, sigma, theta, cps, keep = sim.rate, sim.flip, sim.sigma, sim.theta, \
        sim.checkpoints, sim.keep_paths
    out = new_buffers(n, runs, cps, keep)
    bar = Progress(n, sim.progress, f"sequential learning ({mechanism}, numpy)")
    step = max(1, BLOCK_WORK // runs)
    lb = np.full(runs, sim.initial_belief)
    first_x = np.full(runs, n + 1, dtype=np.int64)
    first_a = np.full(runs, n + 1, dtype=np.int64)
    cnt_x = np.zeros(runs, dtype=np.int64)
    cnt_a = np.zeros(runs, dtype=np.int64)
    ci = 0
    for k in range(1, n + 1):
        t = -sigma * sigma * lb / 2.0
        sig = theta + sigma * g.standard_normal(runs)
        a = np.where(sig > t, 1, -1).astype(np.int8)
        if mechanism == "smoothed":
            flip = g.random(runs) < 0.5 * np.exp(-r * np.abs(sig - t))
            x = np.where(flip, -a, a).astype(np.int8)
        elif mechanism == "classic":
            x = np.where(g.random(runs) < u, -a, a).astype(np.int8)
        else:
            x = a
        lm1, lp1 = log_report_probs(t, 1.0, sigma, mechanism, r, u)
        lm0, lp0 = log_report_probs(t, -1.0, sigma, mechanism, r, u)
        lb = lb + np.where(x == 1, lp1 - lp0, lm1 - lm0)
        okx, oka = x == theta, a == theta
        cnt_x += okx
        cnt_a += oka
        first_x = np.where(okx & (first_x > n), k, first_x)
        first_a = np.where(oka & (first_a > n), k, first_a)
        if keep:
            out["actions"][:, k - 1] = a
            out["reports"][:, k - 1] = x
            out["belief_paths"][:, k - 1] = lb
        if ci < cps.size and cps[ci] == k:
            out["beliefs"][:, ci] = lb
            out["correct_reports"][:, ci] = cnt_x
            out["correct_actions"][:, ci] = cnt_a
            ci += 1
        if k % step == 0 or k == n:
            bar.update(k)
    return SequentialResult(theta=theta, n_agents=n, mechanism=mechanism, signal="gaussian",
                            epsilon=eps, checkpoints=cps, first_correct_report=first_x,
                            first_correct_action=first_a, wrong_reports=n - cnt_x,
                            wrong_actions=n - cnt_a, final_belief=lb, **out)


def simulate_binary_cascade(
    n_agents: int,
    n_runs: int,
    *,
    p: float,
    epsilon: float | None,
    theta: int = 1,
    initial_belief: float = 0.0,
    checkpoints: npt.ArrayLike | None = None,
    keep_paths: bool = False,
    rng: RNGLike = None,
    progress: bool = False,
) -> SequentialResult:
    """The binary-signal model (spec §6): RR reports before a cascade, none inside it.

    P(s = θ) = p; before a cascade the intended action is the own signal (ties |l| = λ follow
    it), reported through classic RR with u = 1/(1+e^ε) (``epsilon=None``: no privacy); the
    public LLR moves by ±log(q/(1−q)), q = p(1−u) + (1−p)u, tracked as an exact integer count
    of net reports. Once |l| > λ = log(p/(1−p)) every agent herds, its report carries no
    signal (no privacy cost) and the belief stops. Vectorized over runs (numpy); the loop ends
    when every run has cascaded (the rest is deterministic). Liu & Rahimian 2025.

    Privacy: classic RR, ε-DP per agent under replacement of its signal; herding agents'
    reports do not depend on their signals.

    >>> r = simulate_binary_cascade(500, 2000, p=0.7, epsilon=1.0, rng=0)
    >>> bool(abs((r.cascade_sign == 1).mean() - cascade_theory(0.7, 1.0).p_correct) < 0.04)
    True
    """
    n = V.integer(minimum=1, n_agents=n_agents)
    runs = V.integer(minimum=1, n_runs=n_runs)
    pp = V.in_range(0.5, 1.0, low_open=True, high_open=True, p=p)
    th = check_state("theta", theta)
    cps = checkpoint_array(checkpoints, n)
    theory = cascade_theory(pp, epsilon)
    u = 0.0 if epsilon is None else _rr.flip_probability(epsilon, 2)
    q = pp * (1.0 - u) + (1.0 - pp) * u
    step_llr = math.log(q / (1.0 - q))
    lam = math.log(pp / (1.0 - pp))
    l0 = V.finite(initial_belief=initial_belief)
    if l0 != 0.0:
        raise DPKitError("initial_belief must be 0 for binary signals (the cascade count "
                         f"starts at 0), got {initial_belief!r}")
    g = as_generator(rng)
    out = new_buffers(n, runs, cps, keep_paths)
    bar = Progress(n, progress, "binary cascade (numpy)")
    count = np.zeros(runs, dtype=np.int64)  # net informative reports; l = count·step_llr
    casc = np.zeros(runs, dtype=np.int64)  # cascade sign (0: none yet)
    ctime = np.full(runs, n + 1, dtype=np.int64)
    first_x = np.full(runs, n + 1, dtype=np.int64)
    first_a = np.full(runs, n + 1, dtype=np.int64)
    cnt_x = np.zeros(runs, dtype=np.int64)
    cnt_a = np.zeros(runs, dtype=np.int64)
    ci = 0
    k = 0
    while k < n:
        k += 1
        active = casc == 0
        sig = np.where(g.random(runs) < pp, th, -th).astype(np.int8)
        flip = g.random(runs) < u
        a = np.where(active, sig, casc).astype(np.int8)
        x = np.where(active & flip, -a, a).astype(np.int8)
        count = count + np.where(active, x, 0)
        newc = active & (np.abs(count) >= theory.k)
        casc = np.where(newc, np.sign(count), casc)
        ctime = np.where(newc, k, ctime)
        okx, oka = x == th, a == th
        cnt_x += okx
        cnt_a += oka
        first_x = np.where(okx & (first_x > n), k, first_x)
        first_a = np.where(oka & (first_a > n), k, first_a)
        lb = count * step_llr
        if keep_paths:
            out["actions"][:, k - 1] = a
            out["reports"][:, k - 1] = x
            out["belief_paths"][:, k - 1] = lb
        while ci < cps.size and cps[ci] == k:
            out["beliefs"][:, ci] = lb
            out["correct_reports"][:, ci] = cnt_x
            out["correct_actions"][:, ci] = cnt_a
            ci += 1
        if (casc != 0).all() and not keep_paths:
            # everyone herds from here on: actions = reports = cascade sign, belief frozen
            ok = (casc == th).astype(np.int64)
            while ci < cps.size:
                extra = cps[ci] - k
                out["beliefs"][:, ci] = lb
                out["correct_reports"][:, ci] = cnt_x + extra * ok
                out["correct_actions"][:, ci] = cnt_a + extra * ok
                ci += 1
            cnt_x = cnt_x + (n - k) * ok
            cnt_a = cnt_a + (n - k) * ok
            first_x = np.where((first_x > n) & (ok == 1), k + 1 if k < n else n + 1, first_x)
            first_a = np.where((first_a > n) & (ok == 1), k + 1 if k < n else n + 1, first_a)
            k = n
        bar.update(k)
    assert lam > 0
    return SequentialResult(theta=th, n_agents=n, mechanism="none" if epsilon is None
                            else "classic", signal="binary", epsilon=epsilon, checkpoints=cps,
                            first_correct_report=first_x, first_correct_action=first_a,
                            wrong_reports=n - cnt_x, wrong_actions=n - cnt_a,
                            final_belief=count * step_llr, cascade_time=ctime,
                            cascade_sign=casc, **out)
