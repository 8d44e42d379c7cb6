"""Every read of regions, users and memberships that a view or the API uses, through
portal.scoping."""

from functools import reduce
from operator import or_

from django.db.models import F, Prefetch, Q, QuerySet, Subquery

from portal.models import Membership, Region, User
from portal.scoping import Capability, capabilities_of, scope_for


def membership_list_for(user: User) -> QuerySet[Membership]:
    return user.memberships.select_related("region").order_by("region__path", "department", "role")


def region_children(*, actor: User, capability: Capability, parent: Region | None) -> QuerySet[Region]:
    """The children of a region (or the user's top regions) that the scope covers."""
    scope = scope_for(actor, capability)
    if parent is None:
        return scope.top_regions().order_by("path")
    return scope.filter(Region.objects.filter(parent=parent)).order_by("path")


def region_with_ancestors(code: str) -> list[Region]:
    """The region with this code and its ancestors, province first, in one query (the
    ancestors are the regions whose path is a prefix of its path)."""
    own_path = Region.objects.filter(code=code).values("path")[:1]
    return list(
        Region.objects.annotate(own_path=Subquery(own_path)).filter(own_path__startswith=F("path")).order_by("level")
    )


def region_breadcrumbs(region: Region) -> list[Region]:
    return list(Region.objects.filter(code__in=region.ancestor_codes).order_by("level"))


def user_list(*, actor: User, query: str = "", region: Region | None = None) -> QuerySet[User]:
    """Users holding at least one membership inside the admin's user-management scope and of a
    department the admin manages there (a health admin does not list HRSS accounts)."""
    scope = scope_for(actor, Capability.USERS_MANAGE)
    memberships = scope.filter(Membership.objects)
    if not actor.is_superuser:
        managed = [Q(region__path__startswith=m.region.path, department=m.department)
                   for m in actor.memberships.select_related("region")
                   if Capability.USERS_MANAGE in capabilities_of(m.department, m.role)]
        memberships = memberships.filter(reduce(or_, managed)) if managed else memberships.none()
    if region is not None:
        memberships = memberships.filter(region__path__startswith=region.path)
    users = User.objects.filter(pk__in=memberships.values("user_id"))
    if query:
        users = users.filter(Q(username__icontains=query) | Q(display_name__contains=query))
    return users.prefetch_related(
        Prefetch("memberships", queryset=Membership.objects.select_related("region").order_by("region__path"))
    ).order_by("username")


def user_get(*, actor: User, pk: int) -> User:
    return user_list(actor=actor).get(pk=pk)
