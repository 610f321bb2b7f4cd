"""Header reads on every core (dicom/pool.py): forked workers give the loop's results in the loop's order,
a failing worker loses no file, no worker outlives a batch, and small batches never fork."""

from __future__ import annotations

import faulthandler
import gc
import os
import signal
from pathlib import Path

import pytest
from pydicom.data import get_testdata_files

from medvault.platform.dicom import headers, pool
from medvault.platform.stores.local import LocalStore

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture
def forked(monkeypatch) -> list[int]:
    """The pids of the workers the pool forks in this test."""
    pids: list[int] = []
    real_fork = os.fork

    def fork() -> int:
        pid = real_fork()
        if pid:
            pids.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", fork)
    return pids


def _reaped(pids: list[int]) -> bool:
    """Every one of these workers has ended and been waited for (no zombie, none still running)."""
    for pid in pids:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            continue
        return False
    return bool(pids)


def test_forked_results_are_the_loops_in_order(forked):
    items = list(range(1000))
    parent = os.getpid()
    got = pool.map_forked(lambda i: (i * i, os.getpid()), items, workers=3, threshold=0)
    assert [v for v, _ in got] == [i * i for i in items]
    pids = {pid for _, pid in got}
    assert parent in pids and len(pids) == 3  # the parent reads a share too
    assert _reaped(forked) and len(forked) == 2 and gc.isenabled()  # paused during the batch only


def test_small_batches_stay_in_process(forked):
    parent = os.getpid()
    assert {pid for pid in pool.map_forked(lambda _: os.getpid(), range(100), workers=4)} == {parent}
    assert pool.map_forked(lambda i: i, [], threshold=0) == []
    assert pool.map_forked(lambda i: i, [7], workers=4, threshold=0) == [7]
    assert forked == []


@pytest.mark.parametrize("how", ["signal", "exception", "exit"])
def test_a_failing_worker_loses_no_file(how, forked):
    parent = os.getpid()

    def fn(i: int) -> int:
        if os.getpid() != parent and i == 700:
            if how == "signal":
                faulthandler.disable()  # pytest's, inherited: no traceback in the output
                os.kill(os.getpid(), signal.SIGSEGV)  # what a crash of the C walker would be
            if how == "exception":
                raise RuntimeError("boom")
            os._exit(3)
        return i + 1

    assert pool.map_forked(fn, range(1000), workers=2, threshold=0) == list(range(1, 1001))
    assert _reaped(forked)


def test_an_exception_in_the_parent_stops_the_workers(forked):
    parent = os.getpid()

    def fn(i: int) -> int:
        if os.getpid() == parent and i == 10:
            raise KeyError(i)
        return i

    with pytest.raises(KeyError):
        pool.map_forked(fn, range(1000), workers=3, threshold=0)
    assert _reaped(forked) and len(forked) == 2 and gc.isenabled()


def test_the_dicom_step_parses_a_local_lake_on_every_core(tmp_path, monkeypatch):
    """headers.parse_stored_many: the forked pool for a local lake gives what parse_stored gives."""
    files = sorted(Path(f) for f in get_testdata_files() if os.path.isfile(f))[:60]
    store = LocalStore(tmp_path)
    for f in files:
        store.put_bytes(f"lake/{f.name}", f.read_bytes())
    items = [(f"lake/{f.name}", f.name) for f in files]
    one_by_one = [headers.parse_stored(store, key, name) for key, name in items]
    monkeypatch.setattr(pool, "FORK_THRESHOLD", 0)
    forked = []
    real = pool.map_forked
    monkeypatch.setattr(pool, "map_forked", lambda *a, **k: forked.append(k) or real(*a, **k))
    assert headers.parse_stored_many(store, items) == one_by_one
    assert forked == [{"threshold": 0}]
    assert sum("row" in p for p in one_by_one) > 40 and any("fault" in p for p in one_by_one)
