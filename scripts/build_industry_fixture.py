#!/usr/bin/env python3
"""Build ``fixtures/industries.json`` (GB/T 4754-2017 国民经济行业分类).

Source
    A field extract, committed as ``SOURCE_FILE``, of the public GitHub file
    ``zmshe/capital:src/utils/category.js`` at commit ``SOURCE_COMMIT``: a
    JavaScript array with one object per row of the standard's code table
    (``class1`` 门类 letter, ``class2`` 大类, ``class3`` 中类, ``class4`` 小类,
    ``level`` 1-4, ``name``, ``remark`` = 说明).  The extract keeps every row in
    the original order with the fields class1..level and name verbatim and
    drops ``remark``; its header says how it was obtained.  The script reads
    only that committed file -- no network access.

Edition
    GB/T 4754-2017 (codes verified against known 2017 facts below, e.g. 大类 11
    is 开采专业及辅助性活动, not the 2011 edition's 开采辅助活动).  Whether the
    source already contains the 2019 第1号修改单 could not be established from an
    official text: it has 20/97/473/1381 门类/大类/中类/小类, while published totals
    are 1380 小类 (2017 announcement) and 1382 (after the 2019 amendment).  An
    independent public copy (a nested-set SQL dump of the same table) has the
    identical 1,971 rows in the identical order.  ``EDITION_NOTE`` records this.

Transformation
    * Every source row becomes one entry ``{code, name, level, parent}``;
      names are stripped of surrounding blanks.
    * ``SOURCE_ERRATA``: the source encodes 小类 3741 飞机制造 as a second
      level-3 row of 中类 374; it is read as the level-4 row 3741.  Each erratum
      must match exactly one source row, or the build fails.
    * A 中类 with a single 小类 (code ending in 0, e.g. 0190 其他农业) has no row
      of its own in the source -- the standard prints both on one line under one
      name -- so the 中类 (e.g. 019 其他农业) is derived from the 小类 row with the
      same name, placed just before it.
    * Output keeps the standard's order (门类 A..T, each followed by its 大类,
      中类 and 小类), one entry per line.

Checks (the build aborts on any failure)
    codes are well formed for their level (A-T / 2 / 3 / 4 digits) and unique;
    every non-门类 entry has an existing parent of the level above and its code
    extends the parent's (门类 are letters, so 大类 are checked by membership);
    each 中类 has at least one 小类; a derived 中类 has exactly one 小类 ending in
    0 and a listed 中类 has no 小类 ending in 0; the per-level counts equal
    ``EXPECTED_COUNTS``; the ``KNOWN_2017`` facts hold.

Usage::

    python scripts/build_industry_fixture.py            # (re)write fixture
    python scripts/build_industry_fixture.py --check    # CI: verify fixture
"""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path

import fixture_file
from fixture_file import REPO_ROOT, BuildError

SOURCE_FILE = REPO_ROOT / "fixtures" / "sources" / "gbt4754_2017_zmshe-capital_category.tsv"
DEFAULT_OUTPUT = REPO_ROOT / "fixtures" / "industries.json"
GENERATED_BY = "scripts/build_industry_fixture.py"

SOURCE_REPOSITORY = "zmshe/capital"
SOURCE_PATH = "src/utils/category.js"
SOURCE_COMMIT = "0b8f1ae480aadd9f35aca2fd0efb934e9a7101e8"

EDITION = "GB/T 4754-2017"
EDITION_NOTE = (
    "GB/T 4754-2017 code table as given by the source; whether it includes the "
    "2019 第1号修改单 is unverified. The source has 1381 小类; published totals are "
    "1380 (2017 announcement) and 1382 (after the 2019 amendment). An independent "
    "public copy (nested-set SQL dump of the same table) has the identical 1971 "
    "rows in the identical order."
)

COLUMNS = ("class1", "class2", "class3", "class4", "level", "name")

# (source row as it appears in SOURCE_FILE) -> (row as it is read)
SOURCE_ERRATA = [
    (
        ("C", "37", "374", "", "3", "飞机制造"),
        ("C", "37", "374", "3741", "4", "飞机制造"),
        "小类 3741 飞机制造 is encoded as a second level-3 row of 中类 374",
    ),
]

