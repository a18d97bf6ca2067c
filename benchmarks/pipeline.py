"""Pipeline benchmark (issue 17): keyed DP count with bounding and partition selection.

Sections (one run; sizes are command-line flags, the defaults run in under two minutes):

1. Throughput of ``dpkit.pipeline.count`` (contribution bounding + partition selection +
   noise) against PipelineDP's ``LocalBackend`` (``DPEngine.aggregate`` with
   ``Metrics.COUNT`` and private partition selection) on the same synthetic table and the
   same parameters. Goal (issue 17): dpkit ≥ 10× PipelineDP in rows per second.
2. Utility at equal (ε, δ), mean over seeds, for both of dpkit's selection modes
   (``"threshold"``, the default, and ``"truncated_geometric"``, PipelineDP's own method):
   RMSE of the released counts against the true counts over the keys that dpkit mode and
   PipelineDP both released (and over each one's own keys), and the number of keys kept;
   (a) on a table already within the bounds (:func:`bounded_events`: the error is the
   mechanism's own), (b) on the raw table of section 1's law (the error
   against the unbounded count includes the rows bounding drops).
3. Dask: the same ``count`` on a table written as partitioned Parquet, read with
   ``dask.dataframe.read_parquet``, on a ``distributed.LocalCluster`` with 2 worker processes
   against the serial pandas call (``pandas.read_parquet`` + ``count``). The released frames
   must be equal (same ``rng``). Goal: Dask not slower than serial for ≥ 10^7 rows.
4. Memory (with ``--worker-memory MIB``): the same Dask run with ``memory_limit`` per worker
   set below the in-memory size of the table; the peak resident set size of every worker
   process is sampled (psutil, every 20 ms) during the run.

Same privacy guarantee on both sides: (ε, δ)-DP for the whole release (keys and counts) under
add/remove of one privacy unit (all of its rows). dpkit is called with ``epsilon=ε,
delta=δ``; PipelineDP with ``NaiveBudgetAccountant(total_epsilon=ε, total_delta=δ)`` and one
aggregation, which it splits into ε/2 for its partition selection (truncated geometric,
Desfontaines et al. 2022, with all of δ) and ε/2 for the Laplace noise of the count
(L1 sensitivity ``max_partitions · max_per_partition``). The contribution bounds are the same
on both sides (``max_partitions`` ↔ ``max_partitions_contributed``, ``max_per_partition`` ↔
``max_contributions_per_partition``).

``python -m benchmarks.pipeline [--quick] [--rows N] [--dask-rows N] [--worker-memory MIB]``;
tables also go to ``benchmarks/out/pipeline.md``.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import OUT_DIR
from ._report import (
    Table,
    fmt_ratio,
    fmt_time,
    machine_info,
    machine_markdown,
    write_markdown,
)
from ._timing import measure

__all__ = ["Config", "synthetic_events", "true_counts", "dpkit_count", "pipelinedp_count",
           "utility", "run", "main"]

MIB = 1024**2


@dataclass(frozen=True)
class Config:
    """Sizes and parameters of one benchmark run (all settable from the command line)."""

    rows: int = 1_000_000            # section 1 (throughput)
    utility_rows: int = 100_000      # section 2 (RMSE, kept partitions)
    dask_rows: int = 2_000_000       # sections 3 and 4
    rows_per_user: int = 20          # mean rows per privacy unit
    keys: int = 10_000               # distinct partition keys (log-uniform, Zipf(1)-like law)
    max_partitions: int = 4
    max_per_partition: int = 2
    epsilon: float = 1.0
    delta: float = 1e-6
    eps_grid: tuple[float, ...] = (0.5, 1.0, 4.0)
    seeds: int = 3
    reps: int = 3
    parquet_partitions: int = 16
    worker_memory_mib: int = 0       # section 4 (memory_limit per worker); 0: skip section 4
    pipelinedp: bool = True
    dask: bool = True
    sections: tuple[int, ...] = (1, 2, 3)


def synthetic_events(rows: int, *, rows_per_user: int = 20, keys: int = 10_000,
                     seed: int = 0) -> Any:
    """A pandas frame of ``rows`` synthetic events: ``user`` (int64), ``key`` (int64), ``value``.

    Users are uniform over ``rows // rows_per_user`` ids, except that 2 % of the rows belong
    to 20 "power users" (ids 0..19), so that contribution bounding has units with thousands of
    rows to cut. Keys follow a log-uniform law over ``0..keys-1`` (P(k) ∝ 1/(k+1), Zipf(1)):
    a few large partitions and a long tail held by one or two users, which partition selection
    must drop. ``value`` is exponential with mean 10 (for sums).
    """
    import pandas as pd

    g = np.random.default_rng(seed)
    users = max(rows // rows_per_user, 1)
    user = g.integers(0, users, size=rows, dtype=np.int64)
    heavy = g.random(rows) < 0.02
    user[heavy] = g.integers(0, min(20, users), size=int(heavy.sum()))
    key = np.exp(g.random(rows) * math.log(keys + 1)).astype(np.int64) - 1
    np.clip(key, 0, keys - 1, out=key)
    value = g.exponential(10.0, size=rows)
    return pd.DataFrame({"user": user, "key": key, "value": value})


def true_counts(df: Any) -> dict[Any, int]:
    """Row count per key of the raw table (no bounding): what a user wants estimated."""
    vc = df["key"].value_counts()
    return dict(zip(vc.index.tolist(), vc.to_numpy().tolist(), strict=True))


def _count_column(out: Any) -> str:
    """The name of the noisy-count column of a released frame (``count`` or its alias)."""
    for name in ("count", "dp_count", "noisy_count"):
        if name in out.columns:
            return name
    raise KeyError(f"no count column in {list(out.columns)}")


def dpkit_count(df: Any, cfg: Config, epsilon: float, seed: int,
                selection: str = "threshold") -> dict[Any, float]:
    """Released {key: noisy count} of ``dpkit.pipeline.count`` (pandas or Dask input);
    ``selection``: "threshold" (dpkit's default) or "truncated_geometric"."""
    from dpkit import pipeline

    out = pipeline.count(df, by="key", privacy_unit="user",
                         max_partitions=cfg.max_partitions,
                         max_per_partition=cfg.max_per_partition,
                         epsilon=epsilon, delta=cfg.delta, rng=seed, selection=selection)
    col = _count_column(out)
    return dict(zip(out["key"].tolist(), out[col].to_numpy(dtype=float).tolist(),
                    strict=True))


def _dpkit_timed(rep: int, df: Any, cfg: Config) -> int:
    return len(dpkit_count(df, cfg, cfg.epsilon, 1000 + rep))


def pipelinedp_count(rows: list[tuple[int, int]], cfg: Config, epsilon: float,
                     seed: int) -> dict[Any, float]:
    """Released {key: noisy count} of PipelineDP's LocalBackend on ``(user, key)`` tuples.

    PipelineDP draws its noise from its own (PyDP) generator; ``seed`` is unused.
    """
    import pipeline_dp

    acct = pipeline_dp.NaiveBudgetAccountant(total_epsilon=epsilon, total_delta=cfg.delta)
    engine = pipeline_dp.DPEngine(acct, pipeline_dp.LocalBackend())
    params = pipeline_dp.AggregateParams(
        metrics=[pipeline_dp.Metrics.COUNT], noise_kind=pipeline_dp.NoiseKind.LAPLACE,
        max_partitions_contributed=cfg.max_partitions,
        max_contributions_per_partition=cfg.max_per_partition)
    extract = pipeline_dp.DataExtractors(privacy_id_extractor=lambda r: r[0],
                                         partition_extractor=lambda r: r[1],
                                         value_extractor=lambda r: 0)
    res = engine.aggregate(rows, params, extract)
    acct.compute_budgets()
    return {k: float(m.count) for k, m in res}


def _pipelinedp_timed(rep: int, rows: list[tuple[int, int]], cfg: Config) -> int:
    return len(pipelinedp_count(rows, cfg, cfg.epsilon, rep))


def _as_tuples(df: Any) -> list[tuple[int, int]]:
    """The (user, key) rows of a frame as Python tuples: PipelineDP's input form."""
    return list(zip(df["user"].tolist(), df["key"].tolist(), strict=True))


def bounded_events(units: int, *, max_partitions: int, max_per_partition: int,
                   keys: int = 10_000, seed: int = 0) -> Any:
    """A table that already satisfies the contribution bounds (``user``, ``key``, ``value``).

    Every unit draws ``max_partitions`` keys from the log-uniform law of
    :func:`synthetic_events` (duplicates merged) and 1..``max_per_partition`` rows for each.
    Bounding keeps every row, so the error of a released count against the true count is the
    mechanism's own error (noise and selection), the same for any correct bounding.
    """
    import pandas as pd

    g = np.random.default_rng(seed)
    k = np.exp(g.random((units, max_partitions)) * math.log(keys + 1)).astype(np.int64) - 1
    np.clip(k, 0, keys - 1, out=k)
    pair = np.unique(np.arange(units, dtype=np.int64)[:, None] * keys + k)
    reps = g.integers(1, max_per_partition + 1, size=pair.size)
    pair = np.repeat(pair, reps)
    return pd.DataFrame({"user": pair // keys, "key": pair % keys,
                         "value": g.exponential(10.0, size=pair.size)})


def utility(released: dict[Any, float], truth: dict[Any, int],
            on: Any = None) -> tuple[float, int, int]:
    """(RMSE over ``on`` or the released keys, keys released, released keys absent from the
    data) of one release."""
    kept = list(released) if on is None else [k for k in on if k in released]
    spurious = sum(1 for k in released if k not in truth)
    if not kept:
        return math.nan, len(released), spurious
    err = np.array([released[k] - truth.get(k, 0) for k in kept], dtype=float)
    return float(np.sqrt(np.mean(err**2))), len(released), spurious


# ---------------------------------------------------------------------------- sections
def _throughput(cfg: Config, verdict: list[str]) -> Table:
    df = synthetic_events(cfg.rows, rows_per_user=cfg.rows_per_user, keys=cfg.keys, seed=1)
    t = Table(f"1. count with bounding + partition selection, {cfg.rows:,} rows, "
              f"{df['user'].nunique():,} users, {df['key'].nunique():,} keys, ε = "
              f"{cfg.epsilon:g}, δ = {cfg.delta:g}",
              ["implementation", "time", "rows/s", "keys released", "dpkit speed-up"],
              notes=[f"max_partitions = {cfg.max_partitions}, max_per_partition = "
                     f"{cfg.max_per_partition}; median of {cfg.reps} runs after a warm-up "
                     "(PipelineDP: one run after a small warm-up)",
                     "dpkit input: a pandas DataFrame; PipelineDP input: a list of (user, key) "
                     "tuples built beforehand (conversion not timed)"])
    m = measure(_dpkit_timed, dict(df=df, cfg=cfg), reps=cfg.reps)
    dk = m.median
    t.add("dpkit.pipeline.count (pandas)", fmt_time(dk), f"{cfg.rows / dk:,.0f}", str(m.value),
          "")
    if cfg.pipelinedp:
        try:
            import pipeline_dp  # noqa: F401
        except ImportError:
            verdict.append("PipelineDP not installed (pip install 'dpkit[bench]'): section 1 "
                           "has no anchor")
            return t
        rows = _as_tuples(df)
        _pipelinedp_timed(0, rows[: min(len(rows), 20_000)], cfg)  # warm-up (imports)
        pm = measure(_pipelinedp_timed, dict(rows=rows, cfg=cfg), reps=1, warmup=False)
        pd_t = pm.median
        t.add("PipelineDP 0.3 LocalBackend", fmt_time(pd_t), f"{cfg.rows / pd_t:,.0f}",
              str(pm.value), "1×")
        t.rows[0][-1] = fmt_ratio(pd_t / dk)
        verdict.append(f"count throughput vs PipelineDP LocalBackend ({cfg.rows:,} rows): "
                       f"{pd_t / dk:.1f}x (goal >= 10x): "
                       f"{'met' if pd_t / dk >= 10 else 'NOT met'}")
    return t


#: dpkit's two partition-selection modes compared in section 2 (short names for columns)
_MODES = (("threshold", "thr"), ("truncated_geometric", "tg"))


def _utility_table(title: str, df: Any, cfg: Config, have_pdp: bool,
                   notes: Sequence[str]) -> tuple[Table, dict[str, Any]]:
    """RMSE and keys kept of dpkit (both selection modes) and PipelineDP on ``df``, per ε of
    the grid, mean over seeds.

    Curves (keys of the returned dict): ``d_*`` dpkit with ``selection="threshold"``, ``g_*``
    dpkit with ``selection="truncated_geometric"``, ``p_*`` PipelineDP; ``*_common`` RMSE over
    the keys both that dpkit mode and PipelineDP released (``pg_common``: PipelineDP's RMSE on
    the keys it shares with the truncated-geometric mode), ``*_own`` over the library's own
    released keys, ``*_kept`` keys released.
    """
    truth = true_counts(df)
    rows = _as_tuples(df) if have_pdp else []
    t = Table(title, ["ε", "dpkit thr / PDP RMSE (common keys)",
                      "dpkit tg / PDP RMSE (common keys)", "RMSE own keys: thr / tg / PDP",
                      "keys kept: thr / tg / PDP"], notes=list(notes))
    cols = ("d_common", "p_common", "g_common", "pg_common", "d_own", "g_own", "p_own",
            "d_kept", "g_kept", "p_kept")
    curves: dict[str, Any] = {"eps": list(cfg.eps_grid), "keys": len(truth),
                              **{c: [] for c in cols}}
    for eps in cfg.eps_grid:
        acc: dict[str, list[float]] = {c: [] for c in cols}
        for s in range(cfg.seeds):
            released = {}
            for mode, short in _MODES:
                d = dpkit_count(df, cfg, eps, 10 * s + 3, selection=mode)
                r, k, spurious = utility(d, truth)
                if spurious:
                    raise AssertionError(f"dpkit ({mode}) released {spurious} keys absent "
                                         "from the data")
                p_ = "d" if short == "thr" else "g"
                acc[f"{p_}_own"].append(r)
                acc[f"{p_}_kept"].append(k)
                released[p_] = d
            if have_pdp:
                p = pipelinedp_count(rows, cfg, eps, s)
                r, k, _ = utility(p, truth)
                acc["p_own"].append(r)
                acc["p_kept"].append(k)
                for p_, pp in (("d", "p_common"), ("g", "pg_common")):
                    d = released[p_]
                    common = [key for key in d if key in p]
                    acc[f"{p_}_common"].append(utility(d, truth, common)[0])
                    acc[pp].append(utility(p, truth, common)[0])
        mean = {c: (float(np.nanmean(v)) if v and not np.all(np.isnan(v)) else math.nan)
                for c, v in acc.items()}
        for c in cols:
            curves[c].append(mean[c])

        def f(x: float, fmt: str = ".1f") -> str:
            return "—" if math.isnan(x) else format(x, fmt)

        t.add(f"{eps:g}", f"{f(mean['d_common'])} / {f(mean['p_common'])}",
              f"{f(mean['g_common'])} / {f(mean['pg_common'])}",
              f"{f(mean['d_own'])} / {f(mean['g_own'])} / {f(mean['p_own'])}",
              f"{f(mean['d_kept'])} / {f(mean['g_kept'])} / {f(mean['p_kept'])}")
        print(f"  {title[:30]}... eps={eps:g}: " + ", ".join(f"{c} {f(mean[c])}" for c in cols),
              flush=True)
    return t, curves


def _utility(cfg: Config, verdict: list[str]) -> tuple[list[Table], dict[str, Any]]:
    have_pdp = cfg.pipelinedp
    if have_pdp:
        try:
            import pipeline_dp  # noqa: F401
        except ImportError:
            have_pdp = False
    m, c = cfg.max_partitions, cfg.max_per_partition
    units = max(1, int(cfg.utility_rows / (m * (c + 1) / 2)))
    pre = bounded_events(units, max_partitions=m, max_per_partition=c, keys=cfg.keys, seed=2)
    common_notes = [
        f"mean over {cfg.seeds} seeds; bounds max_partitions = {m}, max_per_partition = {c} "
        "on both sides; RMSE of the released count against the true row count of the key",
        "common keys: the keys both that dpkit mode and PipelineDP released in the same seed; "
        "own keys: every key the library released (a library that keeps more small keys is "
        "not penalised there)",
        "thr: dpkit selection=\"threshold\" (default: all of ε on one noisy count that selects "
        "and is released); tg: dpkit selection=\"truncated_geometric\" (ε/2 and δ to "
        "Desfontaines et al. 2022 on units per key, ε/2 to the count, as PipelineDP); PDP: "
        "PipelineDP"]
    t_pre, curves = _utility_table(
        f"2a. Utility at equal (ε, δ = {cfg.delta:g}), table within the bounds (noise and "
        f"selection only): {len(pre):,} rows, {units:,} users", pre, cfg, have_pdp,
        [*common_notes, "every unit already holds ≤ max_partitions keys and ≤ "
         "max_per_partition rows per key: bounding keeps every row, the error is the "
         "mechanism's"])
    raw = synthetic_events(cfg.utility_rows, rows_per_user=cfg.rows_per_user, keys=cfg.keys,
                           seed=2)
    t_raw, curves_raw = _utility_table(
        f"2b. Same on the raw table of section 1's law (bounding drops rows): "
        f"{cfg.utility_rows:,} rows", raw, cfg, have_pdp,
        [*common_notes, "the true count is the count before bounding: the error includes the "
         "rows bounding drops (the same law for both libraries)"])
    curves["raw"] = curves_raw
    if have_pdp:
        i = cfg.eps_grid.index(cfg.epsilon) if cfg.epsilon in cfg.eps_grid else 0
        e = cfg.eps_grid[i]
        for p_, pp, mode in (("d", "p_common", "threshold"),
                             ("g", "pg_common", "truncated_geometric")):
            ok = curves[f"{p_}_common"][i] <= curves[pp][i]
            verdict.append(f"utility at eps={e:g}, delta={cfg.delta:g} (table within the "
                           f"bounds), dpkit selection={mode}: RMSE on common keys dpkit "
                           f"{curves[f'{p_}_common'][i]:.1f} vs PipelineDP {curves[pp][i]:.1f}, "
                           f"keys kept {curves[f'{p_}_kept'][i]:.1f} vs "
                           f"{curves['p_kept'][i]:.1f} (goal: as accurate): "
                           f"{'met' if ok else 'NOT met'}")
    return [t_pre, t_raw], curves


class _PeakRSS:
    """Samples the resident set size of some processes every 20 ms; keeps each one's maximum."""

    def __init__(self, pids: Sequence[int]) -> None:
        import psutil

        self.procs = {pid: psutil.Process(pid) for pid in pids}
        self.peak = dict.fromkeys(pids, 0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            for pid, p in self.procs.items():
                try:
                    self.peak[pid] = max(self.peak[pid], p.memory_info().rss)
                except Exception:  # noqa: BLE001 - a restarted worker: its old pid is gone
                    pass
            self._stop.wait(0.02)

    def __enter__(self) -> _PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _write_parquet(df: Any, path: Path, partitions: int) -> None:
    """``df`` as ``partitions`` Parquet files under ``path`` (pyarrow), in row order."""
    path.mkdir(parents=True, exist_ok=True)
    for i, part in enumerate(np.array_split(np.arange(len(df)), partitions)):
        df.iloc[part].to_parquet(path / f"part-{i:04d}.parquet", index=False)


def _same_release(a: dict[Any, float], b: dict[Any, float]) -> bool:
    return a.keys() == b.keys() and all(a[k] == b[k] for k in a)


def _dask(cfg: Config, verdict: list[str]) -> list[Table]:
    try:
        import dask.dataframe as dd
        import distributed
        import pandas as pd
    except ImportError:
        verdict.append("Dask: dask[distributed] not installed (pip install 'dpkit[dask]')")
        return []
    df = synthetic_events(cfg.dask_rows, rows_per_user=cfg.rows_per_user, keys=cfg.keys,
                          seed=3)
    table_mib = df.memory_usage(deep=True).sum() / MIB
    tmp = Path(tempfile.mkdtemp(prefix="dpkit-bench-pipeline-"))
    try:
        _write_parquet(df, tmp / "events", cfg.parquet_partitions)
        del df
        disk_mib = sum(f.stat().st_size for f in (tmp / "events").iterdir()) / MIB

        files = sorted(str(f) for f in (tmp / "events").iterdir())
        warm = files[:2]  # warm-up runs read two files: imports and first-call costs only

        def serial(paths: list[str]) -> dict[Any, float]:
            return dpkit_count(pd.concat([pd.read_parquet(f) for f in paths],
                                         ignore_index=True), cfg, cfg.epsilon, 77)

        serial(warm)
        load_before = os.getloadavg()[0]
        t0 = time.perf_counter()
        ref = serial(files)
        t_serial = time.perf_counter() - t0

        def on_dask(client: Any, paths: list[str]) -> tuple[float, dict[Any, float],
                                                             dict[int, int]]:
            pids = list(client.run(os.getpid).values())
            with _PeakRSS(pids) as peak:
                t0 = time.perf_counter()
                out = dpkit_count(dd.read_parquet(paths), cfg, cfg.epsilon, 77)
                dt = time.perf_counter() - t0
            return dt, out, peak.peak

        t3 = Table(f"3. Dask: count on {cfg.dask_rows:,} rows read from "
                   f"{cfg.parquet_partitions} Parquet files ({disk_mib:.0f} MiB on disk, "
                   f"{table_mib:.0f} MiB in memory)",
                   ["run", "time", "rows/s", "release equal to serial", "vs serial",
                    "peak RSS per worker"],
                   notes=["serial: pandas.read_parquet + count; Dask: dask.dataframe."
                          "read_parquet + count (bounding: a one-stage task shuffle by a hash "
                          "of the privacy unit, then per-partition bounding; states "
                          "tree-merged, noise drawn once on the client); both timed from the "
                          "files, after one warm-up run",
                          "LocalCluster(n_workers=2, threads_per_worker=1, processes=True)"])
        t3.add("serial (pandas)", fmt_time(t_serial), f"{cfg.dask_rows / t_serial:,.0f}", "—",
               "1×", "—")
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      dashboard_address=None) as cluster, \
                distributed.Client(cluster) as client:
            on_dask(client, warm)  # warm-up: imports on the workers
            t_dask, out, peaks0 = on_dask(client, files)
        same = _same_release(ref, out)
        t3.notes.append(f"1-minute load average {load_before:.2f} before the serial run, "
                        f"{os.getloadavg()[0]:.2f} after the Dask run ({os.cpu_count()} "
                        "logical cores)")
        t3.add("Dask LocalCluster, 2 workers", fmt_time(t_dask),
               f"{cfg.dask_rows / t_dask:,.0f}", "yes (bit for bit)" if same else "**NO**",
               fmt_ratio(t_serial / t_dask),
               " / ".join(f"{p / MIB:.0f} MiB" for _, p in sorted(peaks0.items())))
        verdict.append(f"Dask 2 workers vs serial ({cfg.dask_rows:,} rows): "
                       f"{t_serial / t_dask:.2f}x (goal >= 1x for >= 10^7 rows): "
                       f"{'met' if t_dask <= t_serial else 'NOT met'}"
                       + ("" if cfg.dask_rows >= 10**7 else " [below 10^7 rows]")
                       + f"; release equal to serial: {'yes' if same else 'NO'}")

        if not cfg.worker_memory_mib:
            verdict.append("memory per worker: section 4 not run (pass --worker-memory MIB)")
            return [t3]
        limit = cfg.worker_memory_mib
        t4 = Table(f"4. Memory: the same Dask run, memory_limit = {limit} MiB per worker "
                   f"(table: {table_mib:.0f} MiB in memory)",
                   ["worker", "peak RSS during the run", "peak / memory_limit"],
                   notes=["bounding with Dask's disk-backed shuffle: dask.config "
                          "dataframe.shuffle.method = \"p2p\"",
                          "RSS of each worker process sampled every 20 ms by psutil "
                          "(includes the interpreter, pandas, pyarrow, dask, dpkit)",
                          "dask spills to disk from 60–70 % of memory_limit, pauses at 80 %, and "
                          "the nanny restarts a worker above 95 %"])
        try:
            import dask

            # a table larger than the workers' memory: Dask's disk-backed p2p shuffle (the
            # documented setting; dpkit's default one-stage shuffle holds it in memory)
            with dask.config.set({"dataframe.shuffle.method": "p2p"}), \
                    distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                             memory_limit=f"{limit}MiB",
                                             dashboard_address=None) as cluster, \
                    distributed.Client(cluster) as client:
                idle = client.run(lambda: __import__("psutil").Process().memory_info().rss)
                on_dask(client, warm)
                warm_rss = client.run(lambda: __import__("psutil").Process().memory_info().rss)
                t_mem, out2, peaks = on_dask(client, files)
        except Exception as exc:  # noqa: BLE001 - recorded as the outcome
            verdict.append(f"Dask with memory_limit={limit} MiB per worker: FAILED "
                           f"({type(exc).__name__}: {str(exc)[:80]})")
            return [t3]
        for i, (pid, p) in enumerate(sorted(peaks.items())):
            t4.add(f"worker {i} (pid {pid})", f"{p / MIB:.0f} MiB", f"{p / MIB / limit:.2f}")
        base = max(idle.values()) / MIB
        warmed = max(warm_rss.values()) / MIB
        worst = max(peaks.values()) / MIB
        t4.notes.append(f"run time {fmt_time(t_mem)}; worker RSS at start {base:.0f} MiB, after "
                        f"a warm-up on two files (libraries imported) {warmed:.0f} MiB; release "
                        "equal to serial: "
                        f"{'yes' if _same_release(ref, out2) else 'NO'}")
        verdict.append(f"memory per worker: peak {worst:.0f} MiB with memory_limit {limit} MiB "
                       f"and a {table_mib:.0f} MiB table (goal: bounded, table > one worker's "
                       f"memory): {'met' if worst <= limit and table_mib > limit else 'NOT met'}")
        return [t3, t4]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(quick: bool, out_dir: Path, argv: Sequence[str], cfg: Config | None = None) -> Any:
    """Run all sections, print the tables and the verdicts, write the Markdown report.

    Returns the utility curves of section 2 (used by ``docs/plots/pipeline.py``).
    """
    if cfg is None:
        cfg = _quick_config() if quick else Config()
    info = machine_info()
    info["pipeline-dp"] = _version("pipeline-dp")
    info["pandas / dask"] = f"{_version('pandas')} / {_version('dask')}"
    verdict: list[str] = []
    tables: list[Table] = []
    curves: dict[str, Any] = {}
    if 1 in cfg.sections:
        tables.append(_throughput(cfg, verdict))
        print(tables[0].text(), flush=True)
    if 2 in cfg.sections:
        t2, curves = _utility(cfg, verdict)
        tables += t2
    if cfg.dask and 3 in cfg.sections:
        tables += _dask(cfg, verdict)
    for t in tables:
        print(t.text(), flush=True)
    print("\n".join(verdict), flush=True)
    peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    md = ["# Pipeline benchmark (issue 17)", "",
          f"Command: `{' '.join(argv) or 'python -m benchmarks.pipeline'}`", "",
          machine_markdown(info), f"- **peak RSS of the benchmark process**: {peak_self:.0f} MiB",
          "", *[x for t in tables for x in (t.markdown(), "")],
          *[f"- {v}" for v in verdict], ""]
    write_markdown(out_dir, "pipeline", md)
    return curves


