"""Parsing request parameters: a malformed value is a client error (400 or "not found"), never a
500 from the database."""

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from portal.models import Region

MAX_ID = 2**63 - 1  # bigint


def parse_id(value) -> int | None:
    """A primary key from a parameter, or None for anything that is not one (missing, text, a
    negative or out-of-range number, NUL bytes): a lookup with None finds nothing."""
    if value is None:
        return None
    text = str(value).strip()
    if not text.isascii() or not text.isdigit():
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


def param(name: str, *sources) -> str:
    """A parameter's value, stripped, from the first of `sources` (request.GET, request.POST, a
    dict) that holds it; "" when none does."""
    return next((str(source.get(name)).strip() for source in sources if source.get(name)), "")


def region_param(name: str, *sources) -> Region | None:
    """The region whose code the parameter holds (`region`, `county`, `township`); None when it is
    missing or no region has that code. The caller checks the scope."""
    code = param(name, *sources)
    return Region.objects.filter(code=code).first() if code else None


def scoped_region_param(scope, name: str, *sources) -> Region | None:
    """The region the parameter names if it lies in `scope` (a portal.scoping.Scope); None for a
    region outside it, exactly as for a code no region has: a filter on another region answers as
    a filter on a missing one (docs/ARCHITECTURE-NOTES.md, rule 21)."""
    region = region_param(name, *sources)
    return region if region is not None and scope.contains(region) else None


def export_region_param(scope, name: str, *sources) -> Region | None:
    """For an export: the region the parameter names, None without the parameter; PermissionDenied,
    with one message, for a code outside `scope` or one no region has. A list drops a filter it
    cannot use and shows it; a file of the whole scope in place of one region's would be taken for
    that region's (docs/ARCHITECTURE-NOTES.md, rule 21)."""
    if not param(name, *sources):
        return None
    region = scoped_region_param(scope, name, *sources)
    if region is None:
        raise PermissionDenied(_("该区划不在您的管辖范围内。"))
    return region


def period_param(among, *sources, default=None, name: str = "period"):
    """The reporting period whose code (2020H1, any case) the parameter holds, among `among` (a
    list of periods, or a queryset); None for an unknown code. Without the parameter: `default`
    (called when it is a function, so no query is made when a period was asked for)."""
    code = param(name, *sources).upper()
    if not code:
        return default() if callable(default) else default
    if isinstance(among, list | tuple):
        return next((p for p in among if p.code == code), None)
    return among.filter(code=code).first()
