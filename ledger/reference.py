"""Loading the ledger's reference catalogues (industries, dust types) from fixtures/."""

import json
from pathlib import Path

from django.db import transaction

from ledger.industries import key_group_of, lookback_group_of
from ledger.models import DustType, Industry


@transaction.atomic
def load_industries(rows: list[dict]) -> int:
    """Creates the missing codes (in bulk, a level at a time so that parents exist first) and
    updates the rows whose values changed: a fresh database (every browser or worker test starts
    from a flushed one) costs a few statements instead of two per code."""
    by_code = {i.code: i for i in Industry.objects.all()}
    fields = ("name", "level", "parent", "key_group", "lookback_group")
    for level in sorted({row["level"] for row in rows}):
        new, changed = [], []
        for row in (r for r in rows if r["level"] == level):
            values = {
                "name": row["name"],
                "level": row["level"],
                "parent": by_code[row["parent"]] if row["parent"] else None,
                # Groups are defined on numeric codes; 门类 letters belong to none.
                "key_group": key_group_of(row["code"]) if row["level"] > 1 else "",
                "lookback_group": lookback_group_of(row["code"]) if row["level"] > 1 else "",
            }
            industry = by_code.get(row["code"])
            if industry is None:
                industry = by_code[row["code"]] = Industry(code=row["code"], **values)
                new.append(industry)
            elif any(getattr(industry, name) != value for name, value in values.items()):
                for name, value in values.items():
                    setattr(industry, name, value)
                changed.append(industry)
        Industry.objects.bulk_create(new)
        Industry.objects.bulk_update(changed, fields)
    return len(rows)


@transaction.atomic
def load_dust_types(rows: list[dict]) -> int:
    for row in rows:
        DustType.objects.update_or_create(
            code=row["code"],
            defaults={"name": row["name"], "note": row.get("note") or "",
                      "pneumoconiosis": row.get("causes_pneumoconiosis") or ""},
        )
    return len(rows)


def load_reference(fixtures: Path) -> str:
    industries = json.loads((fixtures / "industries.json").read_text(encoding="utf-8"))
    dust_types = json.loads((fixtures / "dust_types.json").read_text(encoding="utf-8"))
    return (
        f"industries: {load_industries(industries['industries'])}, "
        f"dust types: {load_dust_types(dust_types['dust_types'])}"
    )
