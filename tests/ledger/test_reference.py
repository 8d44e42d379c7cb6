"""The industry catalogue: missing codes are created in bulk under their parents, and a reload
updates what changed and leaves the rest as it was."""

import json

import pytest
from django.conf import settings

from ledger.models import Industry
from ledger.reference import load_industries

pytestmark = pytest.mark.django_db


def catalogue() -> list[dict]:
    return json.loads((settings.BASE_DIR / "fixtures" / "industries.json").read_text(encoding="utf-8"))["industries"]


def test_missing_codes_are_created_under_their_parents_and_a_reload_updates_only_what_changed():
    rows = catalogue()
    leaves = [r for r in rows if r["level"] == 4]
    missing, renamed = leaves[0], leaves[1]
    Industry.objects.filter(code=missing["code"]).delete()
    codes = {r["code"] for r in rows}
    new_code = next(code for code in (missing["parent"] + str(d) for d in range(10)) if code not in codes)
    changed = [dict(r, name="改名的行业") if r["code"] == renamed["code"] else r for r in rows]
    changed.append({"code": new_code, "name": "新增小类", "level": 4, "parent": missing["parent"]})
    untouched = Industry.objects.exclude(code=renamed["code"]).order_by("code").values_list("pk", "name", "parent_id")
    before = list(untouched)

    assert load_industries(changed) == len(rows) + 1

    recreated, added = Industry.objects.get(code=missing["code"]), Industry.objects.get(code=new_code)
    assert (recreated.name, recreated.level, recreated.parent.code) == (missing["name"], 4, missing["parent"])
    assert (added.name, added.level, added.parent.code) == ("新增小类", 4, missing["parent"])
    assert Industry.objects.get(code=renamed["code"]).name == "改名的行业"
    assert [row for row in untouched if row[1] != "新增小类" and row[0] != recreated.pk] == before
    assert Industry.objects.count() == len(rows) + 1
