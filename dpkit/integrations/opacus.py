"""Opacus adapter: DP-SGD trained with Opacus, accounted and calibrated by dpkit.

Switching an Opacus script to dpkit takes two lines::

    import dpkit.integrations.opacus              # registers the "dpkit" accountant
    privacy_engine = PrivacyEngine(accountant="dpkit")

**Registration happens at import.** Importing this module registers :class:`DpkitAccountant`
under the name ``"dpkit"`` through Opacus's own public registry
(``opacus.accountants.register_accountant``), so ``PrivacyEngine(accountant="dpkit")``,
``opacus.accountants.create_accountant("dpkit")`` and
``get_noise_multiplier(accountant="dpkit")`` all work afterwards. Nothing in Opacus is
patched. ``import dpkit`` alone never imports torch or Opacus.

Privacy statement
-----------------
One step of DP-SGD as Opacus runs it (Abadi et al. 2016): draw a Poisson sample of the
training set, each example included independently with probability q; clip each per-example
gradient to L2 norm C (``max_grad_norm``); add N(0, σ²C²·I) to their sum (σ =
``noise_multiplier``); update the model. T such steps with parameters (σ_t, q_t) satisfy
(ε, δ)-differential privacy under **add/remove-one-example adjacency** with
ε = :meth:`DpkitAccountant.get_epsilon` (δ), computed by the accountant's ``method``:

* ``"rdp"``: the exact Rényi DP of the Poisson-sampled Gaussian mechanism (Mironov, Talwar,
  Zhang 2019), added over the steps (Mironov 2017, Prop. 1), converted to (ε, δ) with the
  bound of Balle et al. 2020 and minimised over dpkit's order grid (α from 1.01 to 2048
  and ∞);
* ``"pld"``: the certified privacy loss distribution of the steps' dominating pairs (Zhu,
  Dong, Wang 2022), discretized pessimistically (connect-the-dots, Doroshenko et al. 2022)
  and composed by FFT, both directions of add/remove, the larger δ(ε);
* ``"auto"`` (default): the smaller of the two.

Each is an upper bound on the true ε, never below it, so their minimum is one too.

What ε means: for any two training sets D, D′ that differ by adding or removing one example,
and any set S of outcomes of the whole run (every noisy gradient, hence the final model and
anything computed from it), P[run(D) ∈ S] ≤ e^ε · P[run(D′) ∈ S] + δ.

Assumptions, all of them Opacus's own: Poisson sampling (``poisson_sampling=True``, the
default; :func:`make_private_with_epsilon` refuses anything else); the recorded rate
q = 1/len(loader) is at least the loader's inclusion probability (see
:func:`dpsgd_schedule`); the model update depends on the data only through the noisy clipped
sum (Opacus's ``ModuleValidator`` rejects batch norm and the like); the noise comes from
torch's default generator, which is **not** hardened against floating-point attacks
(``PrivacyEngine(secure_mode=True)`` is Opacus's mitigation).

References: M. Abadi et al., "Deep Learning with Differential Privacy", CCS 2016;
I. Mironov, K. Talwar, L. Zhang, "Rényi Differential Privacy of the Sampled Gaussian
Mechanism", arXiv:1908.10530, 2019; I. Mironov, "Rényi Differential Privacy", CSF 2017;
B. Balle et al., "Hypothesis Testing Interpretations and Rényi Differential Privacy",
AISTATS 2020; Y. Zhu, J. Dong, Y.-X. Wang, "Optimal Accounting of Differential Privacy via
Characteristic Function", AISTATS 2022; V. Doroshenko, B. Ghazi, P. Kamath, R. Kumar,
P. Manurangsi, "Connect the Dots: Tighter Discrete Approximations of Privacy Loss
Distributions", PETS 2022.
"""

from __future__ import annotations

import math
import warnings
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .. import _validate as V
from ..accounting import (
    Accountant,
    Composed,
    EpsilonResult,
    Gaussian,
    PoissonSampled,
    Repeated,
    calibrate,
    dpsgd,
)
from ..accounting import conversions as _conv
from ..accounting.accountant import validate_method
from ..errors import DPKitError, InfeasibleTargetError

_INSTALL_HINT = "pip install 'dpkit[opacus]'"

