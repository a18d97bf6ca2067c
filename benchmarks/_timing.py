"""Timing helpers shared by the benchmark modules.

* :func:`measure` — one warm-up call, then the median of N calls timed with
  :func:`time.perf_counter` (optionally stopping early once a time budget is spent).
* :class:`Worker` — a long-lived subprocess that runs :class:`Task` s under a time limit and an
  address-space cap (``resource.RLIMIT_AS``, 9 GiB by default). A call that hangs is killed and
  recorded as ``"timeout > X s"``; one that blows up is recorded as ``"MemoryError (…)"``; either
  way the benchmark run goes on with a fresh worker. Imports happen once per worker, before any
  timed call, so they are never part of a measurement.
* :func:`run_command` / :func:`time_command` — a fresh process per call (cold-start timing, peak
  RSS), under the same limits.

Every timed function has the signature ``fn(rep: int, **kwargs)``: ``rep`` is the repetition
index, so a benchmark can perturb its input per repetition and no cache can make a repeated call
look faster than a first one. The value reported is the one returned by repetition 0.
"""

from __future__ import annotations

import importlib
import math
import multiprocessing
import multiprocessing.connection
import re
import resource
import statistics
import subprocess
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "GIB",
    "DEFAULT_MEMORY_CAP",
    "Measurement",
    "Failure",
    "Outcome",
    "Task",
    "Worker",
    "CommandResult",
    "measure",
    "set_memory_cap",
    "describe_exception",
    "run_command",
    "time_command",
]

GIB = 1024**3
#: Address-space cap of every worker and command (the spec's anchors used 9 GiB).
DEFAULT_MEMORY_CAP = 9 * GIB


@dataclass(frozen=True)
class Measurement:
    """Wall-clock seconds of each timed repetition, and the value of repetition 0."""

    times: tuple[float, ...]
    value: Any

    @property
    def median(self) -> float:
        """Median seconds per call."""
        return statistics.median(self.times)

    @property
    def runs(self) -> int:
        """Number of timed repetitions."""
        return len(self.times)


@dataclass(frozen=True)
class Failure:
    """A call that gave no result: ``kind`` is timeout, memory, error, crash or skipped."""

    reason: str
    kind: str = "error"


Outcome = Measurement | Failure


def measure(
    fn: Callable[..., Any],
    kwargs: Mapping[str, Any] | None = None,
    *,
    reps: int = 7,
    warmup: bool = True,
    budget_s: float = math.inf,
) -> Measurement:
    """Median-of-``reps`` timing of ``fn(rep, **kwargs)``.

    With ``warmup`` one untimed call (``rep = reps``, a repetition index no timed call uses) runs
    first. Repetitions stop early, after at least one, when the next would likely take the total
    past ``budget_s``.
    """
    kw = dict(kwargs or {})
    if warmup:
        fn(reps, **kw)
    times: list[float] = []
    value: Any = None
    spent = 0.0
    for rep in range(reps):
        t0 = time.perf_counter()
        out = fn(rep, **kw)
        dt = time.perf_counter() - t0
        if rep == 0:
            value = out
        times.append(dt)
        spent += dt
        if spent + dt > budget_s:
            break
    return Measurement(tuple(times), value)


def set_memory_cap(nbytes: int | None) -> None:
    """Cap this process's address space at ``nbytes`` (no-op for None)."""
    if nbytes is None:
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = nbytes if hard == resource.RLIM_INFINITY else min(nbytes, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def describe_exception(exc: BaseException) -> Failure:
    """A short :class:`Failure` for an exception (MemoryError keeps the size it asked for)."""
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, MemoryError):
        size = re.search(r"allocate (\S+ [KMGTP]i?B)", msg)
        return Failure(f"MemoryError ({size.group(1)})" if size else "MemoryError", "memory")
    if len(msg) > 70:
        msg = msg[:67] + "..."
    return Failure(f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__, "error")


@dataclass(frozen=True)
class Task:
    """A measurement request for a :class:`Worker`.

    ``func`` is ``"module:function"``. ``prime`` holds cheap keyword arguments for one untimed
    call made the first time this worker process sees ``func`` (so first-call costs are paid
    even when ``warmup`` is off because a same-size warm-up call would be too slow).
    """

    func: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    reps: int = 7
    warmup: bool = True
    prime: Mapping[str, Any] | None = None
    budget_s: float = math.inf


def _resolve(func: str) -> Callable[..., Any]:
    """The function named ``"module:name"``."""
    module, _, name = func.partition(":")
    return getattr(importlib.import_module(module), name)


def _execute(task: Task, primed: set[str]) -> Measurement:
    """Prime (once per process), then measure ``task``."""
    fn = _resolve(task.func)
    if task.prime is not None and task.func not in primed:
        fn(-1, **task.prime)
    primed.add(task.func)
    return measure(fn, task.kwargs, reps=task.reps, warmup=task.warmup, budget_s=task.budget_s)


