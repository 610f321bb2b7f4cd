"""Waiting for the `warehouse` pool stays stoppable and bounded.

While a step of an in-process run waits for a pool slot, Dagster has captured SIGINT and SIGTERM
(`capture_interrupts`) and its in-process loop never looks at what it captured: Ctrl-C and a container
stop would be ignored until the slot frees, which behind a stuck run is never. A watch thread sees that
a step of this process is waiting and then

- forwards a captured Ctrl-C / SIGTERM into the main thread as KeyboardInterrupt, and
- after MEDVAULT_POOL_WAIT_SECONDS stops the process the same way, with one sentence naming the run
  that holds the pool (runs of dead processes never hold it long: recovery.py frees them).

Either way the waiting run is marked failed by Dagster's own interrupt handling, its pending claim is
dropped, and the runner starts no further run. The exception is raised only while this process has a
step waiting for a slot, so it lands in Dagster's wait loop, never inside a step's work.

Dagster 1.13's wait loop also never sleeps: `interval_to_next_pending_claim_check` returns
`min([0, ...])`, never above 0, so a step waiting for a slot keeps a core busy (on two cores, the core
the run holding the slot needs; dagster-io/dagster#20367 found it and was closed unmerged).
`sleep_between_claim_checks` makes it return the time to the next planned claim attempt, and applies
only while Dagster still behaves that way (checked on a bare context, no instance).
"""

from __future__ import annotations

import ctypes
import os
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime

import dagster as dg
from dagster._core.execution.plan.instance_concurrency_context import InstanceConcurrencyContext
from dagster._utils.interrupts import check_captured_interrupt

from medvault.platform import stopping
from medvault.recovery import PID_TAG

POOL = "warehouse"


def _seconds_to_next_claim_check(self: InstanceConcurrencyContext) -> float:
    """How long the wait loop may sleep: until the earliest planned claim attempt, never below 0."""
    if not self._pending_claims or not self._pending_timeouts:
        return 0.0
    return max(0.0, min(self._pending_timeouts.values()) - time.time())


def _spins_while_waiting() -> bool:
    """Does Dagster's own interval say "do not sleep" although the next claim attempt is 10 s away?"""
    probe = object.__new__(InstanceConcurrencyContext)
    probe._pending_claims = {"probe"}
    probe._pending_timeouts = {"probe": time.time() + 10}
    try:
        return InstanceConcurrencyContext.interval_to_next_pending_claim_check(probe) <= 0
    except Exception:  # noqa: BLE001 - a Dagster whose context is built otherwise: leave it alone
        return False


def sleep_between_claim_checks() -> bool:
    """Make a step that waits for a pool slot sleep between claim attempts; True if it was needed."""
    if InstanceConcurrencyContext.interval_to_next_pending_claim_check is _seconds_to_next_claim_check:
        return True
    if not _spins_while_waiting():
        return False
    InstanceConcurrencyContext.interval_to_next_pending_claim_check = _seconds_to_next_claim_check
    return True


def _interrupt_main_thread() -> None:
    """Raise KeyboardInterrupt in the main thread at its next bytecode (it is in a Python wait loop)."""
    ident = threading.main_thread().ident
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(KeyboardInterrupt))


class PoolWatch(threading.Thread):
    def __init__(self, instance: dg.DagsterInstance, seconds: float, interval: float = 0.5):
        super().__init__(name="medvault-pool-watch", daemon=True)
        self.instance, self.seconds, self.interval = instance, seconds, interval
        self.done = threading.Event()
        self.pid = str(os.getpid())

    def run(self) -> None:
        while not self.done.wait(self.interval):
            try:
                why = self.stop_reason()
            except Exception:  # noqa: BLE001 - a failed look at the instance must not stop a run
                continue
            if why is not None:
                stopping.request(why or None)
                _interrupt_main_thread()
                return

    def stop_reason(self) -> str | None:
        """None to go on waiting; "" for the operator's stop; else the sentence the bound ran out with."""
        waiting = self.waiting_steps()
        if not waiting:
            return None
        if check_captured_interrupt():
            return ""
        if self.seconds <= 0:
            return None
        for step, waited in waiting:
            if waited > self.seconds:
                return self.sentence(step.step_key, waited)
        return None

    def waiting_steps(self) -> list:
        """This process's steps that wait for a slot, with the seconds each has waited."""
        info = self.instance.event_log_storage.get_concurrency_info(POOL)
        mine = []
        for step in info.pending_steps:
            if step.assigned_timestamp is not None:
                continue
            run = self.instance.get_run_by_id(step.run_id)
            if run is None or run.tags.get(PID_TAG) != self.pid:
                continue
            enqueued = step.enqueued_timestamp
            now = datetime.now(UTC)
            if enqueued.tzinfo is None:  # the SQL storages keep naive UTC
                now = now.replace(tzinfo=None)
            mine.append((step, (now - enqueued).total_seconds()))
        return mine

    def sentence(self, step_key: str, waited: float) -> str:
        holders = ", ".join(
            f"run {slot.run_id[:8]} (step {slot.step_key}, pid {self._pid_of(slot.run_id)})"
            for slot in self.instance.event_log_storage.get_concurrency_info(POOL).claimed_slots
        )
        return (
            f"step {step_key} waited {waited:.0f} s (MEDVAULT_POOL_WAIT_SECONDS) for the {POOL} pool, "
            f"held by {holders or 'no run'}; let that run finish, or stop it if it is stuck, then run again"
        )

    def _pid_of(self, run_id: str) -> str:
        run = self.instance.get_run_by_id(run_id)
        return run.tags.get(PID_TAG, "unknown") if run else "unknown"


@contextmanager
def stoppable_pool_wait(instance: dg.DagsterInstance, seconds: float):
    """Watch this process's pool waits while the block executes its runs (seconds <= 0: no bound)."""
    watch = PoolWatch(instance, seconds)
    watch.start()
    try:
        yield
    finally:
        watch.done.set()
        watch.join(timeout=5)
