"""Print a Locust run's figures from its CSV files (--csv PREFIX): per request name and overall,
requests, failures, requests per second and the 50th/95th/99th percentiles, then the save →
province dashboard delay measured by the probe and the outcomes it counted (<prefix>_probe.json).

    .venv/bin/python -m bench.load.summary var/bench-load/u100
"""

import csv
import json
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

if __name__ == "__main__":
    for prefix in sys.argv[1:]:
        main(prefix)
