"""Shared oracles for the accounting tests.

Everything here is independent of dpkit's code: the exact Rényi divergences are computed from
their definitions with mpmath (arbitrary precision, adaptive tanh-sinh quadrature), and the
reference accountants are called through their public APIs only (``dp_accounting``, Opacus).
The helpers are exposed as session fixtures, so test modules never import this file by name.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import mpmath as mp
import numpy as np
import pytest

# ----------------------------------------------------------------------------- mpmath oracles


def mp_sgm_rdp(q: float, sigma: float, alpha: float) -> float:
    """Exact RDP of the Poisson-sampled Gaussian at order α, by quadrature of its definition.

    ε(α) = log(A_α)/(α−1), A_α = E_{z~N(0,σ²)}[((1−q) + q·e^{(2z−1)/(2σ²)})^α]
    (Mironov, Talwar, Zhang 2019, Sec. 3). Written as ((1+L)^α with L = q·expm1((2z−1)/(2σ²)),
    and since E[L] = 0 we integrate A − 1 = E[(1+L)^α − 1 − αL]; the working precision (30–45
    digits) is far above the ~15 digits the subtraction can cancel at q = 1e−7. Breakpoints at
    the two Gaussian bumps (z = 0 and z = α) and at the crossing z0 of the mixture's components
    keep tanh-sinh accurate for α up to 1024 and σ down to 0.3.
    """
    dps = 45 if q < 1e-3 else 30
    with mp.workdps(dps):
        qm, s, a = mp.mpf(q), mp.mpf(sigma), mp.mpf(alpha)
        s2 = s * s

        def integrand(z):
            L = qm * mp.expm1((2 * z - 1) / (2 * s2))
            return (mp.power(1 + L, a) - 1 - a * L) * mp.exp(-z * z / (2 * s2))

        pts = set()
        for centre in (mp.mpf(0), a):
            for k in (0, 5, 15):
                pts.add(centre + k * s)
                pts.add(centre - k * s)
        if q < 1:
            pts.add(s2 * mp.log(1 / qm - 1) + mp.mpf(1) / 2)
        nodes = [-mp.inf, *sorted(pts), mp.inf]
        a_minus_1 = mp.quad(integrand, nodes) / (s * mp.sqrt(2 * mp.pi))
        return float(mp.log1p(a_minus_1) / (a - 1))


def mp_sgm_rdp_binomial(q: float, sigma: float, n: int) -> float:
    """Exact RDP of the sampled Gaussian at integer order n from the finite binomial sum.

    A_n = Σ_{k=0}^{n} C(n,k) (1−q)^{n−k} q^k exp((k²−k)/(2σ²)) (Mironov, Talwar, Zhang 2019,
    Sec. 3.2), summed as written (k = 0 and 1 included; the binomial weights by their ratio
    recurrence) at 40 digits, which leaves more than 20 correct digits of A − 1 even at
    q = 1e−7, σ = 10.
    """
    with mp.workdps(40):
        qm, s2 = mp.mpf(q), mp.mpf(sigma) ** 2
        weight = (1 - qm) ** n  # C(n,0) (1−q)^n q^0
        total = weight
        ratio = qm / (1 - qm)
        for k in range(1, n + 1):
            weight = weight * (n - k + 1) / k * ratio
            total += weight * mp.exp(mp.mpf(k * k - k) / (2 * s2))
        return float(mp.log(total) / (n - 1))


def mp_laplace_rdp(b: float, alpha: float) -> tuple[float, float]:
    """Both directions of D_α between Lap(0, b) and Lap(1, b): log ∫ p^α q^{1−α} / (α−1),
    by quadrature with breakpoints at the two kinks (the integrand p^α q^{1−α} is written as
    one exponential of α·log p + (1−α)·log q)."""
    with mp.workdps(20):
        bm, a = mp.mpf(b), mp.mpf(alpha)
        out = []
        for mu_p, mu_q in ((0, 1), (1, 0)):
            integrand = lambda z, mu_p=mu_p, mu_q=mu_q: mp.exp(  # noqa: E731
                -(a * abs(z - mu_p) + (1 - a) * abs(z - mu_q)) / bm) / (2 * bm)
            out.append(float(mp.log(mp.quad(integrand, [-mp.inf, 0, 1, mp.inf])) / (a - 1)))
        return out[0], out[1]


def mp_laplace_rdp_closed(b, alpha):
    """Mironov 2017, Prop. 6, in mpmath (used only as a base curve for formula checks)."""
    b, a = mp.mpf(b), mp.mpf(alpha)
    inner = a / (2 * a - 1) * mp.exp((a - 1) / b) + (a - 1) / (2 * a - 1) * mp.exp(-a / b)
    return mp.log(inner) / (a - 1)


def mp_subsampled_laplace_rdp(b: float, q: float, alpha: float) -> tuple[float, float]:
    """Exact D_α(μ‖μ0) and D_α(μ0‖μ) for Poisson-subsampled Laplace (add/remove), by quadrature.

    The neighbouring output laws are μ = (1−q)·Lap(0,b) + q·Lap(1,b) and μ0 = Lap(0,b).
    """
    with mp.workdps(20):
        bm, qm, a = mp.mpf(b), mp.mpf(q), mp.mpf(alpha)
        log_norm = -mp.log(2 * bm)

        def log_mix(z):
            return mp.log((1 - qm) * mp.exp(-abs(z) / bm) + qm * mp.exp(-abs(z - 1) / bm))

        def log_p0(z):
            return -abs(z) / bm

        def div(log_p, log_q):
            integral = mp.quad(lambda z: mp.exp(a * log_p(z) + (1 - a) * log_q(z) + log_norm),
                               [-mp.inf, 0, 1, mp.inf])
            return float(mp.log(integral) / (a - 1))

        return div(log_mix, log_p0), div(log_p0, log_mix)


def mp_randomized_response_rdp(epsilon: float, k: int, alpha: float) -> float:
    """max over pairs of inputs x ≠ x' of D_α(M(x)‖M(x')) for k-ary RR, by brute force.

    M(x) reports x with probability e^ε/(e^ε + k − 1), every other value with 1/(e^ε + k − 1).
    """
    with mp.workdps(40):
        e = mp.mpf(epsilon)
        den = mp.exp(e) + k - 1
        rows = [[(mp.exp(e) if y == x else mp.mpf(1)) / den for y in range(k)] for x in range(k)]
        best = mp.mpf(0)
        for x in range(k):
            for x2 in range(k):
                if x == x2:
                    continue
                if math.isinf(alpha):
                    d = max(mp.log(rows[x][y] / rows[x2][y]) for y in range(k))
                else:
                    a = mp.mpf(alpha)
                    s = mp.fsum(rows[x][y] ** a * rows[x2][y] ** (1 - a) for y in range(k))
                    d = mp.log(s) / (a - 1)
                best = max(best, d)
        return float(best)


def mp_zhu_wang(gamma: float, base, n: int) -> float:
    """Zhu & Wang 2019, Thm. 6 at integer n ≥ 2 for base RDP ``base(l)`` (mpmath), no cap."""
    with mp.workdps(40):
        g = mp.mpf(gamma)
        t = (1 - g) ** (n - 1) * (n * g - g + 1)
        t += mp.binomial(n, 2) * g**2 * (1 - g) ** (n - 2) * mp.exp(base(2))
        t += 3 * mp.fsum(
            mp.binomial(n, l) * (1 - g) ** (n - l) * g**l * mp.exp((l - 1) * base(l))
            for l in range(3, n + 1)
        )
        return float(mp.log(t) / (n - 1))


def mp_wbk_thm9(gamma: float, base, base_inf, n: int) -> float:
    """Wang, Balle, Kasiviswanathan 2019, Thm. 9 at integer n ≥ 2 (mpmath), no cap."""
    with mp.workdps(40):
        g = mp.mpf(gamma)
        em1 = mp.inf if base_inf == math.inf else mp.expm1(base_inf)
        c2 = min(4 * mp.expm1(base(2)), mp.exp(base(2)) * min(2, em1**2))
        t = 1 + g**2 * mp.binomial(n, 2) * c2
        t += mp.fsum(
            g**j * mp.binomial(n, j) * mp.exp((j - 1) * base(j)) * min(2, em1**j)
            for j in range(3, n + 1)
        )
        return float(mp.log(t) / (n - 1))


# ------------------------------------------------------------------------ reference accountants


def dpacc_sgm_epsilon(q: float, sigma: float, steps: int, delta: float) -> float:
    """dp_accounting's RDP ε (default orders) for T steps of the Poisson-sampled Gaussian."""
    import dp_accounting as dpa
    from dp_accounting.rdp import RdpAccountant

    acct = RdpAccountant()
    acct.compose(
        dpa.SelfComposedDpEvent(dpa.PoissonSampledDpEvent(q, dpa.GaussianDpEvent(sigma)), steps)
    )
    return float(acct.get_epsilon(delta))


