"""Approving, accepting or returning several counties at once."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from ledger import services
from ledger.models import CountySubmission, SubmissionStatus
from portal.models import Region, Role
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def _submission(period, code, status=SubmissionStatus.SUBMITTED):
    county = Region.objects.get(code=code)
    return CountySubmission.objects.create(period=period, county=county, city_id=county.parent_id,
                                           province_id=county.parent.parent_id, status=status)


def audit_actions(submission):
    import pghistory.models

    return list(pghistory.models.Events.objects.filter(
        pgh_model="ledger.CountySubmissionEvent", pgh_obj_id=str(submission.pk)).values_list(
        "pgh_context__action", flat=True))


def test_bulk_approve_records_each_county(current_period):
    a, b = _submission(current_period, "371502"), _submission(current_period, "371521")
    done = services.submissions_bulk_review(actor=make_user("3715", role=Role.REVIEWER), period=current_period,
                                            submission_ids=[a.pk, b.pk], action="approve")
    assert {s.status for s in done} == {SubmissionStatus.APPROVED}
    assert "submission_approve" in audit_actions(a) and "submission_approve" in audit_actions(b)


def test_a_county_outside_the_city_is_named_and_nothing_is_done(current_period):
    inside, outside = _submission(current_period, "371502"), _submission(current_period, "370102")
    with pytest.raises(PermissionDenied) as excinfo:
        services.submissions_bulk_review(actor=make_user("3715", role=Role.REVIEWER), period=current_period,
                                         submission_ids=[inside.pk, outside.pk], action="approve")
    assert outside.county.name in str(excinfo.value)
    inside.refresh_from_db()
    assert inside.status == SubmissionStatus.SUBMITTED


def test_one_county_in_the_wrong_state_stops_the_whole_batch(current_period):
    a, b = _submission(current_period, "371502"), _submission(current_period, "371521", SubmissionStatus.DRAFT)
    with pytest.raises(ValidationError) as excinfo:
        services.submissions_bulk_review(actor=make_user("3715", role=Role.REVIEWER), period=current_period,
                                         submission_ids=[a.pk, b.pk], action="approve")
    assert b.county.name in " ".join(excinfo.value.messages)
    a.refresh_from_db()
    assert a.status == SubmissionStatus.SUBMITTED


def test_a_bulk_return_needs_a_reason_and_the_province_accepts(current_period):
    a = _submission(current_period, "371502", SubmissionStatus.APPROVED)
    province = make_user("37", role=Role.REVIEWER)
    with pytest.raises(ValidationError):
        services.submissions_bulk_review(actor=province, period=current_period, submission_ids=[a.pk],
                                         action="return", reason=" ")
    city = make_user("3715", role=Role.REVIEWER)
    with pytest.raises(PermissionDenied):
        services.submissions_bulk_review(actor=city, period=current_period, submission_ids=[a.pk], action="accept")
    services.submissions_bulk_review(actor=province, period=current_period, submission_ids=[a.pk], action="accept")
    a.refresh_from_db()
    assert a.status == SubmissionStatus.ACCEPTED


def test_the_review_page_lists_the_queue_and_approves_the_ticked_counties(client, current_period):
    a, b = _submission(current_period, "371502"), _submission(current_period, "371521")
    _submission(current_period, "370102")  # another city's
    client.force_login(make_user("3715", role=Role.REVIEWER))
    body = client.get(reverse("worklist:review"), {"period": current_period.code}).content.decode()
    assert "东昌府区" in body and "历下区" not in body
    assert 'data-testid="bulk-approve"' in body and 'data-testid="bulk-accept"' not in body  # the city does not accept
    response = client.post(reverse("worklist:review"), {"period": current_period.code, "action": "approve",
                                                        "submission": [a.pk, b.pk]}, follow=True)
    assert "已审核通过 2 个县" in response.content.decode()
    assert set(CountySubmission.objects.filter(pk__in=[a.pk, b.pk]).values_list("status", flat=True)) == {"approved"}
