"""A pool of spawned worker processes for real-process races, reused across tests.

On 2 cores a spawned process takes ~1.2 s to import loyaltyctl, so a test module
starts its workers once and hands them one race per test. A race gives each worker
a task: a module-level function (pickled by reference) called in the worker as
``task(*args, start=start)``. The task prepares (connects, loads the key ring) and
then calls ``start()``, which waits at a barrier until every worker and the test
have arrived; the last to arrive releases all at once. Workers without a task just
wait at the barrier. What a task returns is collected per worker.

A task that fails before it reached the barrier breaks the barrier, so the race is
abandoned and the workers are replaced instead of hanging; a failure after it is
reported as ``[("error", "ExceptionType: message")]``.
"""

from __future__ import annotations

import importlib
import multiprocessing as mp
import time

SIZE = 16
START_TIMEOUT = 120  # the first race waits for 16 processes to import on 2 cores
RESULT_TIMEOUT = 120


def _worker(index: int, inbox, barrier, results, preload: tuple[str, ...]) -> None:
    for module in preload:  # imported while the workers are idle, not during a race
        importlib.import_module(module)
    while True:
        job = inbox.get()
        if job is None:
            return
        round_, task, args = job
        released = False

        def start() -> None:
            nonlocal released
            released = True
            barrier.wait(timeout=START_TIMEOUT)

        try:
            outcome = task(*args, start=start) if task is not None else start()
        except BaseException as exc:  # noqa: BLE001 - reported, never hung on
            if not released:
                barrier.abort()  # the others (and the test) stop waiting for this one
            outcome = [("error", f"{type(exc).__name__}: {exc}")]
        results.put((round_, index, [] if task is None else outcome))


class Pool:
    """``size`` spawned workers; ``start`` hands each its task and returns once the
    barrier opened, ``collect`` gathers what each task returned."""

    def __init__(self, size: int = SIZE, preload: tuple[str, ...] = ()) -> None:
        self.size = size
        self.preload = preload
        self.round = 0
        self._spawn()

    def _spawn(self) -> None:
        ctx = mp.get_context("spawn")
        self.barrier = ctx.Barrier(self.size + 1)
        self.results = ctx.Queue()
        self.inboxes = [ctx.Queue() for _ in range(self.size)]
        self.procs = [
            ctx.Process(
                target=_worker,
                args=(i, inbox, self.barrier, self.results, self.preload),
                daemon=True,
            )
            for i, inbox in enumerate(self.inboxes)
        ]
        for p in self.procs:
            p.start()

    def start(self, jobs: list[tuple]) -> None:
        """``jobs[i]`` = (task, args) for worker i; the workers after the last sit out."""
        assert len(jobs) <= self.size
        self.round += 1
        for i, inbox in enumerate(self.inboxes):
            task, args = jobs[i] if i < len(jobs) else (None, ())
            inbox.put((self.round, task, tuple(args)))
        try:
            self.barrier.wait(timeout=START_TIMEOUT)
        except BaseException:
            self.restart()
            raise

    def collect(self, count: int) -> list:
        """What the first ``count`` workers' tasks returned, in worker order."""
        got: dict[int, object] = {}
        deadline = time.monotonic() + RESULT_TIMEOUT
        try:
            while len(got) < self.size:
                round_, index, outcome = self.results.get(
                    timeout=max(0.1, deadline - time.monotonic())
                )
                if round_ == self.round:
                    got[index] = outcome
        except BaseException:
            self.restart()  # a race that did not finish must not run into the next test
            raise
        return [got[i] for i in range(count)]

    def race(self, jobs: list[tuple]) -> list:
        self.start(jobs)
        return self.collect(len(jobs))

    def restart(self) -> None:
        for p in self.procs:
            p.kill()  # only our own workers, by their Process handles
        for p in self.procs:
            p.join(timeout=10)
        self._spawn()

    def close(self) -> None:
        for inbox in self.inboxes:
            inbox.put(None)
        for p in self.procs:
            p.join(timeout=10)
            if p.is_alive():
                p.kill()  # only our own worker, by its Process handle
