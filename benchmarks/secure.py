"""The cost of the hardened tier (issue #14 §3): ``secure_generator()`` against the fast tier.

For each mechanism, reports (or released numbers) per second with

* the fast tier on its default backend (numba when installed; an int seed, PCG64 / SplitMix64),
* the fast tier on the numpy reference (an int seed, PCG64),
* the hardened tier: a :class:`dpkit.random.SecureGenerator` with ``backend="auto"``. Kernels
  that draw their own randomness (GRR, OUE, OLH, smoothed RR, RQM) then run the numpy reference
  with every draw read from ``os.urandom``; kernels that draw nothing (KDE's sketch, the
  continual counters) keep numba and take their noise from the OS on the host.

Also the OS bytes read per report in the hardened tier (a counting SecureGenerator) and the
raw ``os.urandom`` throughput, which bounds the hardened tier: 8 bytes per random decision.
``python -m benchmarks --only secure [--quick]``; the table also goes to
``benchmarks/out/secure.md``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import OUT_DIR
from ._report import Table, fmt_ratio, machine_info, machine_markdown, module_main, write_markdown
from ._timing import measure

__all__ = ["run", "main", "cases", "secure_table"]


def _counting() -> Any:
    from dpkit.random import SecureGenerator

    class Counting(SecureGenerator):
        def __init__(self) -> None:
            self.nbytes = 0

        def _read(self, nbytes: int) -> bytes:
            self.nbytes += nbytes
            return os.urandom(nbytes)

    return Counting()


def _numba_threads(k: int) -> int:
    """Set numba's thread count to ``k`` (when numba is installed); return the old count."""
    try:
        import numba
    except ImportError:  # pragma: no cover - numba is optional
        return k
    old = numba.get_num_threads()
    numba.set_num_threads(k)
    return old


