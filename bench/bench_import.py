"""Benchmark: import of a 10,000-row official ledger workbook, checked and committed for real,
against the time openpyxl alone takes to read the same file in read-only mode (the target: ≤ 1.5×,
the file parsed in the sandboxed child process as every upload is).

    PNEUMO_BENCH_DB=pneumo_bench PNEUMO_BENCH_EMPLOYERS=200000 \
        .venv/bin/python -m bench.bench_import [--rows 10000] [--runs 5] [--profile]

Two files with the same 10,000 employers: the template as the portal writes it (openpyxl,
inline strings) and the same workbook as Excel or WPS saves it (a shared-strings table, which
openpyxl reads faster: the stricter case). Each run reads the file with openpyxl alone, then
imports it as the pages and tasks do (LEDGER.validate, then LEDGER.commit: its own transaction
and its real COMMIT, with the deferred foreign-key checks and the WAL flush), then runs the rollup
recompute the import triggers (the Celery task's body: the dirty county and the city and province
above it). Interleaved; the best and the median of the runs are reported, each labelled, with every
run's own ratio (the machine may be shared; noise only adds time). The peak memory of every process
involved is measured too: what openpyxl's read adds to its process, what the import's reading and
checking adds to the process running it (a web or Celery worker), and the peak of the sandboxed
child that parses the file (calamine, which holds the whole sheet), each in a fresh process.

Runs on the scratch database `PNEUMO_BENCH_DB` seeded with `PNEUMO_BENCH_EMPLOYERS` employers
(bench/common.py), which other benchmarks share: every run imports into a fresh copy of it
(`CREATE DATABASE … TEMPLATE`, not timed, dropped afterwards), so each run imports the same 10,000
new employers into 东昌府区 and the shared database is never written. Files go to bench/out/, the
figures to bench/out/bench_import.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("PNEUMO_DB_POOL", "0")  # fresh_copy(): no connection may stay on the template

from bench.common import BENCH_DB, EMPLOYERS, best_and_median, fresh_copy, purge_queue, setup_django  # noqa: E402

BASE = Path(__file__).resolve().parent
OUT = BASE / "out"
COUNTY = "371502"
PERIOD = "2020H1"
TARGET = 1.5


def bench_objects():
    from ledger.models import CountySubmission, ReportingPeriod, SubmissionStatus
    from portal.models import Department, Membership, Region, Role, User

    county = Region.objects.select_related("parent").get(code=COUNTY)
    user, _ = User.objects.get_or_create(username="bench_import_clerk", defaults={"display_name": "基准测试录入员"})
    Membership.objects.get_or_create(user=user, region=county, department=Department.HEALTH, role=Role.CLERK)
    period, _ = ReportingPeriod.objects.get_or_create(code=PERIOD, defaults=dict(
        year=2020, half=1, starts_on=datetime.date(2020, 1, 1), ends_on=datetime.date(2020, 6, 30),
        deadline=datetime.date(2020, 7, 15)))
    CountySubmission.objects.update_or_create(period=period, county=county, defaults=dict(
        city_id=county.parent_id, province_id=county.parent.parent_id, status=SubmissionStatus.DRAFT))
    return county, user, period


def build_file(path: Path, rows: int, county, period) -> None:
    """A realistic filled-in template: every column, varied values, some exposures."""
    from ledger import columns as cols
    from ledger import excel, selectors
    from ledger.demo import demo_uscc
    from ledger.models import DustType, Industry
    from portal.demo import chinese_name
    from portal.models import Region

    rng = random.Random(2020)
    townships = list(Region.objects.filter(parent=county).values_list("name", flat=True)) or [None]
    industries = list(Industry.objects.filter(level=4, code__regex=r"^(06|08|09|10|30|31|32|33)").values_list(
        "code", "name"))
    dusts = list(DustType.objects.values_list("name", flat=True)[:12])
    size_labels = cols.BY_KEY["size"].choice_labels()
    ownership_labels = cols.BY_KEY["ownership"].choice_labels()

    def row(i: int) -> list:
        total = rng.randrange(10, 800)
        exposed = rng.randrange(1, total + 1)
        due = rng.randrange(0, exposed + 1)
        code, industry_name = rng.choice(industries)
        picked = rng.sample(dusts, rng.randrange(1, 3))
        values = {
            "serial": i, "region_code": county.code, "township": rng.choice(townships),
            "name": f"{county.name}{rng.choice('鑫达恒泰金山宏远华鑫盛源永兴')}{industry_name[:6]}有限公司{i}",
            "uscc": demo_uscc(county.code, 700_000 + i), "registration_number": None,
            "registered_address": f"{county.name}工业园区{i}号", "workplace_address": f"{county.name}产业园{i}号",
            "industry": code, "industry_name": industry_name, "key_group": "", "size": rng.choice(size_labels),
            "ownership": rng.choice(ownership_labels), "business_scope": f"{industry_name}；产品销售",
            "legal_representative": chinese_name(rng), "legal_representative_phone": f"1{rng.randrange(3, 10)}{i:09d}",
            "health_manager": chinese_name(rng), "health_manager_phone": f"0635-{rng.randrange(1000000, 9999999)}",
            "status": "正常", "in_governance_scope": rng.choice("是否"),
            "total_workers": total, "exposed_workers": exposed,
            "exposures": "；".join(f"{d}:{rng.randrange(1, exposed + 1)}" for d in picked),
            "hazard_declared": "是", "declared_on": datetime.date(2020, 1, 1) + datetime.timedelta(days=rng.randrange(150)),
            "last_test_date": datetime.date(2019, 6, 1) + datetime.timedelta(days=rng.randrange(300)),
            "test_lab": "聊城市疾病预防控制中心", "points_over_limit": rng.randrange(0, 3), "warning_signs": "是",
            "exam_due": due, "exam_done": rng.randrange(0, due + 1), "surveillance_files": rng.randrange(0, exposed + 1),
            "principal_trained": rng.choice("是否"), "managers_due": 2, "managers_trained": rng.randrange(0, 3),
            "workers_training_due": exposed, "workers_trained": rng.randrange(0, exposed + 1),
            "contract_workers": rng.randrange(0, total + 1), "insured_workers": rng.randrange(0, total + 1),
            "new_projects": 1, "three_simultaneities_projects": rng.randrange(0, 2), "pneumoconiosis_cases": 0,
            "last_inspection_date": "2020-05-20",
        }
        return [values[c.key] for c in cols.COLUMNS]

    with open(path, "wb") as fh:
        excel.write_ledger(fh, region_name=county.name, period=period, rows=(row(i) for i in range(1, rows + 1)),
                           reference=selectors.reference_lists(county), expected_rows=rows)


def read_with_openpyxl(path: Path) -> int:
    """The baseline: what openpyxl alone takes to read every cell of the data sheet."""
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    count = 0
    for _row in wb["台帐"].iter_rows(values_only=True):
        count += 1
    wb.close()
    return count


def import_once(path: Path, county, user, period) -> dict:
    """One import as a clerk's pages and tasks run it, timed step by step: the dry run, the commit
    (its own transaction, through the real COMMIT), then the rollup recompute it triggered (the
    body of the task enqueued after the commit)."""
    from django.core.files import File

    from ledger import imports
    from ledger.models import ImportStatus
    from targets.tasks import recompute_dirty

    with open(path, "rb") as fh:
        job = imports.LEDGER.create(actor=user, county=county, period=period, upload=File(fh, name=path.name))
    started = time.perf_counter()
    imports.LEDGER.validate(actor=user, job=job)
    validated = time.perf_counter()
    if job.status != ImportStatus.VALIDATED:
        sys.exit(f"validation failed: {job.errors[:5]}")
    imports.LEDGER.commit(actor=user, job=job)
    committed = time.perf_counter()
    if job.status != ImportStatus.DONE:
        sys.exit(f"commit failed: {job.errors[:5]}")
    recomputed = recompute_dirty()
    rolled_up = time.perf_counter()
    job.file.delete(save=False)
    return {"validate": validated - started, "commit": committed - validated, "total": committed - started,
            "rollup": rolled_up - committed, "rollup_runs": recomputed,
            "created": job.rows_created, "updated": job.rows_updated}


def excel_style_copy(src: Path, dst: Path) -> None:
    """The same workbook as Excel or WPS would save it: strings in a shared-strings table
    instead of openpyxl's inline strings. openpyxl reads this form faster, so the ratio is
    stricter on it."""
    import re
    import zipfile

    cell = re.compile(rb'<c r="([A-Z]+[0-9]+)"([^>]*?) t="inlineStr"([^>]*)><is><t([^>]*)>(.*?)</t></is></c>', re.S)
    strings: list[tuple[bytes, bytes]] = []
    index: dict[tuple[bytes, bytes], int] = {}

    def shared(match) -> bytes:
        key = (match.group(4), match.group(5))
        if key not in index:
            index[key] = len(strings)
            strings.append(key)
        return b'<c r="%s"%s t="s"%s><v>%d</v></c>' % (match.group(1), match.group(2), match.group(3), index[key])

    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename.startswith("xl/worksheets/sheet"):
                data = cell.sub(shared, data)
            elif info.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                                    b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
            elif info.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"</Relationships>", b'<Relationship Id="rIdSharedStrings" Type="http://schemas.'
                                    b'openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
                                    b'Target="sharedStrings.xml"/></Relationships>')
            zout.writestr(info, data)
        table = b"".join(b"<si><t%s>%s</t></si>" % key for key in strings)
        zout.writestr("xl/sharedStrings.xml", b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="'
                      b'http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="%d" uniqueCount="%d">%s</sst>'
                      % (len(strings), len(strings), table))


def measure(path: Path, runs: int) -> dict:
    """Interleaved runs, each on a fresh copy of the bench database: openpyxl's read, then the
    import and its rollup; the last run imports the file a second time (nothing changes)."""
    baseline, imports_, reimport = [], [], None
    for run in range(runs):
        with fresh_copy():
            county, user, period = bench_objects()
            t0 = time.perf_counter()
            read_with_openpyxl(path)
            baseline.append(time.perf_counter() - t0)
            imports_.append(import_once(path, county, user, period))
            if run == runs - 1:
                reimport = import_once(path, county, user, period)
    totals = [r["total"] for r in imports_]
    with_rollup = [r["total"] + r["rollup"] for r in imports_]
    return {
        "file": path.name, "size_mb": round(path.stat().st_size / 1024 / 1024, 2),
        "openpyxl_read": best_and_median(baseline),
        "validate": best_and_median([r["validate"] for r in imports_]),
        "commit": best_and_median([r["commit"] for r in imports_]),
        "import_total": best_and_median(totals),
        "rollup": best_and_median([r["rollup"] for r in imports_]),
        "import_and_rollup": best_and_median(with_rollup),
        "ratio_of_bests": round(min(totals) / min(baseline), 2),
        "ratio_of_medians": round(statistics.median(totals) / statistics.median(baseline), 2),
        "ratio_per_run": [round(t / b, 2) for t, b in zip(totals, baseline, strict=True)],
        "ratio_with_rollup_of_medians": round(statistics.median(with_rollup) / statistics.median(baseline), 2),
        "created": imports_[0]["created"],
        "reimport_unchanged_s": round(reimport["total"], 3),
        "reimport_created_updated": [reimport["created"], reimport["updated"]],
    }


def peak_memory_child(path: Path, reader: str) -> None:
    """In a child process: the peak memory (MB) that reading `path` adds, printed as JSON.
    `openpyxl` reads every cell in read-only mode; `import` opens and checks the file as the
    import's dry run does (the sandboxed child parses it, this process checks every row and
    keeps the parsed rows); the sandboxed child's own peak is reported beside it."""
    import resource

    import django

    django.setup()
    from ledger import imports
    from ledger.excel import open_ledger
    from portal.importing import max_import_bytes
    from portal.models import Region

    lookups = imports.load_lookups(Region.objects.select_related("parent").get(code=COUNTY))

    def status_kb(field_name: str) -> int:
        line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith(field_name))
        return int(line.split()[1])

    Path("/proc/self/clear_refs").write_text("5")  # Linux: reset the peak (VmHWM) to the current RSS
    before = status_kb("VmRSS:")
    if reader == "openpyxl":
        read_with_openpyxl(path)
    else:
        with open_ledger(path, max_bytes=max_import_bytes()) as sheet:
            parsed = imports._Parser(lookups, lambda done, estimate: None).parse(sheet)
        assert not parsed.errors, parsed.errors[:3]
    child_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"peak_added_mb": round((status_kb("VmHWM:") - before) / 1024, 1),
                      "sandbox_child_peak_mb": round(child_kb / 1024, 1)}))


