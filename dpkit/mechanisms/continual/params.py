"""The parameters of a continual-release counter: frozen, validated once, here.

:class:`CounterParams` fixes the kind of counter (binary tree, Honaker, square root, BLT), the
horizon T, the noise (Gaussian ``noise_multiplier`` or Laplace ``epsilon``), the item bound,
the neighbouring relation and the participation schema. Construction validates every field and
refuses anything out of range with a :class:`~dpkit.errors.DPKitError` naming it; the derived
quantities the kernels need (``noise_scale``, ``levels``, the BLT parameters) are read off the
validated record. The strategy's sensitivity comes from ``_strategy`` (plain numbers) and the
event from ``_privacy_math``, which this module imports (both sit below the params and read them
through a structural type, so ``params.privacy_event()`` needs no upward import); the public
statement is :func:`dpkit.mechanisms.continual.privacy.privacy_event`.

>>> p = CounterParams("tree", 8, noise_multiplier=1.0, bound=0.5, relation="add_remove")
>>> p.levels, p.sensitivity, p.noise_scale
(4, 0.5, 0.5)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ... import _validate as V
from ...accounting.events import Event
from ...errors import DPKitError
from ._privacy_math import counter_event, item_sensitivity, laplace_scale
from ._strategy import (
    DEFAULT_BUFFERS,
    MAX_BUFFERS,
    MAX_HORIZON,
    MAX_PARTICIPATIONS,
    MAX_SQRT_HORIZON,
    blt_inverse_parameters,
    blt_sqrt_parameters,
    effective_participations,
    l1_sensitivity,
    l2_sensitivity,
    tree_levels,
)

__all__ = ["KINDS", "Kind", "Relation", "CounterParams"]

#: The counter kinds.
Kind = Literal["tree", "honaker", "sqrt", "blt"]
KINDS: tuple[Kind, ...] = ("tree", "honaker", "sqrt", "blt")
Relation = Literal["add_remove", "replace_one"]

#: The deprecated ``neighbours`` spelling → ``relation`` (see CounterParams).
_LEGACY_NEIGHBOURS = {"replace": "replace_one", "zero_out": "add_remove"}


@dataclass(frozen=True)
class CounterParams:
    """A continual-release counter: kind, horizon, noise and the item bound.

    Exactly one of ``noise_multiplier`` (Gaussian noise, zCDP) and ``epsilon`` (Laplace noise,
    pure DP; tree kinds only) must be given.

    Privacy statement (:func:`~dpkit.mechanisms.continual.privacy_event`): neighbouring streams
    differ in the items of at most κ = ``participations`` steps (one user's contributions), any
    two of them at least s = ``min_separation`` steps apart, and each changed item differs by
    at most Δ = :attr:`sensitivity` in ℓ2 norm (ℓ1 with Laplace noise). κ = 1 (default) is the
    event level: one step's item changes. Gaussian: ρ = s_C²/(2σ²)-zCDP with s_C the
    strategy's sensitivity (κ = 1: its largest column norm, √L tree, √G(T) sqrt, closed form
    BLT; κ > 1: the largest norm of a sum of κ columns ≥ s apart,
    :func:`~dpkit.mechanisms.continual.participation_sensitivity`). Laplace: ε-DP,
    ε = ``epsilon``.

    Args:
        kind: "tree" | "honaker" | "sqrt" | "blt".
        horizon: T, the largest number of steps (1..2^40; sqrt: T·d ≤ 2^25). Steps beyond T
            are refused: the privacy statement is computed for T.
        noise_multiplier: σ > 0; every node (tree kinds) or every z_t (sqrt, BLT) gets
            Gaussian noise of standard deviation σ·Δ per coordinate.
        epsilon: ε > 0 for Laplace noise (tree kinds): every node gets Laplace noise of scale
            b = L·Δ/ε per coordinate.
        dimension: d ≥ 1, the item dimension (d = 1: a scalar stream).
        bound: B > 0. Every item must satisfy ‖x_t‖ ≤ B (|x_t| for d = 1; ℓ2 norm, or ℓ1 with
            Laplace noise, for d > 1).
        relation: the neighbouring relation on streams (the one spelling in dpkit):
            "replace_one" (default: any item may be replaced by any other, Δ = 2B) or
            "add_remove" (an event is added or removed, i.e. one item is set to or from 0,
            e.g. a 0/1 counting stream: Δ = B). In the continual-release literature a stream
            has a fixed length T, so adding or removing one event (Dwork, Naor, Pitassi,
            Rothblum 2010; Chan, Shi, Song 2011) is one step's item going to or from 0: the
            "zero-out" neighbours of Kairouz et al. 2021 (DP-FTRL), the add/remove relation
            at fixed length. Any item x, ‖x‖ ≤ B, differs from 0 by at most B, hence Δ = B;
            two items differ by at most 2B under replace-one.
        neighbours: deprecated alias of ``relation`` (accepted silently, kept for old code):
            "replace" = "replace_one", "zero_out" = "add_remove"; when given it decides
            the relation. It is consumed at construction (the attribute is then None); read
            ``relation``.
        clip: False (default): items outside the bound are refused with a DPKitError;
            True: they are scaled onto the bound (norm clipping) before counting.
        blt_buffers: number of BLT buffers for the default parameters (1..64, default 8).
        blt_theta, blt_omega: explicit BLT parameters (θ_i ∈ (0,1), ω_i > 0, same length);
            default :func:`~dpkit.mechanisms.continual.blt_sqrt_parameters`.
        participations: κ, the most steps at which one user contributes an item (1..2^20;
            default 1, the event level). At most κ_eff = min(κ, ⌊(T−1)/s⌋ + 1) fit in T.
        min_separation: s, the least number of steps between two of one user's
            contributions (1..2^40), e.g. the number of steps per epoch when every user
            contributes once per epoch; None (default) means 1 (any distinct steps).

    Raises:
        DPKitError: any argument out of range, naming it and the allowed range.

    >>> CounterParams.for_rho("sqrt", 2**10, rho=0.5, relation="add_remove").noise_multiplier
    1.809020...
    """

    kind: Kind
    horizon: int
    noise_multiplier: float | None = None
    epsilon: float | None = None
    dimension: int = 1
    bound: float = 1.0
    relation: Relation | None = None
    clip: bool = False
    blt_buffers: int = DEFAULT_BUFFERS
    blt_theta: tuple[float, ...] | None = field(default=None)
    blt_omega: tuple[float, ...] | None = field(default=None)
    participations: int = 1
    min_separation: int | None = None
    neighbours: Literal["replace", "zero_out"] | None = field(default=None, repr=False,
                                                              compare=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise DPKitError(f"kind must be one of {KINDS}, got {self.kind!r}")
        T = V.integer(minimum=1, maximum=MAX_HORIZON, horizon=self.horizon)
        d = V.integer(minimum=1, maximum=2**20, dimension=self.dimension)
        object.__setattr__(self, "horizon", T)
        object.__setattr__(self, "dimension", d)
        if self.kind == "sqrt" and T * d > MAX_SQRT_HORIZON:
            raise DPKitError(f"horizon*dimension must be <= {MAX_SQRT_HORIZON} (2**25) for "
                             f"kind='sqrt' (it stores O(T*d) numbers), got {T * d}")
        b = V.positive(bound=self.bound)
        object.__setattr__(self, "bound", b)
        object.__setattr__(self, "relation", V.relation(
            self.relation, "replace_one", alias=self.neighbours, alias_name="neighbours",
            alias_map=_LEGACY_NEIGHBOURS))
        object.__setattr__(self, "neighbours", None)  # the deprecated alias, consumed
        if not isinstance(self.clip, (bool, np.bool_)):
            raise DPKitError(f"clip must be True or False, got {self.clip!r}")
        object.__setattr__(self, "clip", bool(self.clip))
        # κ > T or s ≥ T are allowed: only κ_eff = min(κ, ⌊(T−1)/s⌋ + 1) steps fit in T
        k = V.integer(minimum=1, maximum=MAX_PARTICIPATIONS, participations=self.participations)
        object.__setattr__(self, "participations", k)
        if self.min_separation is not None:
            sep = V.integer(minimum=1, maximum=MAX_HORIZON, min_separation=self.min_separation)
            object.__setattr__(self, "min_separation", sep)
        if (self.noise_multiplier is None) == (self.epsilon is None):
            raise DPKitError("give exactly one of noise_multiplier (Gaussian noise) and epsilon "
                             f"(Laplace noise), got noise_multiplier={self.noise_multiplier!r}, "
                             f"epsilon={self.epsilon!r}")
        if self.noise_multiplier is not None:
            s = V.positive(noise_multiplier=self.noise_multiplier)
            object.__setattr__(self, "noise_multiplier", s)
        else:
            if self.kind not in ("tree", "honaker"):
                raise DPKitError(f"epsilon (Laplace noise) is defined for kind 'tree' or "
                                 f"'honaker', got kind={self.kind!r}; use noise_multiplier")
            object.__setattr__(self, "epsilon", V.positive(epsilon=self.epsilon))
        # no silent overflow: the largest possible prefix sum and every noise scale are finite
        finite: dict[str, Any] = {"bound*horizon": b * T}
        V.positive(**finite)
        finite = {"noise_std**2": self.noise_std**2}  # finite, not underflowing
        V.positive(**finite)
        nb = V.integer(minimum=1, maximum=MAX_BUFFERS, blt_buffers=self.blt_buffers)
        object.__setattr__(self, "blt_buffers", nb)
        if self.kind == "blt":
            self._init_blt()
        elif self.blt_theta is not None or self.blt_omega is not None:
            raise DPKitError(f"blt_theta/blt_omega are only used with kind='blt', got "
                             f"kind={self.kind!r}")

    def _init_blt(self) -> None:
        if (self.blt_theta is None) != (self.blt_omega is None):
            raise DPKitError("give both blt_theta and blt_omega, or neither")
        if self.blt_theta is None:
            theta, omega = blt_sqrt_parameters(self.horizon, self.blt_buffers)
        else:
            th = V.finite_array(blt_theta=self.blt_theta).reshape(-1)
            om = V.finite_array(blt_omega=self.blt_omega).reshape(-1)
            if th.size == 0 or th.size > MAX_BUFFERS or th.size != om.size:
                raise DPKitError(f"blt_theta and blt_omega must have the same length in "
                                 f"1..{MAX_BUFFERS}, got {th.size} and {om.size}")
            if np.any(th <= 0) or np.any(th >= 1):
                raise DPKitError(f"blt_theta must lie in (0, 1), got {th.tolist()}")
            if np.any(om <= 0):
                raise DPKitError(f"blt_omega must be > 0, got {om.tolist()}")
            theta, omega = tuple(th.tolist()), tuple(om.tolist())
        object.__setattr__(self, "blt_theta", theta)
        object.__setattr__(self, "blt_omega", omega)
        object.__setattr__(self, "blt_buffers", len(theta))
        lam, _ = blt_inverse_parameters(theta, omega)
        if np.max(np.abs(lam)) >= 1.0:
            raise DPKitError("blt_theta/blt_omega give an unstable inverse (C^-1 has a decay "
                             f"of modulus {float(np.max(np.abs(lam))):.6g} >= 1); the noise "
                             "recursion would grow without bound")

    # ------------------------------------------------------------------ derived quantities
    @classmethod
    def for_rho(cls, kind: Kind, horizon: int, rho: float, **kwargs: Any) -> CounterParams:
        """The Gaussian counter that is exactly ρ-zCDP: σ = s/√(2ρ) (s: sensitivity_factor)."""
        r = V.positive(rho=rho)
        probe = cls(kind, horizon, noise_multiplier=1.0, **kwargs)
        return cls(kind, horizon, noise_multiplier=probe.l2_factor / math.sqrt(2 * r),
                   **kwargs)

    @property
    def noise(self) -> str:
        """"gaussian" or "laplace"."""
        return "gaussian" if self.noise_multiplier is not None else "laplace"

    @property
    def sensitivity(self) -> float:
        """Δ: the largest norm of the change of one item (2·bound for "replace_one", bound
        for "add_remove")."""
        return item_sensitivity(self.bound, self.relation)

    @property
    def separation(self) -> int:
        """s: the least number of steps between two participations (min_separation or 1)."""
        return 1 if self.min_separation is None else int(self.min_separation)

    @property
    def effective_participations(self) -> int:
        """κ_eff = min(κ, ⌊(T−1)/s⌋ + 1): the most participations that fit in the horizon."""
        return effective_participations(self.horizon, self.participations, self.separation)

    @property
    def levels(self) -> int:
        """L = ⌊log2 T⌋ + 1, the number of tree heights (also the tree state's length)."""
        return tree_levels(self.horizon)

    @property
    def l2_factor(self) -> float:
        """s_C: the strategy's ℓ2 sensitivity per unit Δ under the participation schema
        (:func:`~dpkit.mechanisms.continual.sensitivity_factor`)."""
        return l2_sensitivity(self.kind, self.horizon, self.participations, self.separation,
                              self.blt_theta, self.blt_omega)

    @property
    def l1_factor(self) -> float:
        """s₁: the tree strategy's ℓ1 sensitivity per unit Δ (Laplace noise; L at κ = 1)
        (:func:`~dpkit.mechanisms.continual.l1_sensitivity_factor`)."""
        return l1_sensitivity(self.kind, self.horizon, self.participations, self.separation)

    @property
    def laplace_scale(self) -> float:
        """b = s₁·Δ/ε, the per-node Laplace scale (Laplace noise only); s₁ = L at κ = 1, else
        the ℓ1 sensitivity of the tree under the participation schema."""
        if self.epsilon is None:
            raise DPKitError("laplace_scale is defined for Laplace noise (epsilon) only")
        return laplace_scale(self.l1_factor, self.sensitivity, self.epsilon)

    @property
    def noise_std(self) -> float:
        """Standard deviation of one node's (or one z_t's) noise, per coordinate."""
        if self.noise_multiplier is not None:
            return self.noise_multiplier * self.sensitivity
        return math.sqrt(2.0) * self.laplace_scale

    @property
    def noise_scale(self) -> float:
        """What multiplies one unit noise draw: σ·Δ (standard normal) or b (standard Laplace)."""
        if self.noise_multiplier is not None:
            return self.noise_multiplier * self.sensitivity
        return self.laplace_scale

    @property
    def rho(self) -> float:
        """ρ of the zCDP statement (Gaussian noise) = s²/(2σ²); ε²/2 for Laplace noise."""
        if self.noise_multiplier is not None:
            return self.l2_factor ** 2 / (2.0 * self.noise_multiplier**2)
        assert self.epsilon is not None  # validated: exactly one of the two is set
        return self.epsilon**2 / 2.0

    def privacy_event(self) -> Event:
        """The accountant event of a run of at most ``horizon`` steps: the same as
        :func:`dpkit.mechanisms.continual.privacy_event` (``Gaussian(σ/s)`` or Laplace)."""
        return counter_event(self)


def honaker_weights(levels: int) -> np.ndarray:
    """w_h = 2^h/(2^{h+1} − 1): the weight of a node's own noisy value (w_0 = 1), h < levels.

    Used by the reference and every kernel of Honaker's estimator (Honaker, TPDP 2015).
    """
    h = np.arange(levels, dtype=np.float64)
    return np.exp2(h) / (np.exp2(h + 1) - 1.0)


def check_params(params: object) -> CounterParams:
    """``params`` itself when it is a :class:`CounterParams`, else a DPKitError."""
    if not isinstance(params, CounterParams):
        raise DPKitError(f"params must be a CounterParams, got {type(params).__name__}")
    return params
