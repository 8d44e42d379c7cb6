"""Change history in Chinese, and the audit search over it.

pghistory keeps one event table per tracked model. Events are read from those tables by their
indexed keys (the object key `pgh_obj_id`, the denormalized region keys, the employer key), never
through the cross-model `Events` view whose object key is cast to text (it cannot use an index).
A change reads "申报日期: 空 → 2020-03-01", "是否申报: 否 → 是": the field's Chinese name and its
values as the pages show them (choices by label, yes/no, related rows by name, ID numbers masked).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.apps import apps
from django.db import models
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.audit import action_label
from portal.models import Department, Region, User

EMPTY = gettext_lazy("空")
# Never shown as a change: bookkeeping columns.
HIDDEN = {"version", "updated_at", "created_at", "id", "updated_by", "set_at", "opened_at", "matched_at"}
MASKED = {"id_number"}
LABELS = {"insert": gettext_lazy("新建"), "update": gettext_lazy("修改"), "delete": gettext_lazy("删除")}
# The audit context's action codes written in English by the services, in Chinese.


@dataclass(frozen=True)
class Source:
    """One event table the audit search reads: whose department's it is and how it is scoped."""

    event_model: str
    what: str
    department: str | None  # None: the row's own `department` field says
    level_fields: dict[int, str] | None = None  # denormalized region keys on the event row
    path_lookup: str | None = None  # or a lookup reaching a region's path
    employer_field: str | None = None  # the employer key on the event row


SOURCES = [
    Source("ledger.EmployerEvent", gettext_lazy("用人单位"), Department.HEALTH,
           {1: "province", 2: "city", 3: "county"}, employer_field="pgh_obj_id"),
    Source("ledger.EmployerRecordEvent", gettext_lazy("填报记录"), Department.HEALTH,
           {1: "province", 2: "city", 3: "county"}, employer_field="employer_id"),
    Source("ledger.WorkerEvent", gettext_lazy("劳动者名册"), Department.HEALTH,
           {1: "employer__province", 2: "employer__city", 3: "employer__county"}, employer_field="employer_id"),
    Source("ledger.CountySubmissionEvent", gettext_lazy("县级报送"), Department.HEALTH,
           {1: "province", 2: "city", 3: "county"}),
    Source("inspections.FindingEvent", gettext_lazy("检查发现问题"), Department.HEALTH,
           path_lookup="region__path", employer_field="employer_id"),
    Source("insurance.LedgerHandoverEvent", gettext_lazy("台帐移交"), Department.HRSS,
           {1: "province", 2: "city", 3: "county"}),
    Source("insurance.InsuranceCoverageEvent", gettext_lazy("参保人数"), Department.HRSS,
           {1: "province", 2: "city", 3: "county"}, employer_field="employer_id"),
    Source("insurance.FollowUpEvent", gettext_lazy("参保跟进"), Department.HRSS,
           {1: "province", 2: "city", 3: "county"}, employer_field="employer_id"),
    Source("portal.MembershipEvent", gettext_lazy("岗位授权"), None, path_lookup="region__path"),
    Source("worklist.LiaisonEvent", gettext_lazy("联络员名单"), None, path_lookup="region__path"),
]


def _event_model(source: Source):
    try:
        return apps.get_model(source.event_model)
    except LookupError:
        return None


# ---- Values in Chinese -------------------------------------------------------------------------------


def _tracked_fields(event_model) -> list[models.Field]:
    return [f for f in event_model._meta.concrete_fields
            if not f.name.startswith("pgh_") and f.name not in HIDDEN]


def _related_names(rows: list, fields: list[models.Field]) -> dict[tuple[str, object], str]:
    """Names of the rows that foreign keys point to, one query per related model."""
    wanted: dict[type, set] = {}
    for f in fields:
        if f.is_relation:
            for row in rows:
                value = getattr(row, f.attname)
                if value is not None:
                    wanted.setdefault(f.related_model, set()).add(value)
    names = {}
    for model, ids in wanted.items():
        for obj in model.objects.filter(pk__in=ids):
            names[(model._meta.label, obj.pk)] = str(obj)
    return names


def display(f: models.Field, value, names: dict) -> str:
    if value is None or value == "":
        return str(EMPTY)
    if f.name in MASKED:
        from ledger.validation import mask_id_number

        return mask_id_number(str(value))
    if f.is_relation:
        return names.get((f.related_model._meta.label, value), str(value))
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if f.choices:
        return str(dict(f.flatchoices).get(value, value))
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


