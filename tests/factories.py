"""One-line users at any level: `make_user("371502", role="clerk")`."""

import itertools

from portal.models import Department, Membership, Region, Role, User

PASSWORD = "test-pass-2026"
_serial = itertools.count(1)


def region(code: str) -> Region:
    return Region.objects.get(code=code)


def make_user(*memberships: str | tuple, department: str = Department.HEALTH, role: str = Role.CLERK,
              username: str | None = None, display_name: str = "测试用户", **extra) -> User:
    """Each membership is a region code (with the default department and role) or a tuple
    (code, department, role)."""
    user = User.objects.create_user(
        username=username or f"user{next(_serial)}", password=PASSWORD, display_name=display_name, **extra
    )
    for spec in memberships:
        code, dept, rl = (spec, department, role) if isinstance(spec, str) else spec
        Membership.objects.create(user=user, region=region(code), department=dept, role=rl)
    return user
