"""Pagination: the API's page numbers (DRF), and the pages of long HTML lists.

A province's or the nation's list holds hundreds of thousands of rows: `list_page` walks it by
keyset (the next page starts after the last row's order key and primary key, an index seek, so
page 2,000 costs what page 2 costs; OFFSET reads and drops every row before it) and counts at
most `PNEUMO_LIST_COUNT_CAP` rows unless the caller knows the exact total (a "未落实" list takes
it from the rollup)."""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.db.models.constants import LOOKUP_SEP
from rest_framework.pagination import PageNumberPagination

from portal.params import parse_id


class PortalPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


@dataclass
class ListPage:
    rows: list
    number: int  # for the reader: "第 n 页"
    per_page: int
    total: int | None  # None: more than `cap` rows
    cap: int
    next_query: str | None  # the query string of the next page, None on the last
    previous_query: str | None

    def __iter__(self):
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def num_pages(self) -> int | None:
        return None if self.total is None else max(1, math.ceil(self.total / self.per_page))


def _field(model, lookup: str):
    field = None
    for name in lookup.split(LOOKUP_SEP):
        field = model._meta.pk if name == "pk" else model._meta.get_field(name)
        model = field.related_model or model
    return field


def _encode(values: list) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode().rstrip("=")


def _decode(token: str, fields: list) -> list | None:
    """The cursor's values as the fields' Python values; None for a malformed cursor (the list
    starts again at page 1 rather than answering 500)."""
    try:
        values = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not isinstance(values, list) or len(values) != len(fields) or parse_id(values[-1]) is None:
            return None
        return [None if v is None else field.to_python(v) for v, field in zip(values, fields, strict=True)]
    except (ValueError, TypeError, ValidationError):
        return None


def _beyond(lookup: str, field, value, *, greater: bool) -> Q:
    """Rows whose `lookup` comes after `value` in ascending order (greater) or before it, with
    NULL as PostgreSQL sorts it: after every value. A redundant >=/<= bound is added so that an
    index on the key is entered at the cursor rather than read from its start."""
    if value is None:
        return Q(**{f"{lookup}__isnull": False}) if not greater else Q(pk__in=[])
    strict = Q(**{f"{lookup}__{'gt' if greater else 'lt'}": value})
    if greater and field.null:
        return strict | Q(**{f"{lookup}__isnull": True})
    return strict


def _equal(lookup: str, value) -> Q:
    return Q(**{f"{lookup}__isnull": True}) if value is None else Q(**{lookup: value})


def _bound(lookup: str, field, value, *, greater: bool) -> Q:
    if value is None or field.null:
        return Q()
    return Q(**{f"{lookup}__{'gte' if greater else 'lte'}": value})


def list_page(request, queryset: QuerySet, *, order: tuple[str, str], per_page: int,
              total: int | None = None) -> ListPage:
    """One page of `queryset` in `order` (a key, then "pk"), from the request's `after`/`before`
    cursor, else its `page` number (read with OFFSET, up to the count cap), else page 1.
    `total`, when the caller knows it exactly, is shown as it is; otherwise the rows are counted
    up to the cap."""
    cap = settings.PNEUMO_LIST_COUNT_CAP
    key, tiebreak = order
    lookup = key.lstrip("-")
    descending = key.startswith("-")
    fields = [_field(queryset.model, lookup), _field(queryset.model, tiebreak)]
    params = request.GET.copy()
    for name in ("after", "before"):
        params.pop(name, None)
    try:
        number = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        number = 1
    cursor, forward = None, True
    if token := request.GET.get("after") or request.GET.get("before"):
        cursor = _decode(token, fields)
        forward = "after" in request.GET
    if cursor is None and request.GET.get("after", request.GET.get("before")) is not None:
        number = 1
    if cursor is not None:
        value, pk = cursor
        # Walking forward in a descending key means towards smaller values, and vice versa.
        greater = forward != descending
        condition = (_beyond(lookup, fields[0], value, greater=greater)
                     | (_equal(lookup, value) & Q(**{f"{tiebreak}__{'gt' if forward else 'lt'}": pk})))
        walk = queryset.filter(_bound(lookup, fields[0], value, greater=greater) & condition)
        if not forward:
            walk = walk.reverse()
        rows = list(walk[:per_page + 1])
        more = len(rows) > per_page
        rows = rows[:per_page] if forward else rows[:per_page][::-1]
        has_next, has_previous = (more, True) if forward else (True, more)
        number = 1 if not has_previous else max(number, 2)
    else:
        offset = min((number - 1) * per_page, max(0, cap - per_page))
        number = offset // per_page + 1
        rows = list(queryset[offset:offset + per_page + 1])
        has_next, has_previous = len(rows) > per_page, number > 1
        rows = rows[:per_page]
    if total is None:
        counted = queryset.order_by()[:cap + 1].count()
        total = counted if counted <= cap else None

    def link(row, direction: str, page_number: int) -> str:
        query = params.copy()
        query["page"] = str(page_number)
        query[direction] = _encode([_value(row, lookup), _value(row, tiebreak)])
        return query.urlencode()

    if not has_previous:
        previous = None
    elif number == 2 or not rows:
        previous = _first(params)  # page 1 has one address
    else:
        previous = link(rows[0], "before", number - 1)
    return ListPage(rows=rows, number=number, per_page=per_page, total=total, cap=cap,
                    next_query=link(rows[-1], "after", number + 1) if has_next and rows else None,
                    previous_query=previous)


def _first(params) -> str:
    query = params.copy()
    query.pop("page", None)
    return query.urlencode()


def _value(row, lookup: str):
    for name in lookup.split(LOOKUP_SEP):
        row = getattr(row, name)
    return row
