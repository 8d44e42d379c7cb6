"""The isolation matrix's check for unfiltered querysets (tests/security/isolation.py) covers every
model of every app of the portal and catches a planted `objects.all()`."""

import pytest
from django import forms
from django.shortcuts import render
from django.test import Client
from django.urls import include, path

from patients.models import Patient, RehabSite
from portal.scoping import login_only
from tests.factories import make_user
from tests.security.isolation import SHARED_MODELS, Contexts, project_models, scoped_model, unfiltered
from worklist.models import Liaison, Notification


def test_every_model_of_every_app_holds_scoped_rows_or_is_named_shared_reference_data():
    models = project_models()
    labels = {model._meta.label for model in models}
    assert {"patients", "worklist", "ledger", "insurance", "targets", "inspections", "portal"} <= {
        model._meta.app_label for model in models}
    assert set(SHARED_MODELS) <= labels, "a shared model named that no longer exists"
    shared = sorted(model._meta.label for model in models if not scoped_model(model))
    assert shared == sorted(SHARED_MODELS)
    # Models reaching a county's or user's rows only through a foreign key count as scoped.
    assert scoped_model(RehabSite) and scoped_model(Notification) and scoped_model(Liaison)


class PlantedForm(forms.Form):
    patient = forms.ModelChoiceField(queryset=Patient.objects.all())
    site = forms.ModelChoiceField(queryset=RehabSite.objects.filter(county__code="371502"))


@login_only
def planted(request):
    return render(request, "portal/forbidden.html", {
        "notifications": Notification.objects.all(), "form": PlantedForm(),
        "own": Notification.objects.filter(user=request.user), "sites": RehabSite.objects.all()})


urlpatterns = [path("planted/", planted), path("", include("portal.urls"))]


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_a_planted_unfiltered_queryset_in_a_context_or_a_form_is_caught():
    client = Client()
    client.force_login(make_user("371502"))
    with Contexts() as contexts:
        assert client.get("/planted/").status_code == 200
    problems = contexts.unfiltered("GET /planted/")
    assert sorted({p.split(": ", 1)[1] for p in problems}) == [
        "form is PlantedForm.patient (Patient).all()", "notifications is Notification.all()",
        "sites is RehabSite.all()"]
    assert unfiltered(Notification.objects.filter(user_id=1)) is None