try:
    import torch
    from opacus import PrivacyEngine
    from opacus.data_loader import DPDataLoader
    from opacus.utils.uniform_sampler import (
        DistributedUniformWithReplacementSampler,
        UniformWithReplacementSampler,
    )
    from torch.utils.data import (
        BatchSampler,
        DataLoader,
        IterableDataset,
        RandomSampler,
        SequentialSampler,
    )
except ImportError as _exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        f"dpkit.integrations.opacus needs PyTorch and Opacus ({_exc}); "
        f"install them with: {_INSTALL_HINT}"
    ) from _exc

try:
    from opacus.accountants import IAccountant, create_accountant, register_accountant
except ImportError as _exc:  # pragma: no cover - only with an Opacus older than the extra pins
    raise ImportError(
        f"dpkit.integrations.opacus needs an Opacus with an accountant registry (>= 1.5): "
        f"{_exc}; upgrade with: {_INSTALL_HINT}"
    ) from _exc

__all__ = [
    "MECHANISM",
    "DpkitAccountant",
    "make_private_with_epsilon",
    "dpsgd_schedule",
]

#: The name under which :class:`DpkitAccountant` is registered with Opacus.
MECHANISM = "dpkit"

History = list[tuple[float, float, int]]


def _sgm_record(event: Any, steps: int) -> tuple[float, float, int]:
    """(σ, q, steps) of a ledger entry; the adapter records only PoissonSampled(Gaussian)."""
    assert isinstance(event, PoissonSampled) and isinstance(event.event, Gaussian)
    return (event.event.noise_multiplier, event.sample_rate, steps)