def dpacc_sgm_pld_epsilon(q: float, sigma: float, steps: int, delta: float) -> float:
    """dp_accounting's PLD ε (default discretisation, pessimistic) for the same mechanism."""
    import dp_accounting as dpa
    from dp_accounting.pld import PLDAccountant

    acct = PLDAccountant()
    acct.compose(
        dpa.SelfComposedDpEvent(dpa.PoissonSampledDpEvent(q, dpa.GaussianDpEvent(sigma)), steps)
    )
    return float(acct.get_epsilon(delta))


def opacus_rdp_epsilon(q: float, sigma: float, steps: int, delta: float) -> float:
    """Opacus's RDP accountant ε for history [(σ, q, T)]."""
    from opacus.accountants import RDPAccountant

    acct = RDPAccountant()
    acct.history = [(sigma, q, steps)]
    return float(acct.get_epsilon(delta))


def analytic_gaussian_delta(sigma: float, epsilon: float) -> float:
    """Exact δ(ε) of the Gaussian mechanism, sensitivity 1 (Balle & Wang 2018, Thm. 8)."""
    from scipy.stats import norm

    mu = 1.0 / sigma
    return float(
        norm.cdf(-epsilon / mu + mu / 2) - math.exp(epsilon) * norm.cdf(-epsilon / mu - mu / 2)
    )


