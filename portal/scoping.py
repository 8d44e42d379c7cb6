"""The one place that decides what a user may see and do.

A user's scope for a capability is the union of the subtrees of the memberships whose
(department, role) grants that capability in `CAPABILITIES`. Every selector, the DRF filter
backend, the view mixin and the form fields filter through `Scope`; nothing else in the code
base decides visibility.

Every view declares its access (`@requires(...)`, `@public`, `@login_only`, or a class attribute
`scope_access`); `ScopeDeclarationMiddleware` refuses undeclared views for everyone but
superusers, so a new endpoint cannot leak by being forgotten.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from functools import reduce
from operator import or_

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db import models
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _
from rest_framework import filters, permissions

from portal.models import Department, Membership, Region, RegionLevel, Role


class Capability(StrEnum):
    LEDGER_VIEW = "ledger.view"
    LEDGER_EDIT = "ledger.edit"
    LEDGER_REVIEW = "ledger.review"
    WORKER_IDENTITY = "ledger.worker_identity"  # sees workers' ID numbers unmasked
    DASHBOARD_VIEW = "targets.view"
    TARGETS_EDIT = "targets.edit"
    FIGURES_REPORT = "targets.report"  # enters and submits figures the ledger does not hold
    FIGURES_REVIEW = "targets.review"  # approves or returns them (from a level above)
    INSPECTION_VIEW = "inspections.view"
    INSPECTION_FILL = "inspections.fill"
    INSPECTION_MANAGE = "inspections.manage"
    PERIODS_MANAGE = "ledger.periods"
    INSURANCE_VIEW = "insurance.view"
    INSURANCE_EDIT = "insurance.edit"
    USERS_MANAGE = "portal.users"
    REGIONS_MANAGE = "portal.regions"
    PATIENT_VIEW = "patients.view"  # the whole patient file (health)
    PATIENT_EDIT = "patients.edit"  # files, follow-ups, moves, rehab stations (county health staff)
    PATIENT_IDENTITY = "patients.identity"  # patients' ID numbers unmasked
    PATIENT_RELIEF = "patients.relief"  # a department's relief work on the patients of its categories
    PATIENT_ACCESS_LOG = "patients.access_log"  # who read which patient file


C = Capability
_READ = {C.LEDGER_VIEW, C.DASHBOARD_VIEW}
_OTHER_DEPARTMENT = {
    Role.CLERK: _READ,
    Role.REVIEWER: _READ,
    Role.VIEWER: _READ,
    Role.INSPECTOR: _READ | {C.INSPECTION_VIEW, C.INSPECTION_FILL},
    Role.ADMIN: _READ | {C.USERS_MANAGE},
}
_HEALTH_PATIENTS = {C.PATIENT_VIEW}

# What each department may do in its scope, per role. The health commission owns the ledger,
# HRSS reads it and owns insurance coverage, the other departments read.
CAPABILITIES: dict[tuple[str, str], frozenset[Capability]] = {
    (Department.HEALTH, Role.CLERK): frozenset(
        _READ | _HEALTH_PATIENTS
        | {C.LEDGER_EDIT, C.WORKER_IDENTITY, C.INSPECTION_VIEW, C.INSURANCE_VIEW, C.PATIENT_EDIT, C.PATIENT_IDENTITY,
           C.FIGURES_REPORT}
    ),
    (Department.HEALTH, Role.REVIEWER): frozenset(
        _READ | _HEALTH_PATIENTS | {C.LEDGER_REVIEW, C.INSPECTION_VIEW, C.INSURANCE_VIEW, C.FIGURES_REVIEW}),
    (Department.HEALTH, Role.VIEWER): frozenset(_READ | _HEALTH_PATIENTS | {C.INSPECTION_VIEW, C.INSURANCE_VIEW}),
    (Department.HEALTH, Role.INSPECTOR): frozenset(_READ | {C.INSPECTION_VIEW, C.INSPECTION_FILL}),
    (Department.HEALTH, Role.ADMIN): frozenset(
        _READ | _HEALTH_PATIENTS
        | {C.TARGETS_EDIT, C.PERIODS_MANAGE, C.INSPECTION_VIEW, C.INSPECTION_MANAGE, C.INSURANCE_VIEW,
           C.USERS_MANAGE, C.REGIONS_MANAGE, C.PATIENT_ACCESS_LOG}
    ),
    (Department.HRSS, Role.CLERK): frozenset(_READ | {C.INSURANCE_VIEW, C.INSURANCE_EDIT, C.WORKER_IDENTITY}),
    (Department.HRSS, Role.REVIEWER): frozenset(_READ | {C.INSURANCE_VIEW}),
    (Department.HRSS, Role.VIEWER): frozenset(_READ | {C.INSURANCE_VIEW}),
    (Department.HRSS, Role.INSPECTOR): frozenset(_READ | {C.INSURANCE_VIEW, C.INSPECTION_VIEW, C.INSPECTION_FILL}),
    (Department.HRSS, Role.ADMIN): frozenset(_READ | {C.INSURANCE_VIEW, C.INSURANCE_EDIT, C.USERS_MANAGE}),
    **{
        (department, role): frozenset(capabilities)
        for department in Department
        if department not in (Department.HEALTH, Department.HRSS)
        for role, capabilities in _OTHER_DEPARTMENT.items()
    },
}
# The departments that act on patients (seed 001 二、2): their clerks and admins record, every
# role of theirs reads, the patients of their relief categories only (RELIEF_DUTIES).
for _department in (Department.HRSS, Department.MEDICAL_INSURANCE, Department.CIVIL_AFFAIRS, Department.JUSTICE,
                    Department.TRADE_UNION):
    for _role in (Role.CLERK, Role.REVIEWER, Role.VIEWER, Role.ADMIN):
        CAPABILITIES[(_department, _role)] = CAPABILITIES[(_department, _role)] | {C.PATIENT_RELIEF}


@dataclass(frozen=True)
class ReliefDuty:
    """What one department does for patients (seed 001 二、2): the relief categories it serves
    (patients.models.ReliefCategory values) and the measures it records. It sees of a patient
    only the relief part of the file (name, masked ID, township, diagnosis, category)."""

    categories: frozenset[str]
    kinds: tuple[str, ...]
    record_roles: frozenset[str] = frozenset({Role.CLERK, Role.ADMIN})


RELIEF_DUTIES: dict[str, ReliefDuty] = {
    # (a) insured: injury-insurance benefits; (b) employer still there: the employer pays (HRSS
    # handles the claim).
    Department.HRSS: ReliefDuty(frozenset({"a", "b"}), ("insurance_benefit", "employer_paid")),
    # (c) employer gone and (d) not proven occupational: medical aid and subsidised insurance.
    Department.MEDICAL_INSURANCE: ReliefDuty(frozenset({"c", "d"}), ("medical_aid",)),
    # Basic-living support for (c) and (d).
    Department.CIVIL_AFFAIRS: ReliefDuty(frozenset({"c", "d"}), ("basic_living",)),
    # Legal aid for occupational patients who have to claim from an employer or its successor.
    Department.JUSTICE: ReliefDuty(frozenset({"b", "c"}), ("legal_aid",)),
    # The trade union's hardship assistance for (c) and (d).
    Department.TRADE_UNION: ReliefDuty(frozenset({"c", "d"}), ("union_assistance",)),
}

# A granting admin may hand out roles up to their own rank, never above.
ROLE_RANK = {Role.VIEWER: 1, Role.CLERK: 2, Role.INSPECTOR: 2, Role.REVIEWER: 3, Role.ADMIN: 4}


@dataclass(frozen=True)
class ScopeRegion:
    id: int
    level: int
    path: str


@dataclass(frozen=True)
class Scope:
    """The regions (whole subtrees) where a user holds one capability."""

    regions: tuple[ScopeRegion, ...] = ()
    unrestricted: bool = False  # superusers

    @classmethod
    def of(cls, regions: list[ScopeRegion]) -> Scope:
        # A region inside another one adds nothing to the union: drop it to keep filters short.
        kept: list[ScopeRegion] = []
        for region in sorted(regions, key=lambda r: (len(r.path), r.path)):
            if not any(region.path.startswith(outer.path) for outer in kept):
                kept.append(region)
        return cls(tuple(kept))

    def __bool__(self) -> bool:
        return self.unrestricted or bool(self.regions)

    def contains(self, region: Region | None) -> bool:
        if region is None:
            return self.unrestricted
        return self.unrestricted or any(region.path.startswith(r.path) for r in self.regions)

    def contains_from_level(self, region: Region, max_level: int) -> bool:
        """Whether a scope region at `max_level` or above (province 1, city 2…) covers `region`:
        a city reviewer approves a county, a county reviewer does not."""
        return self.unrestricted or any(
            region.path.startswith(r.path) and r.level <= max_level for r in self.regions
        )

    def q_path(self, path_lookup: str) -> models.Q:
        if self.unrestricted:
            return models.Q()
        if not self.regions:
            return models.Q(pk__in=[])
        return reduce(or_, (models.Q(**{f"{path_lookup}__startswith": r.path}) for r in self.regions))

    def q_levels(self, level_fields: dict[int, str]) -> models.Q:
        """For rows carrying denormalized province/city/county(/township) keys: one indexed
        equality per scope region instead of a join to the region tree."""
        if self.unrestricted:
            return models.Q()
        if not self.regions:
            return models.Q(pk__in=[])
        # A membership above the model's highest denormalized level (the national root) sees
        # the rows of the top-level regions under it; one below its deepest level sees none.
        top = min(level_fields)
        clauses = []
        for r in self.regions:
            if r.level in level_fields:
                clauses.append(models.Q(**{f"{level_fields[r.level]}_id": r.id}))
            elif r.level < top:
                # The ids themselves, not a subquery: PostgreSQL cannot tell how many rows a
                # subquery's regions hold, guessed a few hundred for the whole country, and sorted
                # every employer for a national viewer's first page instead of reading an index.
                clauses.append(models.Q(**{f"{level_fields[top]}_id__in": list(Region.objects.filter(
                    level=top, path__startswith=r.path).values_list("id", flat=True))}))
        return reduce(or_, clauses) if clauses else models.Q(pk__in=[])

    def filter(self, queryset: models.QuerySet | models.Manager) -> models.QuerySet:
        """Filter any scoped model's queryset, or its manager for every row (`X.objects`, so
        no unscoped `objects.all()` is written): the model declares either `SCOPE_LEVEL_FIELDS`
        (denormalized region keys by level) or `SCOPE_REGION_PATH` (a lookup reaching a region's path)."""
        model = queryset.model
        if level_fields := getattr(model, "SCOPE_LEVEL_FIELDS", None):
            return queryset.filter(self.q_levels(level_fields))
        if path_lookup := getattr(model, "SCOPE_REGION_PATH", None):
            return queryset.filter(self.q_path(path_lookup))
        raise TypeError(f"{model.__name__} declares neither SCOPE_LEVEL_FIELDS nor SCOPE_REGION_PATH")

    def region_queryset(self, max_level: int | None = None) -> models.QuerySet[Region]:
        regions = self.filter(Region.objects)
        return regions.filter(level__lte=max_level) if max_level else regions

    def top_regions(self) -> models.QuerySet[Region]:
        if self.unrestricted:
            return Region.objects.filter(level=RegionLevel.NATIONAL)
        return Region.objects.filter(pk__in=[r.id for r in self.regions])


Region.SCOPE_REGION_PATH = "path"
Membership.SCOPE_REGION_PATH = "region__path"


def capabilities_of(department: str, role: str) -> frozenset[Capability]:
    return CAPABILITIES.get((department, role), frozenset())


def _memberships(user) -> list[tuple[str, str, ScopeRegion]]:
    cached = getattr(user, "_scope_memberships", None)
    if cached is None:
        cached = [
            (department, role, ScopeRegion(region_id, level, path))
            for department, role, region_id, level, path in Membership.objects.filter(user=user).values_list(
                "department", "role", "region_id", "region__level", "region__path"
            )
        ]
        user._scope_memberships = cached
    return cached


def remember_memberships(user, memberships) -> None:
    """A page that has loaded the user's memberships (with their regions) hands them to the
    scope cache, so computing scopes costs no second query."""
    user._scope_memberships = [
        (m.department, m.role, ScopeRegion(m.region_id, m.region.level, m.region.path)) for m in memberships
    ]


def scope_for(user, capability: Capability) -> Scope:
    if not user.is_authenticated or not user.is_active:
        return Scope()
    if user.is_superuser:
        return Scope(unrestricted=True)
    return Scope.of(
        [region for department, role, region in _memberships(user) if capability in capabilities_of(department, role)]
    )


def user_capabilities(user) -> set[Capability]:
    if not user.is_authenticated:
        return set()
    if user.is_superuser:
        return set(Capability)
    return {cap for department, role, _region in _memberships(user) for cap in capabilities_of(department, role)}


def has_capability(user, capability: Capability, region: Region | None = None) -> bool:
    scope = scope_for(user, capability)
    return scope.contains(region) if region is not None else bool(scope)


def forget_cached_scope(user) -> None:
    user.__dict__.pop("_scope_memberships", None)


def region_choices(user, capability: Capability, max_level: int | None = None) -> models.QuerySet[Region]:
    """Regions a form may offer: only what the user's scope for this capability covers."""
    return scope_for(user, capability).region_queryset(max_level=max_level)


def holders_of(capability: Capability, region: Region) -> models.QuerySet:
    """Active users holding `capability` through a membership inside `region`'s subtree: whom a
    picker may offer for a post that needs it. The (department, role) pairs come from
    CAPABILITIES, so a department whose role loses the capability leaves every picker with it."""
    from portal.models import User

    posts = [models.Q(department=department, role=role)
             for (department, role), capabilities in CAPABILITIES.items() if capability in capabilities]
    if not posts:
        return User.objects.none()
    memberships = Membership.objects.filter(reduce(or_, posts), region__path__startswith=region.path)
    return User.objects.filter(is_active=True, pk__in=memberships.values("user_id"))


class ScopedRegionField:
    """Mixin for forms: `limit_region_fields(user, capability, "region", ...)` in __init__."""

    def limit_region_fields(self, user, capability: Capability, *names: str, max_level: int | None = None,
                            level: int | None = None) -> None:
        """`level` keeps one level only (counties). A required field left with a single region
        (a county clerk's own county) shows it fixed instead of asking the user to pick it."""
        for name in names:
            field = self.fields[name]
            regions = region_choices(user, capability, max_level=max_level)
            if level is not None:
                regions = regions.filter(level=level)
            field.queryset = regions
            only = list(regions[:2]) if field.required else []
            if len(only) == 1:
                field.initial, field.disabled, field.empty_label = only[0].pk, True, None


# ---- View declarations -------------------------------------------------------------------


@dataclass(frozen=True)
class Access:
    """How a view is scoped: public, any signed-in user, or a capability (and, for unsafe
    methods, optionally another one)."""

    capability: Capability | None = None
    write_capability: Capability | None = None
    public: bool = False
    extra: dict = field(default_factory=dict, compare=False)

    def capability_for(self, method: str) -> Capability | None:
        if method not in ("GET", "HEAD", "OPTIONS") and self.write_capability:
            return self.write_capability
        return self.capability


PUBLIC = Access(public=True)
LOGIN_ONLY = Access()


def requires(capability: Capability, write: Capability | None = None):
    def mark(view):
        view.scope_access = Access(capability=capability, write_capability=write)
        return view

    return mark


def public(view):
    view.scope_access = PUBLIC
    return view


def login_only(view):
    view.scope_access = LOGIN_ONLY
    return view


# URL namespaces whose views guard themselves (Django's admin checks is_staff on every view).
SELF_GUARDED_NAMESPACES = {"admin"}


def access_of(view_func) -> Access | None:
    for holder in (view_func, getattr(view_func, "view_class", None), getattr(view_func, "cls", None)):
        if holder is not None and isinstance(getattr(holder, "scope_access", None), Access):
            return holder.scope_access
    return None


def forbidden(request, message: str | None = None):
    return render(
        request,
        "portal/forbidden.html",
        {"message": message or _("您没有访问此页面的权限。如需开通，请联系本级管理员。")},
        status=403,
    )


def found_or_404(lookup, message: str, /, **kwargs):
    """What a scoped selector's `lookup(**kwargs)` finds. A row outside the user's scope answers
    404 with `message`, exactly as a missing one does, so the answer does not tell it exists."""
    try:
        return lookup(**kwargs)
    except ObjectDoesNotExist:
        raise Http404(message) from None


class ScopeDeclarationMiddleware:
    """Deny by default: a view without an access declaration answers 403 (superusers pass)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if match and SELF_GUARDED_NAMESPACES.intersection(match.namespaces):
            return None
        access = access_of(view_func)
        user = request.user
        if access is None:
            return None if user.is_superuser else forbidden(request, _("该页面尚未声明访问范围，已拒绝访问。"))
        if access.public:
            return None
        if hasattr(view_func, "cls"):
            # DRF authenticates on its own; ScopePermission enforces the declaration there.
            return None
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        capability = access.capability_for(request.method)
        if capability is None:
            return None
        scope = scope_for(user, capability)
        if not scope:
            return forbidden(request)
        request.scope = scope
        return None


class ScopedViewMixin:
    """For class-based HTML views: declares the access and hands the scope to the view."""

    scope_access: Access

    @property
    def scope(self) -> Scope:
        capability = self.scope_access.capability_for(self.request.method)
        return scope_for(self.request.user, capability)

    def scoped(self, queryset: models.QuerySet) -> models.QuerySet:
        return self.scope.filter(queryset)


class ScopePermission(permissions.BasePermission):
    """DRF side of the declaration: the view's `scope_access` capability for the method."""

    message = _("您没有执行此操作的权限。")

    def has_permission(self, request, view) -> bool:
        access = getattr(view, "scope_access", None)
        if not isinstance(access, Access):
            return bool(request.user and request.user.is_superuser)
        if access.public:
            return True
        capability = access.capability_for(request.method)
        if capability is None:
            return request.user.is_authenticated
        return bool(scope_for(request.user, capability))


class ScopeFilterBackend(filters.BaseFilterBackend):
    """The one DRF filter backend: every list and detail lookup is cut to the user's scope."""

    def filter_queryset(self, request, queryset, view):
        access = getattr(view, "scope_access", None)
        if not isinstance(access, Access) or access.public:
            return queryset
        capability = access.capability_for(request.method)
        if capability is None:
            return queryset
        return scope_for(request.user, capability).filter(queryset)


def require_in_scope(user, capability: Capability, region: Region) -> None:
    """For services: refuse (PermissionDenied, Chinese message) an act outside the scope."""
    if not scope_for(user, capability).contains(region):
        raise PermissionDenied(_("“%(region)s”不在您的管辖范围内，操作被拒绝。") % {"region": region.name})


# ---- Relief work on patients: region × department duty --------------------------------------


@dataclass(frozen=True)
class ReliefGrant:
    department: str
    region: ScopeRegion
    duty: ReliefDuty
    may_record: bool


def relief_grants(user) -> list[ReliefGrant]:
    """The (department, region) pairs where a user does relief work, from RELIEF_DUTIES."""
    if not user.is_authenticated or not user.is_active:
        return []
    return [
        ReliefGrant(department, region, RELIEF_DUTIES[department], role in RELIEF_DUTIES[department].record_roles)
        for department, role, region in _memberships(user)
        if department in RELIEF_DUTIES and C.PATIENT_RELIEF in capabilities_of(department, role)
    ]


def relief_q(user, *, category_lookup: str = "relief_category", level_fields: dict[int, str],
             department: str | None = None, recording: bool = False) -> models.Q:
    """Rows of patients a user's departments serve: each grant's subtree AND its categories."""
    if user.is_superuser:
        return models.Q()
    clauses = [
        Scope.of([grant.region]).q_levels(level_fields) & models.Q(**{f"{category_lookup}__in": grant.duty.categories})
        for grant in relief_grants(user)
        if (department is None or grant.department == department) and (grant.may_record or not recording)
    ]
    return reduce(or_, clauses) if clauses else models.Q(pk__in=[])