def cases(n: int) -> list[tuple[str, int, Callable[[Any, str], Any]]]:
    """(name, reports per call, fn(rng, backend)) for every mechanism measured."""
    from dpkit.mechanisms import continual, kde, rqm
    from dpkit.mechanisms import heavy_hitters as hh
    from dpkit.mechanisms import smoothed_rr as srr
    from dpkit.mechanisms.additive import DiscreteGaussianParams, discrete_gaussian_mechanism

    gen = np.random.default_rng(0)
    items = gen.integers(0, 64, n)
    x = gen.uniform(-1.0, 1.0, n)
    pts = gen.uniform(-1.0, 1.0, (n, 4))
    stream = (gen.random(n) < 0.5).astype(float)
    p_rqm = rqm.RQMParams(1.0, 1.0, 16, 0.25)
    p_srr = srr.SmoothedRRParams(1.0)
    p_kde = kde.KDEParams("l1", epsilon=1.0, radius=1.0, size_hint=n)
    p_cont = continual.CounterParams("tree", n, noise_multiplier=1.0, bound=1.0)
    p_dg = DiscreteGaussianParams(5)
    ints = np.zeros(n // 10, dtype=np.int64)
    return [
        ("GRR, D = 64", n, lambda r, b: hh.perturb(hh.GRR(2.0, 64), items, r, backend=b)),
        ("OUE, D = 64", n, lambda r, b: hh.perturb(hh.OUE(2.0, 64), items, r, backend=b)),
        ("OLH fresh seeds, D = 64", n,
         lambda r, b: hh.perturb(hh.OLH(2.0, 64, num_hashes=None), items, r, backend=b)),
        ("OLH pool, D = 64", n, lambda r, b: hh.perturb(hh.OLH(2.0, 64), items, r, backend=b)),
        ("smoothed RR (flip)", n, lambda r, b: srr.respond(p_srr, x, r, backend=b)),
        ("RQM, m = 16, q = 0.25", n, lambda r, b: rqm.quantize(p_rqm, x, r, backend=b)),
        ("KDE build (ℓ1, d = 4), points", n, lambda r, b: kde.build(p_kde, pts, r, backend=b)),
        ("continual tree counter, steps", n, lambda r, b: continual.run(p_cont, stream, r,
                                                                        backend=b)),
        ("discrete Gaussian σ = 5 (no backend)", n // 10,
         lambda r, b: discrete_gaussian_mechanism(p_dg, ints, r)),
    ]


def secure_table(quick: bool) -> tuple[Table, float]:
    from dpkit.random import secure_generator

    n = 20_000 if quick else 100_000
    reps = 3 if quick else 5
    table = Table(f"Reports per second, fast vs hardened tier (median of {reps})",
                  ["mechanism", "reports", "fast, auto (M/s)", "fast, auto 1 thread (M/s)",
                   "fast, numpy (M/s)", "hardened (M/s)", "hardened slowdown vs best fast",
                   "OS bytes / report", "OS-read bound (M/s)"],
                  notes=["fast = an int seed (PCG64; the numba kernels expand a SplitMix64 "
                         "key); hardened = secure_generator(), backend='auto' (numpy reference "
                         "for kernels that draw, numba for KDE's sketch and the counters, "
                         "whose noise is drawn on the host)",
                         "1 thread: numba.set_num_threads(1), robust to a loaded machine; "
                         "best fast = the fastest of the three fast columns",
                         "OS-read bound: os.urandom throughput / OS bytes per report, the most "
                         "any backend reading these bytes (e.g. a numba kernel fed OS words) "
                         "could reach",
                         "OS bytes / report: bytes read from os.urandom in the hardened tier"])
    s = secure_generator()
    size = 2**24 if quick else 2**26
    raw = measure(lambda rep: os.urandom(size), reps=reps)
    bytes_s = size / raw.median
    for name, count, fn in cases(n):
        def call(rep: int, rng: Any, backend: str, fn: Callable[[Any, str], Any] = fn) -> Any:
            return fn(rep + 1 if rng is None else rng, backend)

        fast = measure(call, {"rng": None, "backend": "auto"}, reps=reps)
        threads = _numba_threads(1)
        try:
            one = measure(call, {"rng": None, "backend": "auto"}, reps=reps)
        finally:
            _numba_threads(threads)
        ref = measure(call, {"rng": None, "backend": "numpy"}, reps=reps)
        hard = measure(call, {"rng": s, "backend": "auto"}, reps=reps)
        c = _counting()
        fn(c, "auto")
        best = min(fast.median, one.median, ref.median)
        table.add(name, f"{count:,}", *[f"{count / m.median / 1e6:.2f}"
                                        for m in (fast, one, ref, hard)],
                  fmt_ratio(hard.median / best), f"{c.nbytes / count:.1f}",
                  f"{bytes_s / (c.nbytes / count) / 1e6:.2f}")
    return table, bytes_s / 2**20


def run(quick: bool, out_dir: Path = OUT_DIR, argv: Sequence[str] = ()) -> None:
    """Run the table, print it, write ``out_dir/secure.md``."""
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    info = machine_info()
    load0 = os.getloadavg()[0]
    table, mib_s = secure_table(quick)
    print(table.text(), flush=True)
    lines = [f"os.urandom throughput: {mib_s:,.0f} MiB/s (8 bytes per random decision)",
             f"1-minute load average before / after: {load0:.2f} / {os.getloadavg()[0]:.2f} "
             f"on {os.cpu_count()} CPUs (the numba kernels run threads: a loaded machine "
             "slows them most)"]
    print("\n".join(lines), flush=True)
    md = ["# Hardened-tier benchmark", "",
          f"Command: `{' '.join(argv) or 'python -m benchmarks.secure'}`", "",
          machine_markdown(info), "", table.markdown(), "", *[f"- {v}" for v in lines], ""]
    write_markdown(out_dir, "secure", md)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: ``python -m benchmarks.secure [--quick] [--out DIR]``."""
    return module_main("secure", __doc__ or "", run, argv, OUT_DIR, "n = 20,000, 3 repetitions")


if __name__ == "__main__":
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    raise SystemExit(main())
