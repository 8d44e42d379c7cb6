"""Which GB/T 4754-2017 industries the campaign calls key (重点行业) and look-back (回头看)
industries. Codes are 2017-edition prefixes: a class belongs to a group when its code starts
with one of the group's prefixes."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class KeyIndustryGroup(models.TextChoices):
    COAL = "coal", _("煤矿")
    NON_COAL_MINING = "non_coal_mining", _("非煤矿山")
    METALLURGY = "metallurgy", _("冶金")
    BUILDING_MATERIALS = "building_materials", _("建材")


class LookbackGroup(models.TextChoices):
    CERAMICS = "ceramics", _("陶瓷")
    REFRACTORIES = "refractories", _("耐火材料")
    ASBESTOS = "asbestos", _("石棉")
    STONE = "stone", _("石材加工")
    JADE = "jade", _("玉石加工")
    FURNITURE = "furniture", _("木质家具")
    VEHICLES = "vehicles", _("汽车制造（维修）")


KEY_GROUP_PREFIXES = {
    KeyIndustryGroup.COAL: ("06",),
    KeyIndustryGroup.NON_COAL_MINING: ("08", "09", "10", "12"),
    KeyIndustryGroup.METALLURGY: ("31", "32"),
    KeyIndustryGroup.BUILDING_MATERIALS: ("30",),
}

LOOKBACK_PREFIXES = {
    LookbackGroup.CERAMICS: ("307",),
    LookbackGroup.REFRACTORIES: ("3089",),
    LookbackGroup.ASBESTOS: ("1091", "3081", "3023"),
    LookbackGroup.STONE: ("3032",),
    LookbackGroup.JADE: ("2431",),
    LookbackGroup.FURNITURE: ("2110",),
    LookbackGroup.VEHICLES: ("36", "8111"),
}


def _group_of(code: str, table: dict) -> str:
    for group, prefixes in table.items():
        if code.startswith(prefixes):
            return group
    return ""


def key_group_of(code: str) -> str:
    return _group_of(code, KEY_GROUP_PREFIXES)


def lookback_group_of(code: str) -> str:
    return _group_of(code, LOOKBACK_PREFIXES)
