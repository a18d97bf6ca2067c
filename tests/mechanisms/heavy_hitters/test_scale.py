"""Scale-out of dpkit.mechanisms.heavy_hitters: chunked runs and a dask.distributed cluster
give exactly the serial state (spec §8.8, issue #7 "a Dask run of the aggregation gives
exactly the serial result"). All assertions are exact equalities (no false alarms)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from dpkit.errors import DPKitError
from dpkit.mechanisms import heavy_hitters as hh

ORACLES = [
    hh.GRR(1.0, 50),
    hh.OUE(1.0, 40),
    hh.OLH(2.0, 2**16, num_hashes=64),
    hh.OLH(2.0, 2**16, num_hashes=None),
]


def _same_state(a: hh.FrequencyState, b: hh.FrequencyState) -> None:
    assert a.oracle == b.oracle and a.n == b.n
    np.testing.assert_array_equal(a.counts, b.counts)
    if a.seeds is None:
        assert b.seeds is None
    else:
        np.testing.assert_array_equal(a.seeds, b.seeds)
        np.testing.assert_array_equal(a.buckets, b.buckets)


def test_import_dpkit_does_not_import_dask():
    code = ("import sys, dpkit, dpkit.mechanisms.heavy_hitters as hh; "
            "bad = [m for m in ('dask', 'distributed') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_dask_gives_an_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "dask", None)  # makes `import dask` raise ImportError
    with pytest.raises(ImportError, match=r"pip install 'dpkit\[dev\]'"):
        hh.dask_aggregate(hh.GRR(1.0, 4), [np.array([0, 1])])
    with pytest.raises(ImportError, match="dask"):
        hh.dask_aggregator()


def test_chunk_rngs_reproducible_and_distinct():
    a = [g.integers(0, 2**62) for g in hh.chunk_rngs(7, 5)]
    b = [g.integers(0, 2**62) for g in hh.chunk_rngs(7, 5)]
    assert a == b and len(set(a)) == 5
    with pytest.raises(DPKitError, match="num_chunks"):
        hh.chunk_rngs(0, 0)
    with pytest.raises(DPKitError, match="item_chunks"):
        hh.aggregate_chunks(hh.GRR(1.0, 4), [], 0)


@pytest.mark.parametrize("o", ORACLES, ids=["grr", "oue", "olh_pool", "olh_fresh"])
def test_chunked_perturb_aggregate_equals_aggregate_of_the_concatenated_reports(o):
    """Serial reference: chunk i uses chunk_rngs(seed)[i]; the tree-merged state equals the
    state of all chunk reports aggregated at once (exact)."""
    items = np.random.default_rng(1).integers(0, o.domain_size, size=3001)
    chunks = np.array_split(items, 7)
    gens = hh.chunk_rngs(5, 7)
    reports = [hh.perturb(o, c, g, backend="numpy") for c, g in zip(chunks, gens, strict=True)]
    if isinstance(o, hh.OLH):
        allr = hh.OLHReports(np.concatenate([r.seeds for r in reports]),
                             np.concatenate([r.buckets for r in reports]))
    else:
        allr = np.concatenate(reports)
    _same_state(hh.aggregate_chunks(o, chunks, 5, backend="numpy"), hh.aggregate(o, allr))


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                       dashboard_address=None)
    cl = distributed.Client(cluster)
    yield cl
    cl.close()
    cluster.close()


@pytest.mark.parametrize("o", ORACLES, ids=["grr", "oue", "olh_pool", "olh_fresh"])
def test_dask_distributed_aggregation_equals_serial(client, o):
    items = np.random.default_rng(2).integers(0, o.domain_size, size=4000)
    reports = hh.perturb(o, items, 3, backend="numpy")
    if isinstance(o, hh.OLH):
        idx = np.array_split(np.arange(items.size), 6)
        chunks = [hh.OLHReports(reports.seeds[i], reports.buckets[i]) for i in idx]
    else:
        chunks = np.array_split(reports, 6)
    serial = hh.aggregate(o, reports)
    _same_state(hh.dask_aggregate(o, chunks, client=client), serial)
    # perturb on the workers too: equals the serial chunked run with the same seed
    ichunks = np.array_split(items, 5)
    _same_state(hh.dask_perturb_aggregate(o, ichunks, 9, client=client, backend="numpy"),
                hh.aggregate_chunks(o, ichunks, 9, backend="numpy"))


def test_dask_default_scheduler_without_client():
    pytest.importorskip("dask")
    o = hh.GRR(1.0, 10)
    reports = hh.perturb(o, np.arange(1000) % 10, 4, backend="numpy")
    _same_state(hh.dask_aggregate(o, np.array_split(reports, 3)), hh.aggregate(o, reports))


def test_find_heavy_hitters_with_dask_aggregator_equals_serial_chunked(client):
    rng = np.random.default_rng(6)
    parties = [hh.zipf_items(n, 16, 1.3, rng, support=200) for n in (6000, 3000)]
    for proto in ("taps", "treehist"):
        params = hh.HeavyHitterParams(4.0, 16, 5, protocol=proto, num_hashes=256)
        serial = hh.find_heavy_hitters(params, parties, 11, backend="numpy",
                                       aggregator=hh.chunked_aggregator(3, backend="numpy"))
        dist = hh.find_heavy_hitters(params, parties, 11, backend="numpy",
                                     aggregator=hh.dask_aggregator(client, 3,
                                                                   backend="numpy"))
        np.testing.assert_array_equal(dist.items, serial.items)
        np.testing.assert_array_equal(dist.counts, serial.counts)
        assert dist.group_sizes == serial.group_sizes


def test_bad_aggregator_is_refused():
    params = hh.HeavyHitterParams(4.0, 8, 2, protocol="pem")
    with pytest.raises(DPKitError, match="aggregator"):
        hh.find_heavy_hitters(params, np.arange(200) % 256, 0, aggregator=3)
    # an aggregator that drops users (not every item reported once) is refused
    def lossy(o, items, rng):
        return hh.perturb_aggregate(o, items[1:], rng, backend="numpy")
    with pytest.raises(DPKitError, match="aggregator"):
        hh.find_heavy_hitters(params, np.arange(200) % 256, 0, aggregator=lossy)
