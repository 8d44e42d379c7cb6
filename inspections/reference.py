"""Loads the checklist templates of fixtures/checklists.json (idempotent).

A template's version 1 is created and published from the fixture once; later versions are made
by admins in the browser, so a re-run never touches a version that inspections may use."""

import json
from pathlib import Path

from django.db import transaction

from inspections.models import ChecklistItem, ChecklistSection, ChecklistTemplate, ChecklistVersion
from portal.models import Region


@transaction.atomic
def load_reference(fixtures: Path) -> str:
    data = json.loads((Path(fixtures) / "checklists.json").read_text(encoding="utf-8"))
    created = 0
    issuer = data.get("issued_by")
    issuer = Region.objects.filter(code=issuer).first() if issuer else None
    for spec in data["templates"]:
        template, _ = ChecklistTemplate.objects.update_or_create(
            code=spec["code"], defaults={"name": spec["name"], "kind": spec["kind"], "region": issuer})
        if template.versions.exists():
            continue
        version = ChecklistVersion.objects.create(template=template, number=1, published=True)
        build_sections(version, spec["sections"])
        created += 1
    return f"checklists: {len(data['templates'])} templates, {created} versions created"


def build_sections(version: ChecklistVersion, sections: list[dict], *, inherited: bool = False) -> None:
    """`inherited`: the items are the issuing level's, copied into a lower level's own version."""
    for s_order, section_spec in enumerate(sections, 1):
        section = ChecklistSection.objects.create(
            version=version, number=section_spec["number"], title=section_spec["title"], order=s_order)
        ChecklistItem.objects.bulk_create([
            ChecklistItem(
                section=section, order=i_order, number=item["number"], key=item.get("key", ""), text=item["text"],
                answer_type=item["answer_type"], choices=item.get("choices", []), required=item.get("required", True),
                guidance=item.get("guidance", ""), no_is_finding=item.get("no_is_finding", False),
                default_severity=item.get("default_severity", "medium"),
                inherited=inherited or item.get("inherited", False),
            )
            for i_order, item in enumerate(section_spec["items"], 1)
        ])


def version_as_spec(version: ChecklistVersion) -> list[dict]:
    return [
        {"number": section.number, "title": section.title, "items": [
            {"number": i.number, "key": i.key, "text": i.text, "answer_type": i.answer_type, "choices": i.choices,
             "required": i.required, "guidance": i.guidance, "no_is_finding": i.no_is_finding,
             "default_severity": i.default_severity, "inherited": i.inherited}
            for i in section.items.order_by("order")
        ]}
        for section in version.sections.order_by("order")
    ]