@pytest.fixture(scope="session")
def oracle() -> SimpleNamespace:
    """The mpmath oracles and reference accountants above, as one namespace."""
    return SimpleNamespace(
        sgm=mp_sgm_rdp,
        sgm_binomial=mp_sgm_rdp_binomial,
        laplace=mp_laplace_rdp,
        laplace_closed=mp_laplace_rdp_closed,
        subsampled_laplace=mp_subsampled_laplace_rdp,
        randomized_response=mp_randomized_response_rdp,
        zhu_wang=mp_zhu_wang,
        wbk_thm9=mp_wbk_thm9,
        dpacc_rdp=dpacc_sgm_epsilon,
        dpacc_pld=dpacc_sgm_pld_epsilon,
        opacus_rdp=opacus_rdp_epsilon,
        gaussian_delta=analytic_gaussian_delta,
    )


def rel_err(got: float, want: float) -> float:
    """|got − want| / |want| (0 when both are equal, including both infinite)."""
    if got == want:
        return 0.0
    return abs(got - want) / abs(want)


@pytest.fixture(scope="session")
def rel() -> object:
    return rel_err


@pytest.fixture(scope="session")
def finite_default_orders() -> np.ndarray:
    from dpkit.accounting import DEFAULT_ORDERS

    return np.asarray(DEFAULT_ORDERS[np.isfinite(DEFAULT_ORDERS)])


# --------------------------------------------------------------- memory-capped child runs
def run_capped(code: str, *, mem_bytes: int = 2 * 2**30, timeout: float = 60.0):
    """Run ``code`` in a fresh Python with an address-space cap; returns the CompletedProcess.

    For calls that could allocate without bound: a regression must fail the test with a
    MemoryError in the child, not exhaust the machine the suite runs on. A call past
    ``timeout`` is killed and reported as returncode None.
    """
    import os
    import resource
    import subprocess
    import sys

    def limit() -> None:  # runs in the child before exec
        resource.setrlimit(resource.RLIMIT_AS, (mem_bytes, mem_bytes))

    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    try:
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=timeout, preexec_fn=limit, env=env)
    except subprocess.TimeoutExpired as exc:
        return subprocess.CompletedProcess(exc.cmd, None, exc.stdout or "", exc.stderr or "")


@pytest.fixture(scope="session")
def capped() -> object:
    return run_capped
