"""Cost of one password hash (a login verifies one) for Django's default Argon2id parameters and
the OWASP Password Storage Cheat Sheet's equivalent Argon2id settings, idle and with every core
busy hashing (what a login costs while other logins run), and the memory each hash takes.

    .venv/bin/python -m bench.bench_hashing
"""

import multiprocessing
import os
import statistics
import time
from concurrent.futures import ProcessPoolExecutor

import argon2

RUNS = 15
# (label, time_cost, memory_cost KiB, parallelism)
CANDIDATES = [
    ("Django 5.2 default", 2, 102400, 8),
    ("OWASP m=46 MiB t=1 p=1", 1, 47104, 1),
    ("OWASP m=19 MiB t=2 p=1", 2, 19456, 1),
    ("OWASP m=12 MiB t=3 p=1", 3, 12288, 1),
    ("OWASP m=9 MiB t=4 p=1", 4, 9216, 1),
    ("OWASP m=7 MiB t=5 p=1", 5, 7168, 1),
]


def hash_times(time_cost: int, memory_cost: int, parallelism: int, runs: int = RUNS) -> list[float]:
    hasher = argon2.PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)
    encoded = hasher.hash("pneumo2026")
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        hasher.verify(encoded, "pneumo2026")
        times.append(time.perf_counter() - started)
    return times


def _high_water_mib() -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024


def peak_rss_added(time_cost: int, memory_cost: int, parallelism: int) -> float:
    """MiB the process's peak resident memory grows by for one hash (in a freshly spawned process,
    whose high-water mark is its own: a forked one would start from the parent's)."""
    before = _high_water_mib()
    argon2.PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism).hash("x")
    return _high_water_mib() - before


def main() -> None:
    cores = os.cpu_count() or 1
    print(f"load average {os.getloadavg()[0]:.1f}; {cores} cores; median of {RUNS} verifications, one at a time "
          f"and in {2 * cores} processes at once")
    print("| parameters | one at a time p50 | cores busy p50 | peak memory per hash |")
    print("| --- | --- | --- | --- |")
    for label, t, m, p in CANDIDATES:
        idle = statistics.median(hash_times(t, m, p)) * 1000
        with ProcessPoolExecutor(max_workers=2 * cores) as pool:
            busy = [x for times in pool.map(hash_times, *zip(*[(t, m, p)] * (2 * cores), strict=True))
                    for x in times]
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
            memory = pool.submit(peak_rss_added, t, m, p).result()
        print(f"| {label} | {idle:.1f} ms | {statistics.median(busy) * 1000:.1f} ms | {memory:.0f} MiB |")


if __name__ == "__main__":
    main()
