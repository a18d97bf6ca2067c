"""Validated settings and result records of the sequential-learning simulator.

Liu & Rahimian 2025 (spec §1, §4, §6). :class:`Simulation` is the frozen record of one
Gaussian-signal simulation's checked settings, built once by :func:`simulation` (the
validation of ``simulate_sequential_learning``'s arguments) and handed to the numpy reference
and the kernels; :class:`SequentialResult` and :class:`CascadeTheory` are the result records.
Imports nothing from the package.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from .... import _validate as V
from ....errors import DPKitError
from ... import _rr

__all__ = [
    "SequentialResult",
    "CascadeTheory",
    "Simulation",
    "MECHANISMS",
    "Mechanism",
    "SignalKind",
    "MAX_PATH_CELLS",
    "simulation",
]

MECHANISMS = ("none", "smoothed", "classic")
Mechanism = Literal["none", "smoothed", "classic"]
SignalKind = Literal["gaussian", "binary"]
#: Kernel code of each report mechanism (numba and JAX kernels).
MECHANISM_CODE = {"none": 0, "smoothed": 1, "classic": 2}
#: Work per block of agents (runs × agents) between progress updates.
BLOCK_WORK = 20_000_000
#: Largest accepted n_runs·n_agents with keep_paths (three (R, N) arrays).
MAX_PATH_CELLS = 50_000_000
#: Default progress bar threshold on n_runs·n_agents.
PROGRESS_CELLS = 100_000_000


# ================================================================ results
@dataclass(frozen=True)
class SequentialResult:
    """The outcome of :func:`simulate_sequential_learning` (R runs, N agents).

    Attributes:
        checkpoints: (C,) agent counts n at which the state was recorded (sorted, ≤ N).
        beliefs: (R, C) public LLR l_{n+1} after the first n reports.
        correct_reports: (R, C) number of reports x_1..x_n equal to θ.
        correct_actions: (R, C) number of intended actions a_1..a_n equal to θ.
        first_correct_report: (R,) first n with x_n = θ (N + 1 when none: censored).
        first_correct_action: (R,) first n with a_n = θ (N + 1 when none: censored).
        wrong_reports: (R,) reports ≠ θ among all N agents.
        wrong_actions: (R,) intended actions ≠ θ among all N agents.
        final_belief: (R,) l_{N+1}.
        actions, reports: (R, N) int8 paths of a and x (``keep_paths=True``), else None.
        belief_paths: (R, N) float64 l_{n+1} per agent (``keep_paths=True``), else None.
        cascade_time: binary signals only: (R,) number of agents before the cascade started
            (the index of the last informative report; N + 1 if none started), else None.
        cascade_sign: binary signals only: (R,) sign of the cascade (0 if none), else None.
    """

    theta: int
    n_agents: int
    mechanism: str
    signal: str
    epsilon: float | None
    checkpoints: np.ndarray
    beliefs: np.ndarray
    correct_reports: np.ndarray
    correct_actions: np.ndarray
    first_correct_report: np.ndarray
    first_correct_action: np.ndarray
    wrong_reports: np.ndarray
    wrong_actions: np.ndarray
    final_belief: np.ndarray
    actions: np.ndarray | None = None
    reports: np.ndarray | None = None
    belief_paths: np.ndarray | None = None
    cascade_time: np.ndarray | None = None
    cascade_sign: np.ndarray | None = None

    @property
    def n_runs(self) -> int:
        """R, the number of independent runs."""
        return int(self.final_belief.shape[0])

    def mean_belief(self) -> np.ndarray:
        """(C,) θ·l averaged over runs (positive = learning the truth)."""
        return self.theta * self.beliefs.mean(axis=0)

    def fraction_correct(self, kind: str = "reports") -> np.ndarray:
        """(C,) fraction of correct reports (or ``"actions"``) among agents 1..n, over runs."""
        c = self.correct_reports if kind == "reports" else self.correct_actions
        return c.mean(axis=0) / self.checkpoints


@dataclass(frozen=True)
class CascadeTheory:
    """Closed forms of the binary-signal cascade (spec §6; gambler's ruin between ±k)."""

    k: int
    p_correct: float
    expected_time: float
    p_correct_nonprivate: float


@dataclass(frozen=True, eq=False)
class Simulation:
    """The checked settings of one Gaussian-signal simulation (built by :func:`simulation`).

    ``rate`` = ε/Δ (smoothed RR) and ``flip`` = 1/(1 + e^ε) (classic RR), each 0 where unused;
    ``epsilon`` is None for ``mechanism="none"``; ``p`` is P(s = θ) of binary signals.
    """

    signal: str
    p: float
    n_agents: int
    n_runs: int
    mechanism: str
    epsilon: float | None
    rate: float
    flip: float
    sigma: float
    theta: int
    initial_belief: float
    checkpoints: np.ndarray
    keep_paths: bool
    progress: bool

    @property
    def code(self) -> int:
        """The kernels' code of the mechanism (0 none, 1 smoothed, 2 classic)."""
        return MECHANISM_CODE[self.mechanism]


# ================================================================ argument checks
def check_mechanism(mechanism: object) -> str:
    """``mechanism`` if it is one of :data:`MECHANISMS`, else a DPKitError."""
    if mechanism not in MECHANISMS:
        raise DPKitError(f"mechanism must be one of {MECHANISMS}, got {mechanism!r}")
    return str(mechanism)


def check_state(name: str, value: object) -> int:
    """An integer state ±1 (θ or μ), else a DPKitError naming ``name``."""
    named: dict[str, Any] = {name: value}
    v = int(V.integer(**named))
    if v not in (-1, 1):
        raise DPKitError(f"{name} must be -1 or +1, got {value!r}")
    return v


def rates(mechanism: str, epsilon: float | None, sensitivity: float) -> tuple[float, float]:
    """(r = ε/Δ for smoothed RR, u = 1/(1+e^ε) for classic RR) — 0 where unused."""
    if mechanism == "none":
        return 0.0, 0.0
    eps = V.positive(epsilon=epsilon)
    if mechanism == "smoothed":
        return eps / V.positive(sensitivity=sensitivity), 0.0
    return 0.0, _rr.flip_probability(eps, 2)


def checkpoint_array(checkpoints: npt.ArrayLike | None, n_agents: int) -> np.ndarray:
    """Sorted unique int64 agent counts in [1, n_agents]; default ~40 log-spaced values and N."""
    if checkpoints is None:
        grid = np.unique(np.round(np.geomspace(1, n_agents, 41)).astype(np.int64))
        return np.unique(np.append(grid, n_agents))
    c = np.unique(np.asarray(checkpoints).reshape(-1))
    if c.size == 0 or c.dtype.kind not in "iuf" or (c != np.floor(c)).any() \
            or c[0] < 1 or c[-1] > n_agents:
        raise DPKitError(f"checkpoints must be whole numbers in [1, n_agents={n_agents}], got "
                         f"{np.asarray(checkpoints).tolist()}")
    return c.astype(np.int64)


def simulation(n_agents: int, n_runs: int, *, mechanism: str, epsilon: float | None,
               sensitivity: float, sigma: float, signal: str, p: float, theta: int,
               initial_belief: float, checkpoints: npt.ArrayLike | None, keep_paths: bool,
               progress: bool | None) -> Simulation:
    """Check the arguments of ``simulate_sequential_learning`` once; the checked record.

    Raises:
        DPKitError: bad sizes, ε ≤ 0 or missing, σ/Δ ≤ 0, θ ∉ {±1}, p ∉ (½, 1) (binary
            signals), non-finite initial belief, bad checkpoints, an unknown mechanism or
            signal, keep_paths too large.
    """
    n = V.integer(minimum=1, n_agents=n_agents)
    runs = V.integer(minimum=1, n_runs=n_runs)
    mech = check_mechanism(mechanism)
    r, u = rates(mech, epsilon, sensitivity)
    s = V.positive(sigma=sigma)
    th = check_state("theta", theta)
    l0 = V.finite(initial_belief=initial_belief)
    cps = checkpoint_array(checkpoints, n)
    if signal not in ("gaussian", "binary"):
        raise DPKitError(f"signal must be 'gaussian' or 'binary', got {signal!r}")
    if keep_paths and runs * n > MAX_PATH_CELLS:
        raise DPKitError(f"keep_paths needs n_runs*n_agents <= {MAX_PATH_CELLS}, got {runs * n}")
    pp = V.in_range(0.5, 1.0, low_open=True, high_open=True, p=p) if signal == "binary" \
        else 0.0
    show = (runs * n >= PROGRESS_CELLS) if progress is None else bool(progress)
    eps = None if mech == "none" or epsilon is None else float(epsilon)
    return Simulation(signal=str(signal), p=pp, n_agents=n, n_runs=runs, mechanism=mech,
                      epsilon=eps, rate=r, flip=u, sigma=s, theta=th, initial_belief=l0,
                      checkpoints=cps, keep_paths=bool(keep_paths), progress=show)
