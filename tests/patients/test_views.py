import datetime

import pytest
from django.urls import reverse

from patients import services
from patients.models import AccessKind, Patient, PatientAccess
from portal.models import Department, Region, Role
from tests.factories import as_submitted, make_user, signed_in
from tests.patients.conftest import COUNTY, SIBLING, patient_data

pytestmark = pytest.mark.django_db


def test_the_list_masks_id_numbers_and_shows_only_the_county(client, clerk, sibling_clerk):
    mine = services.patient_create(actor=clerk, data=patient_data())
    theirs = services.patient_create(actor=sibling_clerk, data=patient_data(SIBLING, name="赵铁柱"))
    body = signed_in(client=client, user=clerk).get(reverse("patients:list")).content.decode()
    assert mine.name in body and theirs.name not in body
    assert mine.id_number not in body and mine.id_number[:6] + "********" + mine.id_number[-4:] in body


def test_reading_a_file_and_its_full_id_is_logged_and_the_admin_reads_the_log(client, clerk):
    patient = services.patient_create(actor=clerk, data=patient_data())
    signed_in(client=client, user=clerk)
    assert patient.id_number not in client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert patient.id_number in client.get(reverse("patients:detail", args=[patient.pk]) + "?show_id=1").content.decode()
    kinds = list(PatientAccess.objects.filter(user=clerk, patient=patient).values_list("kind", flat=True))
    assert sorted(kinds) == sorted([AccessKind.FILE, AccessKind.IDENTITY])
    admin = make_user(COUNTY, role=Role.ADMIN)
    client.logout()
    body = signed_in(client=client, user=admin).get(reverse("patients:access-log")).content.decode()
    assert clerk.username in body and patient.name in body
    sibling_admin = make_user(SIBLING, role=Role.ADMIN)
    client.logout()
    assert patient.name not in signed_in(client=client, user=sibling_admin).get(reverse("patients:access-log")).content.decode()


def test_a_viewer_without_identity_rights_cannot_unmask(client, clerk):
    patient = services.patient_create(actor=clerk, data=patient_data())
    viewer = make_user(COUNTY, role=Role.VIEWER)
    body = signed_in(client=client, user=viewer).get(reverse("patients:detail", args=[patient.pk]) + "?show_id=1").content.decode()
    assert patient.id_number not in body


def test_another_countys_patient_answers_404_as_a_missing_one(client, clerk, sibling_clerk):
    patient = services.patient_create(actor=clerk, data=patient_data())
    signed_in(client=client, user=sibling_clerk)
    for name in ("patients:detail", "patients:edit", "patients:followup-create", "patients:move"):
        assert client.get(reverse(name, args=[patient.pk])).status_code == 404
        assert client.get(reverse(name, args=[999999])).status_code == 404


def test_civil_affairs_sees_only_its_categories_in_its_county(client, clerk, sibling_clerk, civil_affairs):
    gone = services.patient_create(actor=clerk, data=patient_data(employer_gone=True, name="孙大明"))
    insured = services.patient_create(actor=clerk, data=patient_data(injury_insured=True, name="钱小平"))
    elsewhere = services.patient_create(actor=sibling_clerk, data=patient_data(SIBLING, employer_gone=True,
                                                                               name="吴长江"))
    signed_in(client=client, user=civil_affairs)
    body = client.get(reverse("patients:relief")).content.decode()
    assert gone.name in body and insured.name not in body and elsewhere.name not in body
    assert client.get(reverse("patients:list")).status_code == 403
    assert client.get(reverse("patients:relief-detail", args=[insured.pk])).status_code == 404
    response = client.post(reverse("patients:relief-detail", args=[gone.pk]), {
        "department": Department.CIVIL_AFFAIRS, "kind": "basic_living", "acted_on": "2021-03-01"})
    assert response.status_code == 302
    assert gone.relief_actions.get().kind == "basic_living"


def test_the_filing_form_shows_category_c_for_a_closed_employer(client, clerk):
    data = patient_data(employer_gone=True)
    form = {k: ("" if v is None else v) for k, v in data.items() if k not in ("employer",)}
    form.update({"county": data["county"].pk, "township": data["township"].pk, "employer_gone": "on",
                 "diagnosed_on": "2015-03-01"})
    form.pop("injury_insured"), form.pop("injury_recognized")
    response = signed_in(client=client, user=clerk).post(reverse("patients:create"), form)
    assert response.status_code == 302, response.content.decode()[:2000]
    body = client.get(response["Location"]).content.decode()
    assert "用人单位已不存在" in body


