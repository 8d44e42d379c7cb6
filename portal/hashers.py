"""Password hashing: Argon2id with the OWASP Password Storage Cheat Sheet's parameters instead of
Django's (100 MiB and 8 lanes per hash). Django's costs 4-5x as much CPU per login on two cores
and 100 MiB per concurrent login (bench/bench_hashing.py, bench/RESULTS.md); the OWASP settings
(m=19 MiB t=2 p=1, or its equal-cost trade-offs) all cost about the same here, and this one is the
most memory-hard of them. The algorithm name stays "argon2", so stored hashes with Django's
parameters are still verified and rehashed with these at the user's next login (must_update)."""

from django.contrib.auth.hashers import Argon2PasswordHasher


class PortalArgon2PasswordHasher(Argon2PasswordHasher):
    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1
