"""The public functions of the sequential-learning simulator (Liu & Rahimian 2025).

:func:`simulate_sequential_learning` checks its arguments once (:func:`.params.simulation`)
and dispatches: binary signals to :func:`.reference.simulate_binary_cascade`; Gaussian signals
to the numpy reference (:func:`.reference.simulate_reference`) or to a kernel's run state
(:class:`._numba.NumbaRuns`, :class:`._jax.JaxRuns`, imported only when used), which the block
driver :func:`_drive` advances between checkpoints and progress updates.
:func:`report_log_likelihood` is the checked public face of the closed-form likelihoods.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, cast

import numpy as np
import numpy.typing as npt

from .... import _validate as V
from ....errors import DPKitError
from ....random import RNGLike, as_generator, route_backend
from .params import (
    BLOCK_WORK,
    Mechanism,
    SequentialResult,
    SignalKind,
    Simulation,
    check_mechanism,
    check_state,
    rates,
    simulation,
)
from .reference import Progress, new_buffers, simulate_binary_cascade, simulate_reference
from .theory import log_report_probs

if TYPE_CHECKING:
    import jax

__all__ = ["simulate_sequential_learning", "report_log_likelihood"]


class _Runs(Protocol):
    """What the block driver needs of a kernel's run state (NumbaRuns, JaxRuns)."""

    def advance(self, start: int, stop: int) -> None: ...

    def state(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]: ...

    def paths(self) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]: ...


def simulate_sequential_learning(
    n_agents: int,
    n_runs: int,
    *,
    mechanism: Mechanism = "smoothed",
    epsilon: float | None = None,
    sensitivity: float = 1.0,
    sigma: float = 1.0,
    signal: SignalKind = "gaussian",
    p: float = 0.7,
    theta: int = 1,
    initial_belief: float = 0.0,
    checkpoints: npt.ArrayLike | None = None,
    keep_paths: bool = False,
    rng: RNGLike | jax.Array = None,
    backend: str = "auto",
    progress: bool | None = None,
) -> SequentialResult:
    """Simulate R independent runs of the sequential-learning game with N agents each.

    The model, the report mechanisms and the public-belief updates are those of Liu & Rahimian
    2025 (package docstring; spec §1, §4, §6). Observers use the exact report likelihoods of
    the mechanism in use, in log space. Vectorized over runs: the numpy reference draws each
    signal and applies :func:`~dpkit.mechanisms.smoothed_rr.respond` literally; the numba
    (parallel over runs) and JAX kernels draw the pair (a, x) from its exact conditional law
    given the public state (equal in law; tested).

    Privacy: every agent's signal is released once, ε-DP per agent (smoothed RR: signals at
    distance ≤ Δ; classic RR: replacement); parallel composition across agents.

    Args:
        n_agents: N ≥ 1.
        n_runs: R ≥ 1.
        mechanism: "none", "smoothed" or "classic".
        epsilon: ε > 0 (required unless mechanism="none").
        sensitivity: Δ > 0 of smoothed RR (flip ½e^{−ε|s−t|/Δ}).
        sigma: σ > 0, the Gaussian signal's standard deviation.
        signal: "gaussian" or "binary" (binary: numpy only; "smoothed" means classic RR).
        p: P(s = θ) ∈ (½, 1) for binary signals.
        theta: the true state, −1 or +1.
        initial_belief: l_1 (finite; e.g. −L to start in a wrong herd).
        checkpoints: agent counts n at which to record beliefs and counts; default ~40
            log-spaced values and N.
        keep_paths: also return the (R, N) paths of actions, reports and beliefs.
        rng: None, an int seed or a numpy Generator (every backend); a JAX key with
            backend="jax"; a SecureGenerator (hardened tier) runs the numpy reference under
            "auto"/"numba" and is refused by "jax".
        backend: "auto" | "numpy" | "numba" | "jax" (auto: numba if installed, else numpy;
            there is no input array, so "auto" never picks JAX: pass backend="jax").
        progress: print a progress bar on stderr (default: when R·N ≥ 10⁸).

    Returns:
        A :class:`SequentialResult`.

    Raises:
        DPKitError: bad sizes, ε ≤ 0 or missing, σ/Δ ≤ 0, θ ∉ {±1}, p ∉ (½, 1), non-finite
            initial belief, bad checkpoints, keep_paths too large or with JAX, bad backend.

    >>> r = simulate_sequential_learning(200, 20, epsilon=1.0, rng=1, backend="numpy")
    >>> bool(r.mean_belief()[-1] > 3)
    True
    """
    sim = simulation(n_agents, n_runs, mechanism=mechanism, epsilon=epsilon,
                     sensitivity=sensitivity, sigma=sigma, signal=signal, p=p, theta=theta,
                     initial_belief=initial_belief, checkpoints=checkpoints,
                     keep_paths=keep_paths, progress=progress)
    if sim.signal == "binary":
        return simulate_binary_cascade(sim.n_agents, sim.n_runs, p=sim.p, epsilon=sim.epsilon,
                                       theta=sim.theta, initial_belief=sim.initial_belief,
                                       checkpoints=sim.checkpoints, keep_paths=sim.keep_paths,
                                       rng=cast("RNGLike", rng), progress=sim.progress)
    # "auto" follows the one rule (dpkit.backend.resolve) with no input array: numba or numpy;
    # a JAX key with "auto" is refused by as_generator, which says to pass backend="jax".
    b = route_backend(backend, None, rng)
    if b == "jax":
        if sim.keep_paths:
            raise DPKitError("keep_paths needs backend 'numpy' or 'numba', got 'jax'")
        from ._jax import JaxRuns

        return _drive(sim, JaxRuns(sim, rng), "jax")
    gen = as_generator(cast("RNGLike", rng))  # refuses a JAX key with a DPKitError
    if b == "numba":
        from ._numba import NumbaRuns

        return _drive(sim, NumbaRuns(sim, cast("np.random.Generator", gen)), "numba")
    return simulate_reference(sim, gen)