EXPECTED_COUNTS = {1: 20, 2: 97, 3: 473, 4: 1381}

# Facts that distinguish the 2017 edition (several differ in GB/T 4754-2011).
KNOWN_2017 = {
    "06": "煤炭开采和洗选业",
    "11": "开采专业及辅助性活动",
    "30": "非金属矿物制品业",
    "31": "黑色金属冶炼和压延加工业",
    "32": "有色金属冶炼和压延加工业",
    "36": "汽车制造业",
    "1091": "石棉、云母矿采选",
    "1092": "石墨、滑石采选",
    "1093": "宝石、玉石采选",
    "2110": "木质家具制造",
    "2431": "雕塑工艺品制造",
    "3011": "水泥制造",
    "3021": "水泥制品制造",
    "3023": "石棉水泥制品制造",
    "3032": "建筑用石加工",
    "3071": "建筑陶瓷制品制造",
    "3081": "石棉制品制造",
    "3089": "耐火陶瓷制品及其他耐火材料制造",
    "3741": "飞机制造",
    "8111": "汽车修理与维护",
}

CODE_PATTERNS = {
    1: re.compile(r"[A-T]"),
    2: re.compile(r"[0-9]{2}"),
    3: re.compile(r"[0-9]{3}"),
    4: re.compile(r"[0-9]{4}"),
}


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------


def read_source(path: Path) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    header_seen = False
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line or line.startswith("#"):
            continue
        fields = tuple(line.split("\t"))
        if not header_seen:
            if fields != COLUMNS:
                raise BuildError(f"{path.name}:{lineno}: expected header {COLUMNS}, got {fields}")
            header_seen = True
            continue
        if len(fields) != len(COLUMNS):
            raise BuildError(f"{path.name}:{lineno}: expected {len(COLUMNS)} fields, got {len(fields)}")
        rows.append(fields)
    if not header_seen:
        raise BuildError(f"{path.name}: no header line")
    return rows


