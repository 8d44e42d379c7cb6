#!/usr/bin/env python3
"""Build ``fixtures/dust_types.json`` (粉尘 list of 职业病危害因素分类目录, 2015).

Source
    ``SOURCE_FILE``: the 52 items of section 一、粉尘 of 《职业病危害因素分类目录》
    (国卫疾控发〔2015〕92号), typed from the official text; its header records
    which public reprints the items were checked against.  No network access.

Transformation
    Each item ``<序号> <名称>`` becomes ``{code, name, note, causes_pneumoconiosis}``:
    ``code`` is the 序号; ``name`` is the 名称 up to its first parenthesis; ``note``
    is the text of the parenthesised qualifiers, joined with "；" (``null`` if
    none), e.g. 矽尘（游离SiO2含量≥10%） -> 矽尘 / 游离SiO2含量≥10%.
    ``causes_pneumoconiosis`` names the pneumoconiosis of 《职业病分类和目录》
    (国卫疾控发〔2013〕48号, 尘肺 items 1-12) caused by that dust, per
    ``PNEUMOCONIOSES``; ``null`` for every other dust (item 13 其他尘肺 of the 2013
    list is not tied to a single dust).

Checks (the build aborts on any failure)
    exactly 52 items numbered 1..52 in order; unique names; each of the 12 named
    pneumoconioses is mapped to exactly one existing item; spot facts in
    ``KNOWN_ITEMS`` hold.

Usage::

    python scripts/build_dust_type_fixture.py            # (re)write fixture
    python scripts/build_dust_type_fixture.py --check    # CI: verify fixture
"""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path

import fixture_file
from fixture_file import REPO_ROOT, BuildError

SOURCE_FILE = REPO_ROOT / "fixtures" / "sources" / "occupational_hazard_catalog_2015_dust.tsv"
DEFAULT_OUTPUT = REPO_ROOT / "fixtures" / "dust_types.json"
GENERATED_BY = "scripts/build_dust_type_fixture.py"

HEADER = ("序号", "名称")
EXPECTED_ITEMS = 52

# 职业病分类和目录 (2013) 尘肺 1-12 -> the catalogue dust (name after parsing).
PNEUMOCONIOSES = {
    "矽肺": "矽尘",
    "煤工尘肺": "煤尘",
    "石墨尘肺": "石墨粉尘",
    "炭黑尘肺": "炭黑粉尘",
    "石棉肺": "石棉粉尘",
    "滑石尘肺": "滑石粉尘",
    "水泥尘肺": "水泥粉尘",
    "云母尘肺": "云母粉尘",
    "陶工尘肺": "陶土粉尘",
    "铝尘肺": "铝尘",
    "电焊工尘肺": "电焊烟尘",
    "铸工尘肺": "铸造粉尘",
}

# code -> (name, note)
KNOWN_ITEMS = {
    "1": ("矽尘", "游离SiO2含量≥10%"),
    "2": ("煤尘", None),
    "10": ("铝尘", None),
    "11": ("电焊烟尘", None),
    "12": ("铸造粉尘", None),
    "13": ("白炭黑粉尘", None),
    "30": ("麻尘", "亚麻、黄麻和苎麻；游离SiO2含量<10%"),
    "52": ("以上未提及的可导致职业病的其他粉尘", None),
}

SOURCE_DOCUMENT = {
    "title": "职业病危害因素分类目录",
    "section": "一、粉尘",
    "document_number": "国卫疾控发〔2015〕92号",
    "issued_by": "国家卫生计生委、人力资源社会保障部、国家安全监管总局、全国总工会",
    "date": "2015-11-17",
}
PNEUMOCONIOSIS_SOURCE = "职业病分类和目录（国卫疾控发〔2013〕48号）一、职业性尘肺病及其他呼吸系统疾病 (一)尘肺病 1-12"
VERIFICATION = (
    "Typed from the official text. Items 1-10 checked against a full-text reprint "
    "(newton.com.tw) and items 1-47 against a 2019 reprint of the dust list (xnyzw.cn); "
    "items 48-52 were not seen in a retrieved copy of the list."
)

