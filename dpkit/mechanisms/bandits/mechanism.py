"""The public functions of the federated bandits: ``simulate`` (backend dispatch) and
``tree_release`` (one silo's binary-tree release, the audit's object).

:func:`simulate` checks its inputs once, derives the :class:`.params.KernelPlan` and runs the
numpy reference (:mod:`.reference`), the numba kernel (``_numba``) or the JAX kernel
(``_jax``); every backend returns a :class:`.params.KernelOutput`, wrapped here into a
:class:`SimulationResult`. [ZC24] Zhou & Chowdhury, ICLR 2024 (arXiv:2302.13945).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ... import _validate as V
from ...errors import DPKitError
from ...random import RNGLike, SecureGenerator, as_generator, route_backend
from .. import _dyadic
from .environment import Environment, check_environment
from .params import BanditParams, KernelOutput
from .privacy import node_sigma, regularizer
from .reference import kernel_plan, simulate_reference, sync_step

__all__ = ["SimulationResult", "simulate", "tree_release"]


@dataclass(frozen=True)
class SimulationResult:
    """Outcome of :func:`simulate`.

    Attributes:
        regret: (T,) cumulative pseudo-regret per round, summed over the M silos.
        params: the parameters.
        regularization: λ used.
        node_sigma: σ₀ (Gaussian protocols; 0 otherwise).
        clipped_rewards: rewards that were clipped to [−B, B].
        clipped_features: chosen features whose norm was clipped to L.
        backend: the kernel that ran.
        min_eigenvalue: the smallest eigenvalue of λI + Ṽ over all syncs (λ when there is
            no sync; NaN where not tracked).
    """

    regret: np.ndarray
    params: BanditParams
    regularization: float
    node_sigma: float
    clipped_rewards: int
    clipped_features: int
    backend: str
    min_eigenvalue: float = math.nan

    @property
    def average_regret(self) -> np.ndarray:
        """Time-average regret R(t)/t (the paper's plotted metric)."""
        return self.regret / np.arange(1, self.regret.size + 1)


def simulate(params: BanditParams, environment: Environment, rng: RNGLike | Any, *,
             backend: str = "auto", progress: bool = False) -> SimulationResult:
    """Run private federated LinUCB on an environment; per-round cumulative group regret.

    Algorithm ([ZC24], the Private-FedLinUCB framework, fixed-batch schedule): see the
    package docstring. Privacy: :func:`.privacy.privacy_event` (replace one user at one
    silo). The schedule is data independent, so the sync times are identical on
    neighbouring datasets. Not hardened against floating-point attacks (continuous Gaussian
    noise); a simulator of the protocol, not a release.

    Args:
        params: a :class:`BanditParams`.
        environment: :func:`synthetic_environment` or :func:`matrix_environment`.
        rng: None, an int seed or a numpy Generator (every backend); a JAX PRNG key with
            ``backend="jax"``. A SecureGenerator is refused (a simulator, not a release).
        backend: "auto" (the one rule: JAX for JAX input data, else numba when installed,
            else numpy; the environment holds numpy arrays, so "auto" never picks JAX and a
            JAX key with "auto" raises a DPKitError saying to pass ``backend="jax"``),
            "numpy" (the reference), "numba", "jax" (one jitted ``lax.scan`` program, float64).
        progress: print a progress line to stderr (JAX: one line at the end).

    Returns:
        A :class:`SimulationResult`; ``regret[t-1]`` = Σ_i Σ_{s≤t} (max_a μ − μ_chosen).

    Raises:
        DPKitError: mismatched environment, bad backend or rng, or a lost positive definite
            Gram matrix (probability ≤ α with the safe λ).

    >>> from dpkit.mechanisms.bandits import synthetic_environment
    >>> p = BanditParams(2, 3, 2, 10, 5, "none")
    >>> env = synthetic_environment(2, 3, 2, 10, 0)
    >>> simulate(p, env, 1, backend="numpy").regret.shape
    (10,)
    """
    if not isinstance(params, BanditParams):
        raise DPKitError(f"params must be a BanditParams, got {type(params).__name__}")
    env = check_environment(params, environment)
    # "auto" follows the one rule (dpkit.backend.resolve): the environment holds numpy arrays,
    # so "auto" is numba or numpy; a JAX key with "auto" is refused by as_generator, which
    # says to pass backend="jax".
    b = route_backend(backend, None, rng)
    out: KernelOutput
    if b == "jax":
        from ._jax import simulate as simulate_jax

        out = simulate_jax(kernel_plan(params, env), rng, progress)
    else:
        gen = as_generator(rng)
        if not isinstance(gen, np.random.Generator):
            raise DPKitError("rng must be an int seed or a numpy Generator for the numpy/numba "
                             "backends: simulate is a simulator of the protocol (regret "
                             "curves), not a release, and does not take the hardened tier "
                             "(SecureGenerator)")
        if b == "numba":
            from ._numba import simulate as simulate_numba

            out = simulate_numba(kernel_plan(params, env), gen, sync_step(params, gen),
                                 progress)
        else:
            out = simulate_reference(params, env, gen, progress)
    if not out.min_eigenvalue > 0:  # the JAX kernel cannot raise inside jit
        raise DPKitError(
            f"the private Gram matrix lambda*I + V lost positive definiteness (min eigenvalue "
            f"{out.min_eigenvalue:.3g}); this has probability <= alpha={params.alpha:g} under "
            "lambda_rule='safe': raise regularization")
    return SimulationResult(out.regret, params, regularizer(params), node_sigma(params),
                            out.clipped_rewards, out.clipped_features, b, out.min_eigenvalue)


def _symmetric_noise(rng: np.random.Generator | SecureGenerator, sigma: float,
                     shape: tuple[int, ...], d: int) -> np.ndarray:
    """Symmetric d×d matrices: upper triangle (diagonal included) i.i.d. N(0, σ²), mirrored."""
    z = rng.standard_normal((*shape, d, d)) * sigma
    up = np.triu(z)
    return up + np.swapaxes(np.triu(z, 1), -1, -2)


def tree_release(gram_stream: npt.ArrayLike, vec_stream: npt.ArrayLike, sigma: float,
                 rng: RNGLike, size: int | None = None,
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One silo's binary-tree release of a stream of (Gram, vector) batch increments.

    The node released at batch k is Σ_{leaves (k−lowbit(k), k]} γ + noise, the Gram part's
    noise symmetric with i.i.d. N(0, σ²) upper triangle, the vector part's N(0, σ²I). The
    private prefix sum at k is the sum of the nodes of k's binary decomposition.

    Privacy: a user in one leaf is in at most n_lvl = ⌊log₂ Kb⌋+1 nodes; with σ = z·Δ the
    release is ``Repeated(Gaussian(z), n_lvl)`` (replace one user). [ZC24] Alg. 2; Chan, Shi,
    Song 2011. Not hardened against floating-point attacks.

    Args:
        gram_stream: (Kb, d, d) symmetric increments.
        vec_stream: (Kb, d) increments.
        sigma: σ ≥ 0 (0: exact prefix sums).
        rng: None, an int seed, a numpy Generator or a SecureGenerator.
        size: if given, ``size`` independent releases (a leading axis).

    Returns:
        (node_gram, node_vec, prefix_gram, prefix_vec), shapes ([size,] Kb, d, d) / ([size,] Kb, d).

    Raises:
        DPKitError: non-finite or mis-shaped streams, sigma < 0, size < 1, a bad rng.

    >>> g = np.ones((3, 1, 1))
    >>> tree_release(g, np.ones((3, 1)), 0.0, 0)[2].ravel().tolist()
    [1.0, 2.0, 3.0]
    """
    G = V.finite_array(gram_stream=gram_stream)
    u = V.finite_array(vec_stream=vec_stream)
    if G.ndim != 3 or G.shape[1] != G.shape[2] or u.shape != G.shape[:2]:
        raise DPKitError(f"gram_stream must be (Kb, d, d) and vec_stream (Kb, d), got {G.shape} "
                         f"and {u.shape}")
    s = V.nonnegative(sigma=sigma)
    g = as_generator(rng)
    kb, d = G.shape[0], G.shape[1]
    lead: tuple[int, ...] = () if size is None else (V.integer(minimum=1, size=size),)
    cg = np.concatenate([np.zeros((1, d, d)), np.cumsum(G, axis=0)])
    cu = np.concatenate([np.zeros((1, d)), np.cumsum(u, axis=0)])
    k = np.arange(1, kb + 1)
    start = _dyadic.node_start(k)
    node_g = np.broadcast_to(cg[k] - cg[start], (*lead, kb, d, d)).copy()
    node_u = np.broadcast_to(cu[k] - cu[start], (*lead, kb, d)).copy()
    if s > 0:
        node_g += _symmetric_noise(g, s, (*lead, kb), d)
        node_u += s * g.standard_normal((*lead, kb, d))
    pref_g = np.zeros_like(node_g)
    pref_u = np.zeros_like(node_u)
    for kk in range(1, kb + 1):
        for n in _dyadic.prefix_nodes(kk):
            pref_g[..., kk - 1, :, :] += node_g[..., n - 1, :, :]
            pref_u[..., kk - 1, :] += node_u[..., n - 1, :]
    return node_g, node_u, pref_g, pref_u
