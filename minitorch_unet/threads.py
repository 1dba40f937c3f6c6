"""How many threads NumPy's BLAS runs: chosen by the program, not left to the user.

NumPy's OpenBLAS starts one thread per core, and its threads spin while they wait for each
other: on a machine where other processes keep the cores busy, an epoch can take ten times
longer than with one thread. So the package sets the count when it is imported (the command
line, the notebooks and the benchmarks all import it), with threadpoolctl:

1. a count given explicitly: ``--threads N`` on the command line, or ``limit_blas_threads(N)``;
2. else the environment variable ``MINITORCH_UNET_THREADS``;
3. else :func:`choose_blas_threads`: the cores this process may use, less those the
   one-minute load average says other processes keep busy, at least one.

Without ``MINITORCH_UNET_THREADS``, a process started with ``OPENBLAS_NUM_THREADS``,
``OMP_NUM_THREADS`` or ``MKL_NUM_THREADS`` set keeps that count at import: the user chose it.
"""
from __future__ import annotations

import os

from threadpoolctl import threadpool_info, threadpool_limits

ENV_VAR = "MINITORCH_UNET_THREADS"
BLAS_ENV_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def choose_blas_threads(cores: int | None = None, load: float | None = None) -> int:
    """cores - load, rounded, between 1 and cores (defaults: this machine's, right now)."""
    cores = available_cores() if cores is None else cores
    if load is None:
        try:
            load = os.getloadavg()[0]
        except (AttributeError, OSError):  # Windows has no load average
            load = 0.0
    return max(1, min(cores, round(cores - load)))


def limit_blas_threads(threads: int | None = None) -> int:
    """Run NumPy's BLAS on `threads` threads (see the module docstring for the default).

    Returns the count set. Raises ValueError for a count below 1, naming where it came from.
    """
    source = "--threads"
    if threads is None and os.environ.get(ENV_VAR, "").strip():
        source, value = ENV_VAR, os.environ[ENV_VAR].strip()
        threads = int(value) if value.isdigit() else 0
    if threads is None:
        threads = choose_blas_threads()
    if threads < 1:
        given = os.environ[ENV_VAR] if source == ENV_VAR else threads
        raise ValueError(f"{source} must be a positive number of threads, got {given!r}")
    threadpool_limits(limits=threads, user_api="blas")
    return threads


def blas_threads() -> int:
    """The number of threads NumPy's BLAS runs now (1 where no BLAS pool is found)."""
    counts = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    return max(counts, default=1)


def limit_at_import() -> None:
    """The package's choice at import (see the module docstring)."""
    if os.environ.get(ENV_VAR, "").strip() or not any(os.environ.get(name)
                                                      for name in BLAS_ENV_VARS):
        limit_blas_threads()