def apply_errata(rows: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    rows = list(rows)
    for wrong, right, why in SOURCE_ERRATA:
        hits = [i for i, row in enumerate(rows) if row == wrong]
        if len(hits) != 1:
            raise BuildError(f"erratum ({why}) matched {len(hits)} source rows, expected 1")
        rows[hits[0]] = right
    return rows


# --------------------------------------------------------------------------
# Transformation
# --------------------------------------------------------------------------


def build_industries(rows: list[tuple[str, ...]]) -> tuple[list[dict], list[str]]:
    """Return (entries in standard order, codes of derived 中类)."""
    entries: list[dict] = []
    seen: set[str] = set()
    derived: list[str] = []

    def add(code: str, name: str, level: int, parent: str | None) -> None:
        if code in seen:
            raise BuildError(f"duplicate code {code}")
        if not name:
            raise BuildError(f"{code}: empty name")
        seen.add(code)
        entries.append({"code": code, "name": name, "level": level, "parent": parent})

    for class1, class2, class3, class4, level_s, raw_name in rows:
        name = raw_name.strip()
        if level_s not in {"1", "2", "3", "4"}:
            raise BuildError(f"bad level {level_s!r} in row {class1}/{class2}/{class3}/{class4}")
        level = int(level_s)
        if level == 1:
            add(class1, name, 1, None)
        elif level == 2:
            add(class2, name, 2, class1)
        elif level == 3:
            add(class3, name, 3, class2)
        else:
            if class3 not in seen:
                # 中类 printed on the same line as its only 小类.
                add(class3, name, 3, class2)
                derived.append(class3)
            add(class4, name, 4, class3)
    return entries, derived


def validate(entries: list[dict], derived: list[str]) -> None:
    errors: list[str] = []
    by_code = {e["code"]: e for e in entries}
    children: dict[str, list[str]] = {}

    for e in entries:
        code, level, parent = e["code"], e["level"], e["parent"]
        if not CODE_PATTERNS[level].fullmatch(code):
            errors.append(f"{code}: malformed code for level {level}")
        if level == 1:
            if parent is not None:
                errors.append(f"{code}: 门类 with a parent")
            continue
        p = by_code.get(parent)
        if p is None:
            errors.append(f"{code} {e['name']}: parent {parent} missing")
            continue
        if p["level"] != level - 1:
            errors.append(f"{code}: parent {parent} is level {p['level']}, expected {level - 1}")
        if level > 2 and not code.startswith(parent):
            errors.append(f"{code}: does not extend its parent's code {parent}")
        children.setdefault(parent, []).append(code)

    for e in entries:
        if e["level"] == 3:
            kids = children.get(e["code"], [])
            zero = [k for k in kids if k.endswith("0")]
            if not kids:
                errors.append(f"中类 {e['code']} has no 小类")
            elif e["code"] in derived:
                if kids != [e["code"] + "0"]:
                    errors.append(f"derived 中类 {e['code']}: 小类 {kids}, expected [{e['code']}0]")
            elif zero:
                errors.append(f"listed 中类 {e['code']} has 小类 ending in 0: {zero}")
        if e["level"] in (1, 2) and not children.get(e["code"]):
            errors.append(f"{e['code']} {e['name']}: no children")

    counts = count_levels(entries)
    if counts != EXPECTED_COUNTS:
        errors.append(f"per-level counts {counts}, expected {EXPECTED_COUNTS}")
    letters = [e["code"] for e in entries if e["level"] == 1]
    if letters != [chr(c) for c in range(ord("A"), ord("T") + 1)]:
        errors.append(f"门类 are {letters}, expected A..T in order")

    for code, name in KNOWN_2017.items():
        got = by_code.get(code, {}).get("name")
        if got != name:
            errors.append(f"2017 fact {code} {name}: got {got!r}")

    fixture_file.refuse_if_any(errors)


def count_levels(entries: list[dict]) -> dict[int, int]:
    counts = {lv: 0 for lv in (1, 2, 3, 4)}
    for e in entries:
        counts[e["level"]] += 1
    return counts


def render(entries: list[dict], derived: list[str], source_sha256: str) -> str:
    source = {
        "standard": "国民经济行业分类 (Industrial classification for national economic activities)",
        "edition": EDITION,
        "edition_note": EDITION_NOTE,
        "repository": SOURCE_REPOSITORY,
        "path": SOURCE_PATH,
        "commit": SOURCE_COMMIT,
        "extract": str(SOURCE_FILE.relative_to(REPO_ROOT)),
        "extract_sha256": source_sha256,
        "errata": [why for _wrong, _right, why in SOURCE_ERRATA],
        "derived_groups": (
            f"{len(derived)} 中类 with a single 小类 have no row in the source and "
            "were derived from that 小类 (same name)"
        ),
        "counts": {str(k): v for k, v in count_levels(entries).items()},
        "generated_by": GENERATED_BY,
    }
    return fixture_file.render(source, "industries", entries)


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------


def build() -> fixture_file.Built:
    raw = SOURCE_FILE.read_bytes()
    entries, derived = build_industries(apply_errata(read_source(SOURCE_FILE)))
    validate(entries, derived)
    origin = f"{SOURCE_REPOSITORY}:{SOURCE_PATH}@{SOURCE_COMMIT[:12]}"
    return fixture_file.Built(render(entries, derived, hashlib.sha256(raw).hexdigest()),
                              summarise(entries), f" from {origin}\n{summarise(entries)}")


def summarise(entries: list[dict]) -> str:
    names = {1: "门类", 2: "大类", 3: "中类", 4: "小类"}
    counts = count_levels(entries)
    return "per level: " + ", ".join(f"L{k} {names[k]}={v}" for k, v in counts.items()) + (
        f"; total {len(entries)}"
    )


def main(argv: list[str] | None = None) -> int:
    return fixture_file.main(argv, doc=__doc__, default_output=DEFAULT_OUTPUT,
                             generated_by=GENERATED_BY, build=build)


if __name__ == "__main__":
    sys.exit(main())