def peak_memory(path: Path) -> dict:
    import subprocess

    figures = {}
    for reader in ("openpyxl", "import"):
        out = subprocess.run([sys.executable, "-m", "bench.bench_import", "--peak-memory-child", str(path), reader],
                             check=True, capture_output=True, text=True, cwd=BASE.parent).stdout
        figures[reader] = json.loads(out.strip().splitlines()[-1])
    return {"openpyxl_read_peak_mb": figures["openpyxl"]["peak_added_mb"],
            "import_check_peak_mb": figures["import"]["peak_added_mb"],
            "sandbox_child_peak_mb": figures["import"]["sandbox_child_peak_mb"]}


def report(label: str, m: dict) -> None:
    def fig(key: str) -> str:
        return f"best {m[key]['best_s']:.2f} s, median {m[key]['median_s']:.2f} s"

    print(f"\n{label}: {m['file']} ({m['size_mb']} MB), {m['openpyxl_read']['runs']} runs")
    print(f"  openpyxl read-only read:            {fig('openpyxl_read')}")
    print(f"  import validate + commit (COMMIT):  {fig('import_total')}  ({m['created']} employers created)")
    print(f"    validate:                         {fig('validate')}")
    print(f"    commit, through the real COMMIT:  {fig('commit')}")
    print(f"  rollup recompute it triggers:       {fig('rollup')}")
    print(f"  import + rollup:                    {fig('import_and_rollup')}")
    print(f"  ratio import / openpyxl: of bests {m['ratio_of_bests']:.2f}, of medians {m['ratio_of_medians']:.2f} "
          f"(target ≤ {TARGET}: {'OK' if m['ratio_of_medians'] <= TARGET else 'ABOVE TARGET'}); per run: "
          f"{', '.join(f'{x:.2f}' for x in m['ratio_per_run'])}; with the rollup, of medians "
          f"{m['ratio_with_rollup_of_medians']:.2f}")
    print(f"  re-import of the same file: {m['reimport_unchanged_s']:.2f} s, "
          f"{m['reimport_created_updated'][0]} created, {m['reimport_created_updated'][1]} updated")
    print(f"  peak memory: openpyxl read adds {m['openpyxl_read_peak_mb']} MB to its process; the import adds "
          f"{m['import_check_peak_mb']} MB to the process running it, and its sandboxed child peaks at "
          f"{m['sandbox_child_peak_mb']} MB (each measured in a fresh process)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="cProfile one validate+commit and print the top")
    parser.add_argument("--peak-memory-child", nargs=2, metavar=("FILE", "READER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peak_memory_child:
        peak_memory_child(Path(args.peak_memory_child[0]), args.peak_memory_child[1])
        return

    setup_django()
    from ledger.models import ReportingPeriod
    from portal.models import Region

    OUT.mkdir(exist_ok=True)
    path = OUT / f"ledger_{args.rows}.xlsx"
    started = time.perf_counter()
    build_file(path, args.rows, Region.objects.get(code=COUNTY), ReportingPeriod.objects.filter(code=PERIOD).first())
    excel_path = OUT / f"ledger_{args.rows}_excel_style.xlsx"
    excel_style_copy(path, excel_path)
    print(f"built {path.name} and {excel_path.name}: {args.rows} rows in {time.perf_counter() - started:.1f}s")

    template = measure(path, args.runs) | peak_memory(path)
    excel_style = measure(excel_path, args.runs) | peak_memory(excel_path)
    report("template as the portal writes it (openpyxl, inline strings)", template)
    report("the same data as Excel/WPS saves it (shared strings)", excel_style)

    if args.profile:
        import cProfile
        import pstats

        with fresh_copy():
            county, user, period = bench_objects()
            profiler = cProfile.Profile()
            profiler.enable()
            import_once(path, county, user, period)
            profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)

    purge_queue()
    result = {"database": BENCH_DB, "employers": EMPLOYERS, "rows": args.rows, "runs": args.runs,
              "target_ratio": TARGET, "load_average": os.getloadavg(),
              "at": datetime.datetime.now().isoformat(timespec="seconds"),
              "template": template, "excel_style": excel_style}
    (OUT / "bench_import.json").write_text(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
