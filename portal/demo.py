"""Deterministic demo accounts: one login per level × department × role, from the national root
(national_health_viewer …) down to the demo province, city and county."""

import random

from django.contrib.auth.hashers import make_password
from django.db import transaction

from portal.audit import AuditAction, audit
from portal.models import NATIONAL_CODE, Department, Membership, Region, Role, User

DEMO_PASSWORD = "pneumo2026"
# Shandong, because the seed notice (聊人社字〔2020〕47号) is Liaocheng's: its counties have townships.
DEMO_REGIONS = {"national": NATIONAL_CODE, "province": "37", "city": "3715", "county": "371502"}
# A second county in the same city, so a demo shows that siblings do not see each other.
DEMO_SIBLING_COUNTY = "371521"

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉兰文辉海燕鹏飞宇"


def chinese_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def demo_username(level: str, department: str, role: str) -> str:
    return f"{level}_{department}_{role}"


@transaction.atomic
def seed_demo_users(*, seed: int) -> list[User]:
    rng = random.Random(seed)
    # Argon2 is slow by design: hash the shared demo password once, not once per account.
    password_hash = make_password(DEMO_PASSWORD)
    regions = {level: Region.objects.get(code=code) for level, code in DEMO_REGIONS.items()}
    regions["county2"] = Region.objects.get(code=DEMO_SIBLING_COUNTY)
    users = []
    with audit(None, AuditAction.SEED_DEMO_USERS):
        for level, region in regions.items():
            for department in Department:
                for role in Role:
                    name = chinese_name(rng)
                    user, _created = User.objects.get_or_create(
                        username=demo_username(level, department.value, role.value),
                        defaults={"display_name": name, "password": password_hash},
                    )
                    Membership.objects.get_or_create(user=user, region=region, department=department, role=role)
                    users.append(user)
        User.objects.get_or_create(username="sysadmin", defaults={
            "display_name": "系统管理员", "is_staff": True, "is_superuser": True, "password": password_hash})
    return users
