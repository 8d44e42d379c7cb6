"""Print a Locust run's figures from its CSV files (--csv PREFIX): per request name and overall,
requests, failures, requests per second and the 50th/95th/99th percentiles, then the save →
province dashboard delay measured by the probe and the outcomes it counted (<prefix>_probe.json),
then where the web workers' time went: the portal's request log of the step (<prefix>_stack.log,
JSON lines with path and duration_ms) summed by route.

    .venv/bin/python -m bench.load.summary var/bench-load/u100
"""

import collections
import csv
import json
import re
import sys


def rows(prefix: str) -> list[dict]:
    with open(f"{prefix}_stats.csv", newline="") as stats:
        return list(csv.DictReader(stats))


def line(row: dict) -> str:
    def ms(key):
        value = row.get(key, "N/A")
        return "-" if value in ("N/A", "") else f"{float(value):.0f}"

    return (f"| {row['Type']} {row['Name']} | {row['Request Count']} | {row['Failure Count']} | "
            f"{float(row['Requests/s']):.1f} | {ms('50%')} | {ms('95%')} | {ms('99%')} |")


def main(prefix: str) -> None:
    data = rows(prefix)
    print(f"## {prefix}")
    print("| request | count | failures | req/s | p50 ms | p95 ms | p99 ms |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for row in sorted((r for r in data if r["Name"] != "Aggregated"), key=lambda r: r["Name"]):
        print(line(row))
    aggregated = next((r for r in data if r["Name"] == "Aggregated"), None)
    if aggregated is not None:
        print(line({**aggregated, "Type": "", "Name": "**all requests**"}))
    try:
        with open(f"{prefix}_probe.json") as probe_file:
            probe = json.load(probe_file)
    except FileNotFoundError:
        return
    delays = sorted(probe["delays_ms"])
    if delays:
        def pct(q):
            return delays[min(len(delays) - 1, int(q * len(delays)))]
        print(f"\nsave → province dashboard: {len(delays)} saves seen, {probe['not_seen']} not seen within 120 s; "
              f"p50 {pct(0.5):.0f} ms, p95 {pct(0.95):.0f} ms, max {delays[-1]:.0f} ms")
    else:
        print(f"\nsave → province dashboard: no save seen ({probe['not_seen']} not seen within 120 s)")
    for outcome, count in sorted(probe["outcomes"].items()):
        print(f"- {outcome}: {count}")

def server_time(prefix: str) -> None:
    """Each route's share of the time the web workers spent in requests (ids folded into <id>)."""
    totals: collections.Counter = collections.Counter()
    counts: collections.Counter = collections.Counter()
    try:
        with open(f"{prefix}_stack.log", errors="replace") as log:
            for text in log:
                if '"duration_ms"' not in text:
                    continue
                try:
                    entry = json.loads(text)
                except ValueError:
                    continue
                route = f"{entry.get('method', '')} {re.sub(r'/[0-9]+', '/<id>', entry.get('path', ''))}"
                totals[route] += entry["duration_ms"]
                counts[route] += 1
    except FileNotFoundError:
        return
    overall = sum(totals.values())
    if not overall:
        return
    print(f"\nweb workers' time in requests: {overall / 1000:.0f} s over {sum(counts.values())} requests")
    print("| route | requests | mean ms | share of worker time |")
    print("| --- | --- | --- | --- |")
    for route, total in totals.most_common(12):
        print(f"| {route} | {counts[route]} | {total / counts[route]:.0f} | {total / overall:.1%} |")


if __name__ == "__main__":
    for prefix in sys.argv[1:]:
        main(prefix)
        server_time(prefix)