@dataclass
class Entry:
    when: datetime.datetime
    who: str
    user_id: int | None
    ip: str
    what: str
    object_label: str
    operation: str
    action: str
    label: str = ""  # insert, update, delete
    changes: list[str] = field(default_factory=list)
    employer_id: int | None = None
    key: tuple = ()  # (time, table, event id): the order of a merged history, newest last


def _entries(source: Source, event_model, events: list) -> list[Entry]:
    """Events of one table as entries, each update diffed against the object's previous event
    (read by the indexed object key)."""
    fields = _tracked_fields(event_model)
    # Each update is diffed against the object's event just before it: one indexed lookup per
    # event (pgh_obj_id, pgh_id), not every earlier event of the objects.
    earlier = event_model.objects.filter(pgh_obj_id=OuterRef("pgh_obj_id"), pgh_id__lt=OuterRef("pgh_id"))
    before_ids = dict(event_model.objects.filter(pgh_id__in=[e.pgh_id for e in events if e.pgh_label == "update"])
                      .annotate(before=Subquery(earlier.order_by("-pgh_id").values("pgh_id")[:1]))
                      .values_list("pgh_id", "before")) if events else {}
    by_id = event_model.objects.in_bulk([i for i in before_ids.values() if i is not None])
    previous = {pgh_id: by_id[before] for pgh_id, before in before_ids.items() if before is not None}
    names = _related_names(events + list(previous.values()), fields)
    user_ids = {(e.pgh_context.metadata or {}).get("user") for e in events if e.pgh_context_id}
    users = {u.pk: str(u) for u in User.objects.filter(pk__in={u for u in user_ids if u})}
    entries = []
    for e in events:
        meta = (e.pgh_context.metadata or {}) if e.pgh_context_id else {}
        changes = []
        before = previous.get(e.pgh_id)
        if e.pgh_label == "update" and before is not None:
            for f in fields:
                old, new = getattr(before, f.attname), getattr(e, f.attname)
                if old != new:
                    changes.append(f"{f.verbose_name}: {display(f, old, names)} → {display(f, new, names)}")
        elif e.pgh_label == "insert":
            changes = [f"{f.verbose_name}: {display(f, getattr(e, f.attname), names)}" for f in fields
                       if getattr(e, f.attname) not in (None, "", False, 0) and not f.is_relation][:6]
        if e.pgh_label == "update" and before is not None and not changes:
            continue  # only bookkeeping columns moved
        user_id = meta.get("user")
        entries.append(Entry(
            when=e.pgh_created_at, who=users.get(user_id) or meta.get("actor_name") or _("系统"), user_id=user_id,
            ip=meta.get("ip", ""), what=str(source.what), object_label=_object_label(e, fields, names),
            operation=str(LABELS.get(e.pgh_label, e.pgh_label)),
            action=action_label(meta.get("action", "")), changes=changes, label=e.pgh_label,
            employer_id=getattr(e, source.employer_field, None) if source.employer_field else None,
            key=(e.pgh_created_at, e.pgh_id)))
    return entries


def _object_label(event, fields, names) -> str:
    for name in ("name", "employer", "county", "region", "user"):
        f = next((f for f in fields if f.name == name), None)
        if f is not None and getattr(event, f.attname) is not None:
            label = display(f, getattr(event, f.attname), names)
            period = next((p for p in fields if p.name == "period"), None)
            if period is not None and name != "name":
                label += " " + display(period, getattr(event, period.attname), names)
            return label
    return f"#{event.pgh_obj_id}"


@dataclass(frozen=True)
class Part:
    """Some objects' events in one table: by the indexed object key or employer key."""

    event_model: str
    obj_ids: list[int] | None = None
    employer_id: int | None = None


def history_page(parts: list[Part], *, size: int, cursor: str = "") -> tuple[list[Entry], str | None]:
    """One page, newest first, of the merged history of `parts`: at most `size` events read
    from each table (by its indexed key, from the cursor on), whatever the amount of history,
    and the cursor of the next page (None on the last). The order is (time, table, event id):
    the events of one transaction share a time."""
    after = _parse_cursor(cursor)
    picked = []
    for rank, part in enumerate(parts):
        source = next(s for s in SOURCES if s.event_model == part.event_model)
        event_model = _event_model(source)
        events = event_model.objects.select_related("pgh_context")
        if part.obj_ids is not None:
            events = events.filter(pgh_obj_id__in=part.obj_ids)
        if part.employer_id is not None:
            events = events.filter(**{source.employer_field: part.employer_id})
        if after is not None:
            when, after_rank, after_id = after
            earlier = Q(pgh_created_at__lt=when)
            if rank < after_rank:
                earlier |= Q(pgh_created_at=when)
            elif rank == after_rank:
                earlier |= Q(pgh_created_at=when, pgh_id__lt=after_id)
            events = events.filter(earlier)
        picked += [(e.pgh_created_at, rank, e.pgh_id, source, event_model, e)
                   for e in events.order_by("-pgh_created_at", "-pgh_id")[:size + 1]]
    picked.sort(key=lambda p: p[:3], reverse=True)
    page, more = picked[:size], len(picked) > size
    entries = []
    for rank in range(len(parts)):
        mine = [p for p in page if p[1] == rank]
        if mine:
            entries += [(e.key[0], rank, e.key[1], e) for e in _entries(mine[0][3], mine[0][4], [p[5] for p in mine])]
    entries.sort(key=lambda p: p[:3], reverse=True)
    last = page[-1] if page else None
    next_cursor = f"{last[0].isoformat()}|{last[1]}|{last[2]}" if more and last else None
    return [e[3] for e in entries], next_cursor