PAREN = re.compile(r"[（(]([^（）()]*)[）)]")


def read_source(path: Path) -> list[tuple[str, str]]:
    items: list[tuple[str, str]] = []
    header_seen = False
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = tuple(f.strip() for f in line.split("\t"))
        if not header_seen:
            if fields != HEADER:
                raise BuildError(f"{path.name}:{lineno}: expected header {HEADER}, got {fields}")
            header_seen = True
            continue
        if len(fields) != 2 or not all(fields):
            raise BuildError(f"{path.name}:{lineno}: expected '序号<TAB>名称'")
        items.append((fields[0], fields[1]))
    return items


def parse_item(text: str) -> tuple[str, str | None]:
    cut = min((i for i in (text.find("（"), text.find("(")) if i >= 0), default=len(text))
    name = text[:cut].strip()
    rest = text[cut:]
    notes = PAREN.findall(rest)
    if PAREN.sub("", rest).strip():
        raise BuildError(f"{text!r}: unexpected text outside parentheses after the name")
    return name, ("；".join(n.strip() for n in notes) or None)


def build_dust_types(items: list[tuple[str, str]]) -> list[dict]:
    dust_to_disease = {dust: disease for disease, dust in PNEUMOCONIOSES.items()}
    out = []
    for code, text in items:
        name, note = parse_item(text)
        out.append({
            "code": code,
            "name": name,
            "note": note,
            "causes_pneumoconiosis": dust_to_disease.get(name),
        })
    return out


def validate(dust_types: list[dict]) -> None:
    errors: list[str] = []
    codes = [d["code"] for d in dust_types]
    if codes != [str(i) for i in range(1, EXPECTED_ITEMS + 1)]:
        errors.append(f"items must be numbered 1..{EXPECTED_ITEMS} in order, got {codes}")
    names = [d["name"] for d in dust_types]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        errors.append(f"duplicate names: {dupes}")
    for disease, dust in PNEUMOCONIOSES.items():
        hits = [d["code"] for d in dust_types if d["causes_pneumoconiosis"] == disease]
        if len(hits) != 1:
            errors.append(f"{disease} <- {dust}: mapped to items {hits}, expected exactly one")
    by_code = {d["code"]: d for d in dust_types}
    for code, (name, note) in KNOWN_ITEMS.items():
        d = by_code.get(code)
        if d is None or (d["name"], d["note"]) != (name, note):
            errors.append(f"item {code}: expected {(name, note)}, got {d and (d['name'], d['note'])}")
    fixture_file.refuse_if_any(errors)


def render(dust_types: list[dict], source_sha256: str) -> str:
    source = {
        **SOURCE_DOCUMENT,
        "verification": VERIFICATION,
        "pneumoconiosis_mapping": PNEUMOCONIOSIS_SOURCE,
        "extract": str(SOURCE_FILE.relative_to(REPO_ROOT)),
        "extract_sha256": source_sha256,
        "generated_by": GENERATED_BY,
    }
    return fixture_file.render(source, "dust_types", dust_types)


def build() -> fixture_file.Built:
    raw = SOURCE_FILE.read_bytes()
    dust_types = build_dust_types(read_source(SOURCE_FILE))
    validate(dust_types)
    mapped = sum(1 for d in dust_types if d["causes_pneumoconiosis"])
    summary = f"{len(dust_types)} dust types, {mapped} mapped to a named pneumoconiosis"
    return fixture_file.Built(render(dust_types, hashlib.sha256(raw).hexdigest()), summary, f": {summary}")


def main(argv: list[str] | None = None) -> int:
    return fixture_file.main(argv, doc=__doc__, default_output=DEFAULT_OUTPUT,
                             generated_by=GENERATED_BY, build=build)


if __name__ == "__main__":
    sys.exit(main())