class DpkitAccountant(IAccountant):
    """Opacus accountant whose ε is computed by dpkit's accountant (RDP, PLD or the smaller).

    Implements Opacus's ``IAccountant`` interface: ``step(*, noise_multiplier, sample_rate)``
    records one DP-SGD step, ``get_epsilon(delta)`` returns the ε spent so far,
    ``mechanism()`` is ``"dpkit"``, ``history`` is the list of ``(noise_multiplier,
    sample_rate, steps)`` tuples, ``state_dict()`` / ``load_state_dict()`` checkpoint it and
    ``get_optimizer_hook_fn`` (inherited) attaches it to a ``DPOptimizer``.

    Privacy statement: ``get_epsilon(δ)`` bounds the (ε, δ)-DP, under add/remove-one-example
    adjacency, of every step recorded so far, each a Poisson-sampled Gaussian mechanism
    (DP-SGD of Abadi et al. 2016), by :attr:`method`: ``"rdp"`` (exact RDP, Mironov, Talwar,
    Zhang 2019), ``"pld"`` (certified privacy loss distribution, Zhu, Dong, Wang 2022;
    Doroshenko et al. 2022) or ``"auto"`` (the smaller; default). It equals, bit for bit,
    ``self.accountant.epsilon(δ, method=self.method)``, where :attr:`accountant` is the
    immutable :class:`dpkit.accounting.Accountant` holding the same steps; for a single
    ``(σ, q, T)`` run that is ``dpkit.accounting.dpsgd.epsilon(σ, q, T, δ, method=...)``.

    It *is* that accountant: ``step`` composes into it, so memory and time do not grow with
    the number of steps (equal steps are merged in its ledger; a step costs one curve
    evaluation at the orders already in use) and ``get_epsilon`` evaluates only the orders
    that can still give the smallest ε.

    Differences from Opacus's own accountants, none of which changes ε: ``history`` merges
    *all* equal steps (Opacus merges only consecutive ones; RDP composition does not depend
    on the order), and ``len()`` is the number of steps (Opacus returns the number of history
    entries; both are 0 exactly when nothing was spent).

    Args:
        orders: Rényi orders to minimise over (default: dpkit's ``DEFAULT_ORDERS``).
        method: ``"auto"`` (default), ``"rdp"`` or ``"pld"``: how ``get_epsilon`` and
            ``get_privacy_spent`` bound ε (each also takes ``method=`` per call). Stored in
            ``state_dict``.

    Raises:
        DPKitError: for a method other than those three; from ``step`` for σ < 0 or NaN, or
            a sample rate outside [0, 1]; from ``get_epsilon`` for δ outside [0, 1); from
            ``load_state_dict`` for another mechanism's state.

    Example:
        >>> acct = DpkitAccountant()
        >>> for _ in range(20):
        ...     acct.step(noise_multiplier=1.1, sample_rate=0.125)
        >>> eps_auto = acct.get_epsilon(delta=1e-5)
        >>> round(acct.get_epsilon(delta=1e-5, method="rdp"), 4), len(acct), acct.history
        (4.2296, 20, [(1.1, 0.125, 20)])
        >>> eps_auto < 4.0   # the PLD bound decides (Opacus's PRV estimate: 3.657)
        True
    """

    def __init__(self, *, orders: Any = None, method: str = "auto") -> None:
        self._acct = Accountant(orders)
        self._method = validate_method(method)
        super().__init__()  # Opacus's base sets ``self.history = []`` (the setter below)

    # ------------------------------------------------------------------ Opacus interface
    @classmethod
    def mechanism(cls) -> str:
        """The registry name, ``"dpkit"``."""
        return MECHANISM

    def step(self, *, noise_multiplier: float, sample_rate: float) -> None:
        """Record one DP-SGD step with noise multiplier σ ≥ 0 and Poisson rate q ∈ [0, 1]."""
        sigma, rate = self._key(noise_multiplier=noise_multiplier, sample_rate=sample_rate)
        self._acct = self._acct.compose(dpsgd.event(sigma, rate))

    def get_epsilon(self, delta: float, *, refine: bool = False, method: str | None = None,
                    **kwargs: Any) -> float:
        """ε spent so far at ``delta`` (0 before the first step; ∞ if some step had σ = 0).

        Args:
            delta: target δ in [0, 1).
            refine: also search real orders near the best grid order (RDP; never larger;
                then equal to ``self.accountant.epsilon(delta, refine=True, method=...)``).
            method: ``"auto"``, ``"rdp"`` or ``"pld"`` for this call only (default: the
                accountant's :attr:`method`). ``"pld"`` cannot fail here: every step is a
                Poisson-sampled Gaussian, which has a dominating pair.
            **kwargs: accepted and ignored, because Opacus forwards the extra keyword
                arguments of ``make_private_with_epsilon`` here (e.g. ``eps_error`` meant for
                its PRV accountant). The Rényi orders are fixed at construction.
        """
        return self.get_epsilon_details(delta, refine=refine, method=method).epsilon

    def get_privacy_spent(self, *, delta: float, refine: bool = False,
                          method: str | None = None) -> tuple[float, float]:
        """``(ε, optimal Rényi order)`` at ``delta``, like Opacus's ``RDPAccountant``; the
        order is NaN when the PLD bound decided (``method`` as in :meth:`get_epsilon`)."""
        res = self.get_epsilon_details(delta, refine=refine, method=method)
        return res.epsilon, res.order

    def get_epsilon_details(self, delta: float, *, refine: bool = False,
                            method: str | None = None) -> EpsilonResult:
        """The :class:`~dpkit.accounting.EpsilonResult` behind :meth:`get_epsilon`: ε, the
        method that decided it, and each method's value (``rdp_epsilon``, ``pld_epsilon``)."""
        m = self._method if method is None else validate_method(method)
        return self._acct.epsilon_details(_conv.validate_delta(delta), refine=refine, method=m)

    @property
    def method(self) -> str:
        """How ε is bounded by default: ``"auto"``, ``"rdp"`` or ``"pld"`` (assignable)."""
        return self._method

    @method.setter
    def method(self, value: str) -> None:
        self._method = validate_method(value)

    def __len__(self) -> int:
        """Number of steps recorded."""
        return sum(n for _, n in self._acct.ledger)

    @property
    def history(self) -> History:
        """``[(noise_multiplier, sample_rate, steps), ...]``, equal steps merged, first-seen order.

        Assigning a list of such tuples replaces the record (Opacus's ``get_noise_multiplier``
        does this); it is validated first and left unchanged if any entry is bad.
        """
        return [_sgm_record(e, n) for e, n in self._acct.ledger]

    @history.setter
    def history(self, value: Sequence[Sequence[Any]]) -> None:
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
            raise DPKitError(
                f"history must be a list of (noise_multiplier, sample_rate, steps), got {value!r}"
            )
        acct = Accountant(self._acct.orders)
        for i, entry in enumerate(value):
            if isinstance(entry, (str, bytes)) or not isinstance(entry, Sequence) or len(
                entry
            ) != 3:
                raise DPKitError(
                    f"history[{i}] must be (noise_multiplier, sample_rate, steps), got {entry!r}"
                )
            key = self._key(**{f"history[{i}] noise_multiplier": entry[0],
                               f"history[{i}] sample_rate": entry[1]})
            n = V.integer(minimum=0, **{f"history[{i}] steps": entry[2]})
            acct = acct.compose(dpsgd.event(*key), n)
        self._acct = acct

    def state_dict(self, destination: Any = None) -> dict[str, Any]:
        """Checkpoint: ``history``, ``mechanism`` (``"dpkit"``), the Rényi ``orders`` and the
        accounting ``method``.

        Plain Python values only, so it goes through ``torch.save`` and (orders written with
        ``"inf"`` as a string) through JSON.
        """
        if destination is None:
            destination = OrderedDict()
        destination["history"] = self.history
        destination["mechanism"] = self.mechanism()
        destination["orders"] = ["inf" if math.isinf(o) else float(o) for o in self.orders]
        destination["method"] = self._method
        return destination

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Replace this accountant's record by a checkpoint written by :meth:`state_dict`.

        A checkpoint without a ``method`` key (written before dpkit had PLD accounting)
        loads too and keeps this accountant's :attr:`method`: every method bounds the same
        steps, so the record means the same; only the bound's tightness differs.

        Raises:
            DPKitError: if the state is empty, malformed (including a ``method`` other than
                ``"auto"``, ``"rdp"``, ``"pld"``), or was written by another accountant
                (``mechanism`` other than ``"dpkit"``): resuming a run under a different
                accountant would silently change what its ε means.
        """
        if not isinstance(state_dict, Mapping) or len(state_dict) == 0:
            raise DPKitError(
                "state_dict is empty or not a mapping: nothing to load into DpkitAccountant"
            )
        mech = state_dict.get("mechanism")
        if mech is None:
            raise DPKitError("state_dict has no 'mechanism' key; it was not written by an "
                             "Opacus or dpkit accountant")
        if mech != MECHANISM:
            raise DPKitError(
                f"state_dict was written by Opacus's {mech!r} accountant; a DpkitAccountant "
                f"only loads {MECHANISM!r} state. Resume with PrivacyEngine(accountant="
                f"{mech!r}), or, if you mean to re-account that run with dpkit, assign its "
                "steps explicitly: accountant.history = state_dict['history']"
            )
        if "history" not in state_dict:
            raise DPKitError("state_dict has no 'history' key: nothing to load")
        orders = state_dict.get("orders")
        if orders is not None:
            if isinstance(orders, (str, bytes)) or not isinstance(orders, Sequence):
                raise DPKitError(f"state_dict['orders'] must be a list, got {orders!r}")
            orders = [math.inf if o == "inf" else o for o in orders]
        method = state_dict.get("method", self._method)
        if not (isinstance(method, str) and method in ("auto", "rdp", "pld")):
            raise DPKitError(f"state_dict['method'] must be 'auto', 'rdp' or 'pld', got "
                             f"{method!r}")
        fresh = DpkitAccountant(orders=orders, method=method)
        fresh.history = state_dict["history"]
        self._acct = fresh._acct
        self._method = fresh._method

    # ------------------------------------------------------------------ dpkit view
    @property
    def accountant(self) -> Accountant:
        """The steps so far as an immutable :class:`dpkit.accounting.Accountant`.

        Its ledger holds one ``PoissonSampled(Gaussian(σ), q)`` event per distinct (σ, q)
        with its count, so it composes with any other dpkit event.
        """
        return self._acct

    @property
    def orders(self) -> np.ndarray:
        """The Rényi orders (read-only)."""
        return self._acct.orders

    # ------------------------------------------------------------------ internals
    @staticmethod
    def _key(**kwargs: Any) -> tuple[float, float]:
        (sname, s), (qname, q) = kwargs.items()
        sigma = V.nonnegative(allow_inf=True, **{sname: s})
        rate = V.probability(**{qname: q})
        return sigma, rate

    def __repr__(self) -> str:
        hist = self.history
        shown = ", ".join(f"({s:g}, {q:g}, {n})" for s, q, n in hist[:4])
        more = f", … {len(hist) - 4} more" if len(hist) > 4 else ""
        return (f"DpkitAccountant(steps={len(self)}, method={self._method!r}, "
                f"history=[{shown}{more}])")


def _register() -> None:
    """Register :class:`DpkitAccountant` under ``"dpkit"`` with Opacus (idempotent)."""
    try:
        current: type | None = type(create_accountant(MECHANISM))
    except ValueError:
        current = None
    if current is DpkitAccountant:
        return
    ours = current is not None and (current.__module__, current.__qualname__) == (
        DpkitAccountant.__module__, DpkitAccountant.__qualname__)  # a reloaded module
    if current is not None and not ours:
        warnings.warn(
            f"Opacus already had an accountant registered as {MECHANISM!r} "
            f"({current.__module__}.{current.__qualname__}); dpkit replaces it",
            RuntimeWarning,
            stacklevel=3,
        )
    register_accountant(MECHANISM, DpkitAccountant, force=current is not None)


_register()


# ---------------------------------------------------------------------- calibration
def _sampler_error(data_loader: DataLoader, what: str) -> DPKitError:
    n_batches: Any
    try:
        n_batches = len(data_loader)
    except TypeError:
        n_batches = "unknown"
    return DPKitError(
        f"data_loader draws its batches with {what}. Opacus's Poisson loader would silently "
        f"replace it by uniform Poisson sampling at rate 1/len(data_loader) (len = "
        f"{n_batches}), a rate set by your sampler's length rather than by your batch size "
        "(Opacus issue #813), so the epsilon would not describe the training you meant. "
        "Use DataLoader(dataset, batch_size=B) (with or without shuffle=True), or "
        "opacus.data_loader.DPDataLoader(dataset, sample_rate=B / len(dataset))"
    )


def dpsgd_schedule(data_loader: DataLoader, epochs: int) -> tuple[float, int]:
    """The sample rate q and number of steps Opacus will record for ``epochs`` epochs.

    ``PrivacyEngine.make_private`` (with ``poisson_sampling=True``) turns ``data_loader``
    into a ``DPDataLoader`` that includes each example with probability p = 1/L,
    L = ``len(data_loader)``, and draws ``int(1/p)`` batches per epoch; the accountant then
    records q = 1 / (batches per epoch) per step. In floating point ``int(1/(1/L))`` is
    L − 1 for some L (93, 99, 105, …), so q may exceed p slightly: the record is conservative,
    and calibrating with q = 1/L and epochs·L steps instead (as Opacus's own
    ``make_private_with_epsilon`` does) could overshoot the target. This function returns
    exactly what will be recorded: (1/batches, epochs·batches).

    Only samplers whose Poisson replacement keeps the user's intent are accepted: the
    default ``BatchSampler`` over a ``SequentialSampler`` or a ``RandomSampler`` without
    replacement over the whole dataset, or a loader that is already Poisson
    (``DPDataLoader``).

    Raises:
        DPKitError: for an ``IterableDataset``, an empty dataset, any other sampler (e.g.
            ``WeightedRandomSampler``, ``SubsetRandomSampler``, a custom ``batch_sampler``),
            or epochs not a positive integer.
    """
    n_epochs = V.integer(minimum=1, epochs=epochs)
    if not isinstance(data_loader, DataLoader):
        raise DPKitError(f"data_loader must be a torch DataLoader, got {type(data_loader)!r}")
    dataset = data_loader.dataset
    if isinstance(dataset, IterableDataset):
        raise DPKitError("data_loader wraps an IterableDataset: Poisson sampling needs a "
                         "map-style dataset with a length")
    try:
        size = len(dataset)  # type: ignore[arg-type]
    except TypeError:
        raise DPKitError("data_loader's dataset has no length: Poisson sampling needs "
                         "one") from None
    if size < 1:
        raise DPKitError("data_loader's dataset is empty")
    bs = data_loader.batch_sampler
    poisson = (UniformWithReplacementSampler, DistributedUniformWithReplacementSampler)
    if isinstance(data_loader, DPDataLoader) or isinstance(bs, poisson):
        pass
    elif bs is None:
        raise _sampler_error(data_loader, "no batch sampler (batch_size=None)")
    elif type(bs) is not BatchSampler:
        raise _sampler_error(data_loader, f"a custom batch_sampler ({type(bs).__name__})")
    else:
        s = bs.sampler
        plain = type(s) is SequentialSampler or (
            type(s) is RandomSampler and not s.replacement and s.num_samples == size)
        if not plain:
            what = type(s).__name__
            if type(s) is RandomSampler:
                what += (f"(replacement={s.replacement}, num_samples={s.num_samples}) over "
                         f"{size} examples")
            raise _sampler_error(data_loader, what)
    batches = len(data_loader)
    if batches < 1:
        raise DPKitError("data_loader yields no batches")
    # The public sampler class tells how many batches Opacus's Poisson loader will draw.
    per_epoch = len(UniformWithReplacementSampler(num_samples=size, sample_rate=1.0 / batches))
    if per_epoch < 1:  # pragma: no cover - int(1/(1/L)) >= 1 for every L >= 1
        raise DPKitError("Opacus would draw no batch per epoch")
    return 1.0 / per_epoch, n_epochs * per_epoch


def _check_clip(max_grad_norm: Any) -> None:
    if isinstance(max_grad_norm, (list, tuple)):
        if not max_grad_norm:
            raise DPKitError("max_grad_norm must not be an empty list")
        for i, c in enumerate(max_grad_norm):
            V.positive(**{f"max_grad_norm[{i}]": c})
    else:
        V.positive(max_grad_norm=max_grad_norm)


def _calibrate(acct: DpkitAccountant, target: float, delta: float, q: float,
               steps: int, method: str) -> float:
    """Smallest σ (to 1e-6 by RDP, 1e-3 by PLD) whose ``steps`` more steps keep ``acct``'s ε,
    bounded by ``method``, ≤ target.

    Takes values already validated by :func:`make_private_with_epsilon` (target ε > 0,
    δ ∈ (0, 1), the method; q and steps from :func:`dpsgd_schedule`) and re-checks none of
    them: the search runs once, and the answer is checked once against an accountant built
    once.
    """
    current = acct.accountant
    prior = acct.history
    if prior:
        spent = current._epsilon_details(delta, method=method).epsilon
        if spent >= target:
            raise InfeasibleTargetError(
                f"target_epsilon={target:g} is unreachable at target_delta={delta:g}: the "
                f"engine's accountant has already spent epsilon={spent:.6g} over {len(acct)} "
                "steps; raise the target or start a new PrivacyEngine"
            )
        base = current.as_event()
        sigma = calibrate._noise_multiplier_by(
            method, lambda s: Composed((base, Repeated(dpsgd.event(s, q), steps))), target,
            delta, 1, acct.orders,
        )
    else:
        sigma = dpsgd._noise_multiplier(target, delta, q, steps, acct.orders, method=method)
    # Check with the accountant's own arithmetic: the ε of the history as it will be saved
    # and reloaded (the prior steps composed entry by entry, then the planned ones).
    before = Accountant(acct.orders)
    for s_prior, q_prior, n_prior in prior:
        before = before.compose(dpsgd.event(s_prior, q_prior), n_prior)
    step = 1e-9
    for _ in range(48):
        planned = before.compose(dpsgd.event(sigma, q), steps)
        if planned._epsilon_details(delta, method=method).epsilon <= target:
            return sigma
        sigma *= 1.0 + step  # pragma: no cover - a rounding-level disagreement at most
        step *= 2.0  # pragma: no cover
    raise DPKitError("internal error: the calibrated noise multiplier overshoots the "
                     "target")  # pragma: no cover


def make_private_with_epsilon(
    privacy_engine: PrivacyEngine,
    *,
    module: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    data_loader: DataLoader,
    target_epsilon: float,
    target_delta: float,
    epochs: int,
    max_grad_norm: float | Sequence[float],
    poisson_sampling: bool = True,
    method: str = "auto",
    **kwargs: Any,
) -> tuple[Any, ...]:
    """Opacus's ``make_private`` with the noise multiplier calibrated by dpkit.

    Finds the smallest σ (to a relative 1e-6 by RDP, 1e-3 by PLD) such that ``epochs``
    epochs of DP-SGD over ``data_loader``, as Opacus will record them
    (:func:`dpsgd_schedule`), keep ε ≤ ``target_epsilon`` at ``target_delta``, ε bounded by
    ``method`` — counting what the engine's accountant has already spent — then calls
    ``privacy_engine.make_private(noise_multiplier=σ, ...)`` and returns what it returns
    (``(module, optimizer, data_loader)``, or with the criterion in
    ghost-clipping mode). The chosen σ is ``optimizer.noise_multiplier``.

    The engine's ε is reported by dpkit with the same ``method``: if its accountant is not
    a :class:`DpkitAccountant`, it is replaced by one that carries over its history (with a
    warning); if it is one, its :attr:`~DpkitAccountant.method` is set to ``method``. So
    ``privacy_engine.get_epsilon(target_delta)`` after the planned epochs is ≤
    ``target_epsilon``. Training longer than ``epochs`` spends more.

    Privacy statement: as in the module docstring — (ε, δ)-DP under add/remove-one-example
    adjacency for Poisson-sampled DP-SGD (Abadi et al. 2016), by exact sampled-Gaussian RDP
    (Mironov, Talwar, Zhang 2019), the certified PLD (Zhu, Dong, Wang 2022; Doroshenko et
    al. 2022) or the smaller of the two (``method``).

    Args:
        privacy_engine: an ``opacus.PrivacyEngine``.
        module, optimizer, data_loader: as for ``make_private``.
        target_epsilon: ε > 0 to spend in total.
        target_delta: δ in (0, 1).
        epochs: number of passes over ``data_loader`` planned (integer ≥ 1).
        max_grad_norm: clipping norm C > 0 (a list of them for per-layer clipping).
        poisson_sampling: must be True (the privacy statement assumes Poisson sampling).
        method: ``"auto"`` (default: the smaller of the RDP and PLD bounds, hence the
            smaller σ), ``"rdp"`` or ``"pld"``: the bound σ is calibrated for, and the one
            the engine's accountant reports with afterwards.
        **kwargs: passed to ``make_private`` (``criterion``, ``clipping``, ``noise_generator``,
            ``grad_sample_mode``, ...). ``noise_multiplier`` is refused: it is calibrated here.

    Returns:
        What ``privacy_engine.make_private`` returns.

    Raises:
        DPKitError: bad input (target ε ≤ 0, δ ∉ (0, 1), epochs < 1, C ≤ 0, an unsupported
            sampler, ``poisson_sampling=False``, a method other than the three); raised
            before anything is modified.
        InfeasibleTargetError: no σ reaches the target; also raised before anything is
            modified.
    """
    if not isinstance(privacy_engine, PrivacyEngine):
        raise DPKitError(
            f"privacy_engine must be an opacus.PrivacyEngine, got {type(privacy_engine)!r}")
    target = V.positive(target_epsilon=target_epsilon)
    delta = V.in_range(0.0, 1.0, low_open=True, high_open=True, target_delta=target_delta)
    method = validate_method(method)
    _check_clip(max_grad_norm)
    if "noise_multiplier" in kwargs:
        raise DPKitError("noise_multiplier is calibrated by make_private_with_epsilon; to set "
                         "it yourself call privacy_engine.make_private instead")
    if poisson_sampling is not True:
        raise DPKitError(
            "poisson_sampling=False is not supported: the epsilon of dpkit (and of Opacus) "
            "assumes Poisson sampling, and is not a valid bound for shuffled fixed-size batches")
    q, steps = dpsgd_schedule(data_loader, epochs)

    previous = privacy_engine.accountant
    if isinstance(previous, DpkitAccountant):
        acct = previous
    else:
        acct = DpkitAccountant(method=method)
        acct.history = list(previous.history)
    sigma = _calibrate(acct, target, delta, q, steps, method)
    previous_method = acct.method

    if acct is not previous:
        warnings.warn(
            f"make_private_with_epsilon: the engine's {previous.mechanism()!r} accountant was "
            f"replaced by dpkit's (its {len(previous.history)} history entries carried over), "
            "so that the reported epsilon is the one the noise was calibrated for; create "
            "the engine with PrivacyEngine(accountant='dpkit') to avoid this warning",
            UserWarning,
            stacklevel=2,
        )
        privacy_engine.accountant = acct
    acct.method = method  # the engine reports the ε the noise was calibrated for
    try:
        out = privacy_engine.make_private(
            module=module, optimizer=optimizer, data_loader=data_loader,
            noise_multiplier=sigma, max_grad_norm=max_grad_norm, poisson_sampling=True,
            **kwargs,
        )
    except BaseException:
        acct.method = previous_method
        privacy_engine.accountant = previous
        raise
    recorded = 1.0 / len(out[-1])
    if recorded != q:  # pragma: no cover - dpsgd_schedule mirrors make_private
        raise DPKitError(f"internal error: Opacus will record sample_rate={recorded!r}, "
                         f"calibrated for {q!r}; do not train with these objects")
    return tuple(out)

