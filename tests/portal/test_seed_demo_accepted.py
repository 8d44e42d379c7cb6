"""The demo data is data the portal itself accepts: a seeded employer, half-year record, patient
file or follow-up, submitted back unchanged through its form, passes the form and the service's
checks. (The seed used to write records with points over the limit but no test date: 14.8 % of
them could not be saved again without the clerk changing something.)"""

import random

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from ledger import services as ledger_services
from ledger.forms import EmployerForm, RecordForm
from ledger.models import Employer, EmployerRecord
from patients import services as patient_services
from patients.forms import FollowUpForm, PatientForm
from patients.models import FollowUp, Patient
from portal.models import User
from tests.factories import as_submitted

pytestmark = pytest.mark.django_db

SAMPLE = 300


def refusal(form_class, service, *, initial_form, **form_kwargs):
    """The errors of submitting `initial_form` back unchanged, or None if it would be saved."""
    bound = form_class(as_submitted(initial_form), **form_kwargs)
    if not bound.is_valid():
        return dict(bound.errors)
    try:
        service({k: v for k, v in bound.cleaned_data.items() if k != "version"})
    except ValidationError as exc:
        return exc.message_dict
    return None


def sample(queryset, rng: random.Random) -> list:
    ids = sorted(queryset.values_list("pk", flat=True))
    return list(queryset.filter(pk__in=rng.sample(ids, min(SAMPLE, len(ids)))).order_by("pk"))


@pytest.mark.timeout(900)  # a demo seeding takes a minute or two alone; a loaded shared machine needs room
def test_seeded_data_is_saved_again_unchanged():
    call_command("seed_demo", employers=300, verbosity=0)
    # A national health clerk may edit the ledger and the patient files of every seed province.
    clerk = User.objects.get(username="national_health_clerk")
    rng = random.Random(17)
    refused = {}

    records = sample(EmployerRecord.objects.select_related("period", "county"), rng)
    assert len(records) == SAMPLE
    for record in records:
        exposures = {x.dust_type: x.exposed_workers for x in record.exposures.all()}

        def save(data, record=record, exposures=exposures):
            ledger_services.clean_record_data(record, data)
            ledger_services.check_exposures(record, exposures)

        if problem := refusal(RecordForm, save, initial_form=RecordForm(instance=record), instance=record):
            refused[f"record {record.pk}"] = problem

    for employer in sample(Employer.objects.all(), rng):
        if problem := refusal(
            EmployerForm, lambda data, employer=employer: ledger_services.clean_employer_data(
                data, instance=employer, actor=clerk),
            initial_form=EmployerForm(instance=employer, actor=clerk), instance=employer, actor=clerk,
        ):
            refused[f"employer {employer.pk}"] = problem

    linked = Patient.objects.filter(employer__isnull=False)
    assert linked.exists()
    for patient in sample(Patient.objects.select_related("dust_type", "county", "township", "employer"), rng):
        # As the edit page fills its form (patients.views._initial); the view passes no `employer`:
        # the service finds it again, and a file linked to a ledger employer must stay linked to it.
        initial = {f: getattr(patient, f) for f in patient_services.PATIENT_FIELDS if f != "employer"}
        initial["version"] = patient.version

        def save(data, patient=patient):
            cleaned = patient_services.clean_patient_data(clerk, data | {"employer": None}, instance=patient)
            if cleaned["employer"] != patient.employer:
                raise ValidationError({"employer": [f"ledger link {patient.employer_id} -> {cleaned['employer']}"]})

        if problem := refusal(PatientForm, save, initial_form=PatientForm(initial=initial, actor=clerk), actor=clerk):
            refused[f"patient {patient.pk}"] = problem

    for followup in sample(FollowUp.objects.select_related("patient"), rng):
        initial = {f: getattr(followup, f) for f in patient_services.FOLLOWUP_FIELDS}
        if problem := refusal(FollowUpForm, lambda data, followup=followup: patient_services.clean_followup_data(
                followup.patient, data), initial_form=FollowUpForm(initial=initial)):
            refused[f"follow-up {followup.pk}"] = problem

    assert refused == {}, f"{len(refused)} refused, e.g. {list(refused.items())[:5]}"
