"""Header reads of a large batch on every core: forked workers, each reading one contiguous share.

Why forked, and why not a multiprocessing pool: a spawned worker starts a new interpreter and imports
this package (pandas, pydicom: ~1.5 s on the development VM), which cost more than the reads it took
over; a forked one starts in a few milliseconds with everything already imported. multiprocessing's
pools also run helper threads in the parent while they fork. Here the parent forks its workers first,
then reads its own share, then collects the others' results through one pipe each (pickled once per
share), so nothing but `fn` runs in a child, which leaves with os._exit (no atexit handlers, no
destructor of an inherited DuckDB connection or socket). A worker that fails (an exception, a signal)
has its share read again in the parent, so a batch never loses a file.

Forking a process that runs other threads (Dagster's) is safe for this use: a child only runs `fn`,
which reads local files and takes no lock another thread could have held at the fork (CPython resets
the import lock and logging's locks in a child). Callers must not hand it a function that talks to a
network client the parent opened: the child would share its socket.
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

# files; below this a loop in the process is faster than forking (docs/performance.md: a fork of a
# process with pandas and Dagster imported costs a few ms, a native header read ~10 us)
FORK_THRESHOLD = 2_000


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def map_forked(
    fn: Callable[[T], R], items: Sequence[T], *, workers: int | None = None, threshold: int = FORK_THRESHOLD
) -> list[R]:
    """[fn(item) for item in items], in order, spread over `workers` processes (default: every core)
    when there are at least `threshold` items. `fn` should not raise (a worker's exception makes the
    parent read that share again, where the exception then propagates) and its results must pickle."""
    items = list(items)
    n = min(workers or cores(), len(items))
    if n < 2 or len(items) < threshold or not hasattr(os, "fork"):
        return [fn(item) for item in items]
    bounds = [len(items) * i // n for i in range(n + 1)]
    shares = [items[bounds[i] : bounds[i + 1]] for i in range(n)]
    children: list[tuple[int, int, list[T]]] = []
    collecting = gc.isenabled()
    gc.disable()  # tens of thousands of results kept alive would set off full collections (10-20% here)
    try:
        for share in shares[1:]:
            children.append(_fork(fn, share))
        results = [fn(item) for item in shares[0]]
        while children:
            pid, fd, share = children.pop(0)
            results.extend(_collect(fn, pid, fd, share))
        return results
    finally:
        for pid, fd, _ in children:  # only after an exception in the parent
            os.close(fd)
            _stop(pid)
        if collecting:
            gc.enable()


def _fork(fn: Callable[[T], R], share: list[T]) -> tuple[int, int, list[T]]:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the worker: never returns into the caller's code
        code = 1
        try:
            gc.disable()  # a collection would write to every object of the parent: a copy of its heap
            os.close(read_end)
            data = pickle.dumps([fn(item) for item in share], protocol=pickle.HIGHEST_PROTOCOL)
            view = memoryview(data)
            while view:
                view = view[os.write(write_end, view) :]
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    return pid, read_end, share


def _collect(fn: Callable[[T], R], pid: int, fd: int, share: list[T]) -> list[R]:
    chunks = []
    try:
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
    finally:
        os.close(fd)
    try:
        failed = os.waitpid(pid, 0)[1] != 0
    except ChildProcessError:  # reaped by someone else's SIGCHLD handler: judge by what it sent
        failed = False
    if not failed:
        try:
            results = pickle.loads(b"".join(chunks))
        except Exception:  # cut short: the worker died while writing
            results = None
        if isinstance(results, list) and len(results) == len(share):
            return results
    return [fn(item) for item in share]  # the worker failed: read its share here


def _stop(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ChildProcessError, ProcessLookupError):
        pass
