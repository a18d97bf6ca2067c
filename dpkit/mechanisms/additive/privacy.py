"""Privacy statements of the additive mechanisms, on plain numbers.

Gaussian(σ): ρ = 1/(2σ²) zCDP, RDP α/(2σ²) (Mironov 2017, Prop. 7; Bun & Steinke 2016);
Laplace(b): (1/b)-DP (Dwork, McSherry, Nissim, Smith 2006; RDP Mironov 2017, Prop. 6);
discrete Laplace with scale t and integer L1 sensitivity Δ: (Δ/t)-DP (Ghosh, Roughgarden,
Sundararajan 2012; Canonne, Kamath, Steinke 2020); discrete Gaussian with σ and integer (L2)
sensitivity Δ: Δ²/(2σ²)-zCDP (Canonne, Kamath, Steinke 2020, Thms. 14-15). Every statement holds
for whichever neighbouring relation the sensitivity was computed under (the events carry
``relation=None``).

The public statement of a record is its ``params.privacy_event()`` (and ``epsilon`` / ``rho``);
the exact rationals are rounded *up* to a float, so a reported number is never below the truth.
The plain-number helpers and the event builders the records use sit below :mod:`.params`, in
the private ``_privacy_math``; this module re-exports them above the params (the package's
layers: ``_privacy_math`` ← params ← privacy ← mechanism).
"""

from __future__ import annotations

from ._privacy_math import discrete_gaussian_rho as discrete_gaussian_rho
from ._privacy_math import discrete_laplace_epsilon as discrete_laplace_epsilon
from ._privacy_math import float_up as float_up
from ._privacy_math import gaussian_event as gaussian_event
from ._privacy_math import laplace_event as laplace_event
from ._privacy_math import pure_dp_event as pure_dp_event
from ._privacy_math import zcdp_event as zcdp_event

#: The public statements are the records' methods; the helpers above stay importable here.
__all__: list[str] = []