def _parse_cursor(cursor: str) -> tuple[datetime.datetime, int, int] | None:
    """A malformed cursor reads as none (the first page)."""
    try:
        when, rank, pgh_id = cursor.split("|")
        return datetime.datetime.fromisoformat(when), int(rank), int(pgh_id)
    except ValueError:
        return None


# ---- The audit search -------------------------------------------------------------------------------


@dataclass
class AuditFilters:
    person: User | None = None
    employer_id: int | None = None
    what: str = ""  # a Source.event_model
    operation: str = ""  # insert, update, delete
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    region: Region | None = None


def audit_grants(actor) -> list[tuple[str, Region]]:
    """(department, region) pairs where the actor is an admin: what they may audit."""
    from portal.models import Membership, Role

    if actor.is_superuser:
        return [(d.value, r) for r in Region.objects.filter(parent__isnull=True) for d in Department]
    return [(m.department, m.region) for m in
            Membership.objects.filter(user=actor, role=Role.ADMIN).select_related("region")]


def _scope_q(source: Source, regions: list[Region]) -> Q:
    q = Q(pk__in=[])
    for region in regions:
        if source.level_fields is not None:
            if region.level in source.level_fields:
                q |= Q(**{f"{source.level_fields[region.level]}_id": region.pk})
            elif region.level < min(source.level_fields):
                q |= Q(**{f"{source.level_fields[min(source.level_fields)]}__path__startswith": region.path})
        else:
            q |= Q(**{f"{source.path_lookup}__startswith": region.path})
    return q


def _audit_events(actor, filters: AuditFilters):
    """(source, event model, events) for each kind of history the actor may audit with these
    filters, the events as a queryset."""
    grants = audit_grants(actor)
    for source in SOURCES:
        if filters.what and source.event_model != filters.what:
            continue
        event_model = _event_model(source)
        if event_model is None:
            continue
        per_department: dict[str, list[Region]] = {}
        for department, region in grants:
            if source.department is None or source.department == department:
                if filters.region is not None:
                    if not filters.region.path.startswith(region.path):
                        continue
                    region = filters.region
                per_department.setdefault(department, []).append(region)
        if not per_department:
            continue
        q = Q(pk__in=[])
        for department, regions in per_department.items():
            part = _scope_q(source, regions)
            if source.department is None:
                part &= Q(department=department)
            q |= part
        events = event_model.objects.filter(q).select_related("pgh_context")
        if filters.operation:
            events = events.filter(pgh_label=filters.operation)
        if filters.person is not None:
            events = events.filter(pgh_context__metadata__user=filters.person.pk)
        if filters.employer_id is not None:
            if source.employer_field is None:
                continue
            events = events.filter(**{source.employer_field: filters.employer_id})
        if filters.date_from:
            events = events.filter(pgh_created_at__date__gte=filters.date_from)
        if filters.date_to:
            events = events.filter(pgh_created_at__date__lte=filters.date_to)
        yield source, event_model, events


def audit_search(*, actor, filters: AuditFilters, limit: int = 300) -> list[Entry]:
    """Who changed what, when and from where, over the actor's subtrees and departments (as an
    admin). A region outside them gives nothing, not an error."""
    entries: list[Entry] = []
    for source, event_model, events in _audit_events(actor, filters):
        entries += _entries(source, event_model, list(events.order_by("-pgh_created_at", "-pgh_id")[:limit]))
    entries.sort(key=lambda e: e.when, reverse=True)
    return entries[:limit]


def audit_count(*, actor, filters: AuditFilters, limit: int) -> int:
    """How many entries `audit_search` with this limit gives (counted, not read)."""
    return min(limit, sum(events[:limit].count() for _source, _model, events in _audit_events(actor, filters)))
