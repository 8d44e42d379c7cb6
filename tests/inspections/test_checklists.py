import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError

from inspections import services
from inspections.models import ChecklistItem, ChecklistKind, ChecklistTemplate, ChecklistVersion
from inspections.reference import load_reference
from portal.models import Department, Role
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_fixture_loads_both_checklists_idempotently():
    load_reference(settings.BASE_DIR / "fixtures")
    load_reference(settings.BASE_DIR / "fixtures")
    comprehensive = ChecklistTemplate.objects.get(kind=ChecklistKind.COMPREHENSIVE)
    unannounced = ChecklistTemplate.objects.get(kind=ChecklistKind.UNANNOUNCED)
    assert comprehensive.versions.count() == 1 and unannounced.versions.count() == 1
    version = comprehensive.latest_published()
    assert [s.title for s in version.sections.all()] == [
        "强化组织领导", "粉尘危害专项治理", "尘肺病患者救治救助", "职业健康监管执法", "防治技术能力提升", "落实用人单位主体责任"]
    assert ChecklistItem.objects.filter(section__version=version, key="no_zero_penalty").exists()
    assert unannounced.latest_published().items().count() >= 12


def test_admin_copies_the_latest_version_and_edits_it_published_stays_untouched():
    load_reference(settings.BASE_DIR / "fixtures")
    admin = make_user(("22", Department.HEALTH, Role.ADMIN))
    template = ChecklistTemplate.objects.get(kind=ChecklistKind.UNANNOUNCED)
    v1 = template.latest_published()
    v2 = services.checklist_version_create(actor=admin, template=template)
    assert v2.number == 2 and not v2.published and v2.items().count() == v1.items().count()
    item = v2.items().first()
    services.checklist_item_update(actor=admin, item=item, text="新的检查内容", answer_type="yes_no_na", required=True,
                                   no_is_finding=True, default_severity="high")
    assert v1.items().first().text != "新的检查内容"
    with pytest.raises(ValidationError, match="草稿"):
        services.checklist_version_create(actor=admin, template=template)
    services.checklist_version_publish(actor=admin, version=v2)
    with pytest.raises(ValidationError, match="已发布"):
        services.checklist_item_update(actor=admin, item=v2.items().first(), text="x", answer_type="yes_no_na",
                                       required=True, no_is_finding=False, default_severity="low")


def test_only_admins_edit_checklists():
    load_reference(settings.BASE_DIR / "fixtures")
    inspector = make_user(("22", Department.HEALTH, Role.INSPECTOR))
    with pytest.raises(PermissionDenied):
        services.checklist_version_create(actor=inspector, template=ChecklistTemplate.objects.first())
    assert ChecklistVersion.objects.count() == 2
