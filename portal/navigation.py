"""The menu, in one place: each entry names the capability that shows it."""

from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from portal.scoping import Capability, user_capabilities


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    capability: Capability | None  # None: every signed-in user with at least one membership
    icon: str = ""


NAV_ITEMS = [
    NavItem(_("首页"), "home", None, "house"),
    NavItem(_("指标看板"), "targets:dashboard", Capability.DASHBOARD_VIEW, "bar-chart-line"),
    NavItem(_("用人单位台帐"), "ledger:employers", Capability.LEDGER_VIEW, "building"),
    NavItem(_("台帐导入"), "ledger:import", Capability.LEDGER_EDIT, "file-earmark-arrow-up"),
    NavItem(_("填报与审核"), "ledger:periods", Capability.LEDGER_VIEW, "check2-square"),
    NavItem(_("报送情况"), "ledger:completeness", Capability.LEDGER_VIEW, "calendar-check"),
    NavItem(_("攻坚目标"), "targets:targets", Capability.DASHBOARD_VIEW, "bullseye"),
    NavItem(_("工伤保险"), "insurance:index", Capability.INSURANCE_VIEW, "shield-check"),
    NavItem(_("监督检查"), "inspections:index", Capability.INSPECTION_VIEW, "clipboard-check"),
    NavItem(_("尘肺病患者"), "patients:list", Capability.PATIENT_VIEW, "heart-pulse"),
    NavItem(_("救治救助"), "patients:relief", Capability.PATIENT_RELIEF, "hand-thumbs-up"),
    NavItem(_("用户与岗位"), "users", Capability.USERS_MANAGE, "people"),
    NavItem(_("审计查询"), "worklist:audit", Capability.USERS_MANAGE, "journal-text"),
    NavItem(_("行政区划"), "regions", Capability.REGIONS_MANAGE, "diagram-3"),
]


def items_for(user) -> list[dict]:
    if not user.is_authenticated:
        return []
    capabilities = user_capabilities(user)
    if not capabilities:
        return []
    return [
        {"label": item.label, "url": reverse(item.url_name), "url_name": item.url_name.split(":")[-1], "icon": item.icon}
        for item in NAV_ITEMS
        if item.capability is None or item.capability in capabilities
    ]


def navigation(request):
    user = getattr(request, "user", None)
    return {"nav_items": items_for(user) if user is not None else []}