def test_the_rehab_page_asks_for_a_station_once_a_township_reaches_100(client, clerk, settings):
    data = patient_data()
    for i in range(3):
        services.patient_create(actor=clerk, data=patient_data(name=f"患者{i}"))
    from patients import selectors
    selectors.TOWNSHIP_STATION_THRESHOLD, old = 3, selectors.TOWNSHIP_STATION_THRESHOLD
    try:
        body = signed_in(client=client, user=clerk).get(reverse("patients:rehab")).content.decode()
    finally:
        selectors.TOWNSHIP_STATION_THRESHOLD = old
    assert data["township"].name in body and "尚未建站" in body


def test_the_overdue_list_lists_patients_past_their_due_date(client, clerk):
    late = services.patient_create(actor=clerk, data=patient_data(name="逾期甲"))
    fresh = services.patient_create(actor=clerk, data=patient_data(name="新诊乙",
                                                                   diagnosed_on=datetime.date.today()))
    body = signed_in(client=client, user=clerk).get(reverse("patients:overdue")).content.decode()
    assert late.name in body and fresh.name not in body


@pytest.mark.parametrize("name", ["patients:list", "patients:overdue"])
def test_the_county_lists_take_a_bounded_number_of_queries(client, clerk, name, django_assert_max_num_queries):
    for index in range(35):
        services.patient_create(actor=clerk, data=patient_data(name=f"患者{index}"))
    client.force_login(clerk)
    client.get(reverse(name))
    with django_assert_max_num_queries(10):
        assert client.get(reverse(name)).status_code == 200


def _linked_files(clerk) -> list:
    """Two files linked to ledger employers that the edit form cannot find again by its USCC field: one to an
    employer registered by its old registration number (no USCC), one saved without the employer's USCC (as the
    demo seeds them)."""
    from stdnum.cn import uscc

    from ledger import services as ledger_services
    from ledger.models import Industry

    common = {"county": Region.objects.get(code=COUNTY), "workplace_address": "某村", "size": "small",
              "ownership": "private", "legal_representative": "张三", "status": "operating",
              "industry": Industry.objects.filter(level=4, code__startswith="10").first()}
    by_number = ledger_services.employer_create(actor=clerk, data={
        **common, "registration_number": "371502000012345", "name": "东昌府老石料厂"})
    body = "91371502MA3C8XY00"
    by_uscc = ledger_services.employer_create(actor=clerk, data={
        **common, "uscc": body + uscc.calc_check_digit(body), "name": "东昌府新石料厂"})
    files = []
    for employer in (by_number, by_uscc):
        patient = services.patient_create(actor=clerk, data=patient_data(employer=employer))
        Patient.objects.filter(pk=patient.pk).update(employer_uscc="")
        files.append(Patient.objects.get(pk=patient.pk))
    return files


def test_saving_a_linked_file_unchanged_keeps_its_ledger_employer(client, clerk):
    for patient in _linked_files(clerk):
        signed_in(clerk, client=client)
        url = reverse("patients:edit", args=[patient.pk])
        response = client.post(url, as_submitted(client.get(url).context["form"]))
        assert response.status_code == 302, response.context["form"].errors
        saved = Patient.objects.get(pk=patient.pk)
        assert saved.employer_id == patient.employer_id and saved.employer_name == patient.employer_name
        assert saved.employer_uscc == (patient.employer.uscc or "")  # filled in from the ledger


def test_an_api_edit_of_a_linked_file_keeps_its_ledger_employer(client, clerk):
    client.force_login(clerk)
    for patient in _linked_files(clerk):
        response = client.patch(f"/api/patients/files/{patient.pk}/", {"phone": "13900002222"},
                                content_type="application/json")
        assert response.status_code == 200, response.json()
        assert Patient.objects.get(pk=patient.pk).employer_id == patient.employer_id


def test_changing_the_employer_of_a_linked_file_unlinks_it(client, clerk):
    patient = _linked_files(clerk)[0]
    signed_in(clerk, client=client)
    url = reverse("patients:edit", args=[patient.pk])
    data = {**as_submitted(client.get(url).context["form"]), "employer_name": "另一家铸造厂"}
    assert client.post(url, data).status_code == 302
    saved = Patient.objects.get(pk=patient.pk)
    assert saved.employer_id is None and saved.employer_name == "另一家铸造厂"
