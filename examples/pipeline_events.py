"""dpkit.pipeline end to end: 10^7 user events as Parquet → Dask → five releases, one ledger.

Run: ``python examples/pipeline_events.py [--rows N] [--workers W] [--dir PATH]``.

1. Writes ``--rows`` synthetic user events (``user``, ``day``, ``country``, ``page``,
   ``seconds``) as partitioned Parquet (pyarrow; one file per day at 10^7 rows, fewer files of
   consecutive days for small tables), with a progress bar.
2. Reads them back with ``dask.dataframe.read_parquet``; with ``--workers W > 0`` on a
   ``distributed.LocalCluster`` of W worker processes (``--workers 0``: Dask's threaded
   scheduler in this process).
3. Bounds the contributions of every user (``dpkit.pipeline.bound_contributions``: at most
   ``MAX_COUNTRIES`` countries and ``MAX_ROWS`` rows per (user, country), seconds clipped to
   ``[0, 300]``) — shown for its own sake: every release below bounds its input again with its
   declared bounds (a table already within the bounds is kept whole).
4. Releases, each with its own ``rng`` draw and budget:
   * a DP count of events per country with partition selection (``pipeline.count``);
   * a DP sum of seconds per country, partition selection again (``pipeline.sum``);
   * the top pages under local DP, one report per user (``pipeline.heavy_hitters``);
   * continual daily counts per (public) country, released every day
     (``pipeline.continual_counts``, binary-tree counter).
5. Composes the five privacy events in **one** :class:`~dpkit.accounting.Accountant` (each
   obtained with ``dpkit.pipeline.privacy_event(release, **same_kwargs)``) and prints the
   ledger and the total (ε, δ).

Neighbouring relation of the ledger. count, sum and the continual counts are private under
add/remove of one user (all of the user's rows); the heavy-hitters release is local DP,
replace-one per user (its estimates are scaled by the exact number of users). The relation
all four satisfy is **replace-one** (one user's rows replaced by any other rows), so the
ledger is stated for it: an add/remove statement is converted by group privacy at distance 2
(a replacement is one removal and one addition) — (ε, δ)-DP becomes (2ε, (1 + e^ε)δ)-DP
(apply the (ε, δ) inequality twice; Dwork & Roth 2014, §2.3 and Vadhan 2017, Lemma 2.2) and
ρ-zCDP becomes 4ρ-zCDP (Bun & Steinke 2016, Prop. 27).
``pipeline.privacy_event(..., relation="replace_one")`` does that
(:func:`dpkit.pipeline.as_replace_one`), and the one :class:`~dpkit.accounting.Accountant`
composes the ledger: the (ε, δ) statements of partition selection have no Rényi bound, so its
PLD path decides (``method="auto"``).

Synthetic data, not a benchmark (see ``benchmarks/pipeline.py``). A smoke test runs it with
``--rows 10000 --workers 0`` (tests/pipeline/test_example.py).
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dpkit import pipeline
from dpkit.accounting import Accountant

DAYS = 30
COUNTRIES = ("US", "IN", "BR", "DE", "GB", "FR", "JP", "MX", "ID", "IT", "ES", "CA", "KR",
             "AU", "NL", "TR", "PL", "SE", "AR", "ZA")
PAGES = 2_000
MAX_COUNTRIES = 2          # countries kept per user
MAX_ROWS = 40              # rows kept per (user, country)
SECONDS = (0.0, 300.0)     # clipping bounds of the time on page
DELTA = 1e-8               # δ of each release with partition selection


# ============================================================================ the data
def write_events(path: Path, rows: int, seed: int = 0, progress: bool = True) -> int:
    """Write ``rows`` synthetic events as Parquet under ``path``: one file per day (tables
    under 9·10^6 rows: fewer files, each of consecutive days, at least 3).

    Users (``rows // 20`` of them, ~20 events each, 20 "power users" with 1 % of all rows)
    live in a home country (95 % of their events; countries Zipf-distributed); pages follow a
    log-uniform law over ``PAGES`` paths ``/p/<n>``; ``seconds`` is exponential (mean 45 s,
    unbounded: the releases clip it). Returns the number of files written.
    """
    import pandas as pd

    g = np.random.default_rng(seed)
    users = max(rows // 20, 10)
    cw = 1.0 / np.arange(1, len(COUNTRIES) + 1)
    home = g.choice(len(COUNTRIES), size=users, p=cw / cw.sum())
    countries = np.array(COUNTRIES, dtype=object)
    pages = np.array([f"/p/{i}" for i in range(PAGES)], dtype=object)
    path.mkdir(parents=True, exist_ok=True)
    # one file per day; small tables: a few files of consecutive days (fewer Dask partitions)
    files = min(DAYS, max(3, math.ceil(rows / 300_000)))
    day_of_file = np.array_split(np.arange(DAYS), files)
    sizes = np.diff(np.linspace(0, rows, files + 1).astype(np.int64))
    bar = _bar(files, "writing Parquet", progress)
    for f, n in enumerate(sizes.tolist()):
        days = day_of_file[f]
        day = g.integers(days[0], days[-1] + 1, size=n, dtype=np.int64)
        user = g.integers(0, users, size=n, dtype=np.int64)
        heavy = g.random(n) < 0.01
        user[heavy] = g.integers(0, min(20, users), size=int(heavy.sum()))
        country = home[user]
        away = g.random(n) < 0.05
        country[away] = g.integers(0, len(COUNTRIES), size=int(away.sum()))
        page = np.exp(g.random(n) * math.log(PAGES + 1)).astype(np.int64) - 1
        np.clip(page, 0, PAGES - 1, out=page)
        frame = pd.DataFrame({"user": user, "day": day,
                              "country": countries[country], "page": pages[page],
                              "seconds": g.exponential(45.0, size=n)})
        name = f"day-{days[0]:02d}" + (f"-{days[-1]:02d}" if days.size > 1 else "")
        frame.to_parquet(path / f"{name}.parquet", engine="pyarrow", index=False)
        bar.update(1)
    bar.close()
    return files


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _bar(total: int, desc: str, progress: bool) -> Any:
    if not progress:
        return _NoBar()
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _NoBar()
    return tqdm(total=total, desc=desc, leave=False, file=sys.stderr)


# ============================================================================ the ledger
# ============================================================================ the run
def run(path: Path, *, workers: int = 2, seed: int = 2026, progress: bool = True,
        out: Any = None) -> dict[str, Any]:
    """Read the events under ``path`` with Dask, release, compose; print and return results."""
    import dask
    import dask.dataframe as dd

    out = out if out is not None else sys.stdout
    rng = np.random.default_rng(seed)
    client = cluster = None
    if workers > 0:
        import distributed

        cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1,
                                           processes=True, dashboard_address=None)
        client = distributed.Client(cluster)
        print(f"Dask LocalCluster: {workers} worker processes", file=out)
    try:
        with dask.config.set(scheduler="threads" if client is None else None):
            events = dd.read_parquet(str(path), engine="pyarrow")
            print(f"read {events.npartitions} Parquet partitions: columns "
                  f"{list(events.columns)}", file=out)
            # progress: Dask's bar on the local schedulers (inside each release); with a
            # distributed client (whose dashboard shows the tasks) a bar over the releases
            results = _releases(events, rng, progress and client is None,
                                progress and client is not None, out)
    finally:
        if client is not None:
            client.close()
            cluster.close()  # type: ignore[union-attr]
    return results


def _releases(events: Any, rng: np.random.Generator, progress: bool, step_bar: bool,
              out: Any) -> dict[str, Any]:
    t0 = time.perf_counter()
    bounded = pipeline.bound_contributions(
        events, privacy_unit="user", partition="country", max_partitions=MAX_COUNTRIES,
        max_per_partition=MAX_ROWS, value="seconds", bounds=SECONDS, rng=rng)
    n_kept = int(bounded.shape[0].compute())
    n_all = int(events.shape[0].compute())
    print(f"bounding keeps {n_kept:,} of {n_all:,} rows ({time.perf_counter() - t0:.1f} s)",
          file=out)

    releases: list[tuple[str, Any, dict[str, Any]]] = [
        ("count per country", pipeline.count, dict(
            by="country", privacy_unit="user", max_partitions=MAX_COUNTRIES,
            max_per_partition=MAX_ROWS, epsilon=0.5, delta=DELTA)),
        ("sum of seconds per country", pipeline.sum, dict(
            by="country", value="seconds", bounds=SECONDS, privacy_unit="user",
            max_partitions=MAX_COUNTRIES, max_per_partition=MAX_ROWS, epsilon=0.5,
            delta=DELTA)),
        ("top pages (local DP)", pipeline.heavy_hitters, dict(
            item="page", privacy_unit="user", epsilon=2.0, k=10, max_item_bytes=8)),
        ("daily counts per country (continual)", pipeline.continual_counts, dict(
            time="day", by="country", privacy_unit="user", keys=list(COUNTRIES),
            horizon=DAYS, max_contributions_per_step=3, max_steps_per_unit=DAYS,
            kind="tree", rho=0.02)),
    ]
    bar = _bar(len(releases), "releases", step_bar)
    acct = Accountant()
    results: dict[str, Any] = {"rows": n_all, "rows_kept": n_kept}
    for name, release, kwargs in releases:
        # what the release spends, from its parameters alone, before it reads any data
        event = pipeline.privacy_event(release, relation="replace_one", **kwargs)
        t1 = time.perf_counter()
        frame = release(bounded if release in (pipeline.count, pipeline.sum) else events,
                        rng=rng, progress=progress, **kwargs)
        acct = acct.compose(event)
        results[name] = frame
        bar.update(1)
        print(f"\n== {name} ({time.perf_counter() - t1:.1f} s); spends {event!r}", file=out)
        shown = frame if "day" in frame.columns else frame.sort_values(
            frame.columns[-1], ascending=False, kind="stable")
        print(shown.head(10).to_string(index=False), file=out)

    bar.close()
    delta = 10 * DELTA
    spent = acct.epsilon_details(delta)  # method="auto": PLD decides (RDP of (ε, δ) is ∞)
    eps = spent.epsilon
    print("\nledger (replace-one of one user; add/remove statements converted by group "
          "privacy):", file=out)
    for ev, n in acct.ledger:
        print(f"  {n} x {ev!r}", file=out)
    print(f"total: ({eps:.3f}, {delta:.2e})-DP for the whole run, replace-one of one user "
          f"(decided by {spent.method.upper()}) [{time.perf_counter() - t0:.1f} s]", file=out)
    results["epsilon"], results["delta"] = eps, delta
    results["accountant"] = acct
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: write the events (unless ``--dir`` already holds them), release, print."""
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--rows", type=int, default=10_000_000, help="events to write (10^7)")
    p.add_argument("--workers", type=int, default=2,
                   help="LocalCluster worker processes (0: threaded scheduler)")
    p.add_argument("--dir", type=Path, default=None,
                   help="Parquet directory (kept; reused if it already holds files); default: "
                        "a temporary directory, deleted at the end")
    p.add_argument("--seed", type=int, default=2026, help="rng seed of the releases")
    p.add_argument("--no-progress", dest="progress", action="store_false")
    args = p.parse_args(argv)
    if args.rows < 100:
        p.error("--rows must be at least 100")
    tmp = None
    path = args.dir
    if path is None:
        tmp = Path(tempfile.mkdtemp(prefix="dpkit-events-"))
        path = tmp / "events"
    try:
        if not (path.exists() and any(path.glob("*.parquet"))):
            t0 = time.perf_counter()
            files = write_events(path, args.rows, progress=args.progress)
            print(f"wrote {args.rows:,} events in {files} Parquet files under {path} "
                  f"({time.perf_counter() - t0:.1f} s)")
        run(path, workers=args.workers, seed=args.seed, progress=args.progress)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
