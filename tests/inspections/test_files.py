"""Stored files (photos, signatures, rectification evidence) leave the portal only through views
that apply the owning object's scope; MEDIA_ROOT has no URL of its own."""

import datetime as dt
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from inspections import services
from inspections.models import Finding, Photo
from portal.models import Department, Role
from tests.factories import make_user
from tests.inspections.factories import PNG, SIGNATURE, fill_all, make_world

pytestmark = pytest.mark.django_db


def client_of(user):
    client = Client()
    client.force_login(user)
    return client


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def upload_photo(w, assignment, **meta):
    item = assignment.checklist_version.items().filter(answer_type="photo").first()
    return services.photo_upload(actor=w.member, assignment=assignment, item_id=item.pk, client_uuid=uuid.uuid4(),
                                 upload=SimpleUploadedFile("p.png", PNG, content_type="image/png"), **meta)


def test_a_photo_is_served_only_to_those_who_may_read_its_inspection():
    w = make_world()
    photo = upload_photo(w, w.unannounced)
    url = f"/inspections/photos/{photo.client_uuid}"
    stranger = make_user(("21", Department.HEALTH, Role.ADMIN), username="ln_admin")

    response = client_of(w.member).get(url)
    assert response.status_code == 200 and body(response) == PNG
    assert response["Content-Type"] == "image/png" and response["X-Content-Type-Options"] == "nosniff"
    assert client_of(w.admin).get(url).status_code == 200
    assert client_of(stranger).get(url).status_code == 404
    # The inspected county does not see an unannounced visit (nor its photos) before it is submitted.
    assert client_of(w.county_clerk).get(url).status_code == 404
    fill_all(w.unannounced, w.member)
    services.inspection_submit(actor=w.member, inspection=w.unannounced.inspection)
    assert client_of(w.county_clerk).get(url).status_code == 200
    assert Client().get(url).status_code == 302  # signed out: to the login page


def test_nothing_under_media_root_is_reachable_by_url():
    w = make_world()
    photo = upload_photo(w, w.comprehensive)
    assert photo.file.storage.exists(photo.file.name)
    for path in (f"/media/{photo.file.name}", f"/{photo.file.name}", f"/protected-media/{photo.file.name}"):
        assert client_of(w.admin).get(path).status_code == 404, path


def test_behind_a_front_server_the_view_hands_the_file_to_nginx(settings):
    settings.MEDIA_ACCEL_REDIRECT_PREFIX = "/protected-media/"
    w = make_world()
    photo = upload_photo(w, w.comprehensive)
    response = client_of(w.member).get(f"/inspections/photos/{photo.client_uuid}")
    assert response.status_code == 200 and response.content == b""
    assert response["X-Accel-Redirect"] == f"/protected-media/{photo.file.name}"
    assert response["Content-Type"] == "image/png"
    stranger = make_user(("21", Department.HEALTH, Role.ADMIN), username="ln_admin")
    denied = client_of(stranger).get(f"/inspections/photos/{photo.client_uuid}")
    assert denied.status_code == 404 and "X-Accel-Redirect" not in denied


def test_report_shows_photo_thumbnails_with_time_and_position_and_the_signature_through_views():
    w = make_world()
    taken = timezone.now() - dt.timedelta(hours=3)
    fill_all(w.comprehensive, w.member)
    item = w.comprehensive.checklist_version.items().filter(answer_type="photo").first()
    photo = Photo.objects.get(inspection=w.comprehensive.inspection, item=item)
    Photo.objects.filter(pk=photo.pk).update(taken_at=taken, latitude="36.456789", longitude="115.985432",
                                             accuracy_m=12)
    services.inspection_submit(actor=w.member, inspection=w.comprehensive.inspection)
    services.inspection_sign(actor=w.leader, inspection=w.comprehensive.inspection, signature=SIGNATURE)
    page = client_of(w.leader).get(f"/inspections/reports/{w.comprehensive.inspection.pk}/").content.decode()
    assert f'src="/inspections/photos/{photo.client_uuid}"' in page and 'class="report-thumb"' in page
    assert timezone.localtime(taken).strftime("%Y-%m-%d %H:%M") in page
    assert "36.45679, 115.98543" in page and "±12" in page
    assert "/media/" not in page and "data:image" not in page
    signature_url = f"/inspections/reports/{w.comprehensive.inspection.pk}/signature.png"
    assert signature_url in page
    response = client_of(w.county_clerk).get(signature_url)
    assert response.status_code == 200 and response.content == PNG and response["Content-Type"] == "image/png"
    stranger = make_user(("21", Department.HEALTH, Role.ADMIN), username="ln_admin")
    assert client_of(stranger).get(signature_url).status_code == 404


def test_photo_upload_keeps_when_and_where_it_was_taken_and_refuses_nonsense():
    from django.core.exceptions import ValidationError
    from rest_framework.test import APIClient

    w = make_world()
    item = w.comprehensive.checklist_version.items().filter(answer_type="photo").first()
    api = APIClient()
    api.force_login(w.member)
    taken = (timezone.now() - dt.timedelta(minutes=30)).isoformat()
    response = api.post(f"/api/inspections/assignments/{w.comprehensive.pk}/photos/", {
        "client_uuid": str(uuid.uuid4()), "item": item.pk, "taken_at": taken, "latitude": "36.4567891",
        "longitude": "115.9854", "accuracy": "15.4",
        "file": SimpleUploadedFile("p.png", PNG, content_type="image/png")})
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["url"] == f"/inspections/photos/{data['client_uuid']}"
    photo = Photo.objects.get(client_uuid=data["client_uuid"])
    assert photo.taken_at is not None and str(photo.latitude) == "36.456789" and photo.accuracy_m == 15
    with pytest.raises(ValidationError, match="拍摄时间晚于当前时间"):
        upload_photo(w, w.comprehensive, taken_at=(timezone.now() + dt.timedelta(days=1)).isoformat())
    with pytest.raises(ValidationError, match="拍摄位置无效"):
        upload_photo(w, w.comprehensive, latitude="95", longitude="10")
    assert Photo.objects.count() == 1  # nothing half-written


def test_rectification_evidence_is_as_visible_as_its_finding():
    w = make_world()
    no_item = w.comprehensive.checklist_version.items().filter(no_is_finding=True).first()
    fill_all(w.comprehensive, w.member, value_for={no_item.number: "no"})
    services.inspection_submit(actor=w.member, inspection=w.comprehensive.inspection)
    finding = Finding.objects.get(inspection=w.comprehensive.inspection, item=no_item)
    services.finding_rectify(actor=w.county_clerk, finding=finding, note="已整改",
                             upload=SimpleUploadedFile("e.png", PNG, content_type="image/png"))
    evidence = finding.evidence.get()
    url = f"/inspections/findings/{finding.pk}/evidence/{evidence.pk}"
    page = client_of(w.county_clerk).get(f"/inspections/findings/{finding.pk}/").content.decode()
    assert url in page and "/media/" not in page
    response = client_of(w.county_clerk).get(url)
    assert response.status_code == 200 and body(response) == PNG
    stranger = make_user(("21", Department.HEALTH, Role.ADMIN), username="ln_admin")
    assert client_of(stranger).get(url).status_code == 404
    other_finding_url = f"/inspections/findings/{finding.pk + 1000}/evidence/{evidence.pk}"
    assert client_of(w.county_clerk).get(other_finding_url).status_code == 404