def _drive(sim: Simulation, runs: _Runs, label: str) -> SequentialResult:
    """Advance a kernel's runs block by block: record each checkpoint, update the progress
    bar every ``BLOCK_WORK`` cells, and assemble the result."""
    n, cps = sim.n_agents, sim.checkpoints
    out = new_buffers(n, sim.n_runs, cps, False)
    bar = Progress(n, sim.progress, f"sequential learning ({sim.mechanism}, {label})")
    block = max(1, BLOCK_WORK // sim.n_runs)
    stops = np.unique(np.concatenate([cps, np.arange(block, n, block), [n]]))
    start, ci = 1, 0
    for stop in stops:
        runs.advance(start, int(stop))
        if ci < cps.size and cps[ci] == stop:
            lb, _, _, kx, ka = runs.state()
            out["beliefs"][:, ci] = lb
            out["correct_reports"][:, ci] = kx
            out["correct_actions"][:, ci] = ka
            ci += 1
        start = int(stop) + 1
        bar.update(int(stop))
    lb, fx, fa, kx, ka = runs.state()
    out["actions"], out["reports"], out["belief_paths"] = runs.paths()
    return SequentialResult(theta=sim.theta, n_agents=n, mechanism=sim.mechanism,
                            signal="gaussian", epsilon=sim.epsilon, checkpoints=cps,
                            first_correct_report=fx, first_correct_action=fa,
                            wrong_reports=n - kx, wrong_actions=n - ka, final_belief=lb, **out)


def report_log_likelihood(report: npt.ArrayLike, belief: npt.ArrayLike, mu: int, *,
                          sigma: float = 1.0,
                          mechanism: Mechanism = "smoothed", epsilon: float | None = None,
                          sensitivity: float = 1.0) -> np.ndarray:
    """log P(x | θ = μ, l) of a report x ∈ {−1, +1} at public LLR l (Gaussian signals).

    Closed forms of spec §4 (Liu & Rahimian 2025; the smoothed-RR integral via the Gaussian
    moment generating function), evaluated in log space: never NaN for finite inputs.

    Privacy: none spent (the report is public); a closed form, not a release.

    Raises:
        DPKitError: an unknown mechanism, σ/ε/Δ not positive, μ ∉ {±1}, reports other than
            ±1, a non-finite belief, shapes that do not broadcast, or σ²·l/2 not finite.

    >>> float(np.exp(report_log_likelihood(1, 0.0, 1, mechanism="none")))  # Φ(1)
    0.8413447460685429
    """
    check_mechanism(mechanism)
    s = V.positive(sigma=sigma)
    m = check_state("mu", mu)
    try:
        x = np.asarray(report)
    except (TypeError, ValueError) as exc:
        raise DPKitError(f"report must be -1/+1 values: {exc}") from None
    if x.dtype.kind not in "iuf" or not np.isin(x, (-1, 1)).all():
        raise DPKitError("report must hold only -1 and +1")
    lb = V.finite_array(belief=belief)
    try:
        np.broadcast_shapes(x.shape, lb.shape)
    except ValueError:
        raise DPKitError(f"report (shape {x.shape}) and belief (shape {lb.shape}) must "
                         "broadcast together") from None
    r, u = rates(mechanism, epsilon, sensitivity)
    with np.errstate(over="ignore"):
        t = -s * s * lb / 2.0
    if not np.isfinite(t).all():
        raise DPKitError(f"sigma**2 * belief / 2 must be finite, got sigma={s!r} and a belief "
                         f"of magnitude {float(np.max(np.abs(lb))):.3g}")
    lm, lp = log_report_probs(t, m, s, mechanism, r, u)
    return np.where(x == 1, lp, lm)