def _version(dist: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _quick_config() -> Config:
    return Config(rows=200_000, utility_rows=50_000, dask_rows=500_000,
                  eps_grid=(1.0, 4.0), seeds=2, reps=2, parquet_partitions=8)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m benchmarks.pipeline [--quick] [--rows N] [--dask-rows N] ...``."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(prog="python -m benchmarks.pipeline",
                                description=(__doc__ or "").splitlines()[0])
    d = Config()
    p.add_argument("--quick", action="store_true", help="smaller sizes (about 30 s)")
    p.add_argument("--out", type=Path, default=OUT_DIR, help="Markdown output directory")
    p.add_argument("--rows", type=int, help=f"rows of the throughput table ({d.rows:,})")
    p.add_argument("--utility-rows", type=int, help=f"rows of the utility table "
                   f"({d.utility_rows:,})")
    p.add_argument("--dask-rows", type=int, help=f"rows of the Dask table ({d.dask_rows:,})")
    p.add_argument("--keys", type=int, help=f"distinct keys ({d.keys:,})")
    p.add_argument("--rows-per-user", type=int, help=f"mean rows per user ({d.rows_per_user})")
    p.add_argument("--max-partitions", type=int, help=f"({d.max_partitions})")
    p.add_argument("--max-per-partition", type=int, help=f"({d.max_per_partition})")
    p.add_argument("--epsilon", type=float, help=f"ε of sections 1, 3, 4 ({d.epsilon})")
    p.add_argument("--delta", type=float, help=f"δ of every section ({d.delta:g})")
    p.add_argument("--eps-grid", type=float, nargs="+", help=f"ε of section 2 {d.eps_grid}")
    p.add_argument("--seeds", type=int, help=f"seeds per ε in section 2 ({d.seeds})")
    p.add_argument("--reps", type=int, help=f"timed dpkit runs in section 1 ({d.reps})")
    p.add_argument("--parquet-partitions", type=int, help=f"({d.parquet_partitions})")
    p.add_argument("--worker-memory", type=int, dest="worker_memory_mib", metavar="MIB",
                   help="run section 4 with this memory_limit per Dask worker (default: "
                        "section 4 is skipped)")
    p.add_argument("--sections", type=int, nargs="+", choices=(1, 2, 3),
                   help="run only these sections (3 includes 4 with --worker-memory)")
    p.add_argument("--no-pipelinedp", dest="pipelinedp", action="store_false", default=None)
    p.add_argument("--no-dask", dest="dask", action="store_false", default=None)
    args = p.parse_args(args_list)
    base = _quick_config() if args.quick else Config()
    over = {k: (tuple(v) if k in ("eps_grid", "sections") else v) for k, v in vars(args).items()
            if k not in ("quick", "out") and v is not None}
    cfg = Config(**{**base.__dict__, **over})
    run(args.quick, args.out, ["python", "-m", "benchmarks.pipeline", *args_list], cfg)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