def _worker_main(
    conn: multiprocessing.connection.Connection, memory_cap: int | None, preload: Sequence[str]
) -> None:
    """Body of a worker process: cap memory, import, then serve tasks until told to stop."""
    set_memory_cap(memory_cap)
    warnings.simplefilter("ignore")
    for name in preload:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - reported by the task that needs it
            pass
    conn.send("ready")
    primed: set[str] = set()
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        try:
            result: Outcome = _execute(task, primed)
        except BaseException as exc:  # noqa: BLE001 - every failure is a table cell
            result = describe_exception(exc)
        try:
            conn.send(result)
        except Exception as exc:  # noqa: BLE001 - e.g. an unpicklable result
            conn.send(describe_exception(exc))


class Worker:
    """A restartable subprocess that runs :class:`Task` s under a time limit and a memory cap.

    Use as a context manager. ``preload`` names modules imported when the worker starts (its
    start-up time is never counted against a task). After a timeout, a crash or a MemoryError
    the process is discarded and the next task gets a fresh one (``restarts`` counts them).
    """

    def __init__(
        self,
        preload: Sequence[str] = (),
        *,
        memory_cap: int | None = DEFAULT_MEMORY_CAP,
        start_timeout: float = 180.0,
    ) -> None:
        self.preload = tuple(preload)
        self.memory_cap = memory_cap
        self.start_timeout = start_timeout
        self.restarts = 0
        self._ctx = multiprocessing.get_context("spawn")
        self._proc: Any = None
        self._conn: multiprocessing.connection.Connection | None = None

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> multiprocessing.connection.Connection:
        if self._conn is not None:
            return self._conn
        parent, child = self._ctx.Pipe()
        proc = self._ctx.Process(
            target=_worker_main, args=(child, self.memory_cap, self.preload), daemon=True
        )
        proc.start()
        child.close()
        if not parent.poll(self.start_timeout) or parent.recv() != "ready":
            proc.kill()
            proc.join()
            raise RuntimeError("benchmark worker failed to start")
        self._proc, self._conn = proc, parent
        return parent

    def _discard(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.join()
            self.restarts += 1
        if self._conn is not None:
            self._conn.close()
        self._proc, self._conn = None, None

    def run(self, task: Task, time_limit: float) -> Outcome:
        """Run ``task``; a result, or a :class:`Failure` after ``time_limit`` seconds."""
        conn = self._start()
        conn.send(task)
        if not conn.poll(time_limit):
            self._discard()
            return Failure(f"timeout > {time_limit:g} s", "timeout")
        try:
            result: Outcome = conn.recv()
        except (EOFError, OSError):
            self._proc.join(5)
            code = self._proc.exitcode
            self._discard()
            return Failure(f"worker died (exit code {code})", "crash")
        if isinstance(result, Failure) and result.kind == "memory":
            self._discard()
        return result

    def close(self) -> None:
        """Stop the worker process (if any)."""
        if self._conn is not None:
            try:
                self._conn.send(None)
            except OSError:
                pass
        if self._proc is not None:
            self._proc.join(5)
            if self._proc.is_alive():
                self._proc.kill()
                self._proc.join()
        if self._conn is not None:
            self._conn.close()
        self._proc, self._conn = None, None


@dataclass(frozen=True)
class CommandResult:
    """A finished command: exit status, output and wall-clock seconds (spawn to exit)."""

    returncode: int
    stdout: str
    stderr: str
    wall_s: float


def run_command(
    argv: Sequence[str],
    *,
    timeout: float,
    memory_cap: int | None = DEFAULT_MEMORY_CAP,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
) -> CommandResult | Failure:
    """Run ``argv`` in a fresh process under a time limit and an address-space cap."""

    def cap() -> None:
        set_memory_cap(memory_cap)

    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            timeout=timeout,
            preexec_fn=cap,
            env=dict(env) if env is not None else None,
            cwd=cwd,
        )
    except subprocess.TimeoutExpired:
        return Failure(f"timeout > {timeout:g} s", "timeout")
    except OSError as exc:
        return Failure(f"cannot run: {exc.strerror or exc}", "error")
    return CommandResult(proc.returncode, proc.stdout, proc.stderr, time.perf_counter() - t0)


def time_command(
    argv: Sequence[str],
    *,
    reps: int = 3,
    warmup: bool = True,
    timeout: float = 60.0,
    memory_cap: int | None = DEFAULT_MEMORY_CAP,
    env: Mapping[str, str] | None = None,
) -> tuple[Measurement | Failure, str]:
    """Median wall time of ``reps`` fresh runs of ``argv`` and the first run's stripped stdout.

    The untimed warm-up run only fills the OS file cache; each timed run is still a cold
    interpreter. A non-zero exit status becomes a :class:`Failure` quoting the last stderr line.
    """
    times: list[float] = []
    first_out = ""
    for i in range(-1 if warmup else 0, reps):
        res = run_command(argv, timeout=timeout, memory_cap=memory_cap, env=env)
        if isinstance(res, Failure):
            return res, ""
        if res.returncode != 0:
            tail = (res.stderr.strip().splitlines() or ["(no stderr)"])[-1]
            return Failure(f"exit {res.returncode}: {tail[:80]}", "error"), ""
        if i >= 0:
            times.append(res.wall_s)
        if i == 0:
            first_out = res.stdout.strip()
    return Measurement(tuple(times), first_out), first_out
