"""Every writable related field of the API is cut to the user's scope.

Generated from the API itself: drf-spectacular's schema generator lists every endpoint of the URL
configuration (every router's viewsets and actions); for each operation we take the serializers
it reads and answers (the viewset's, an action's `serializer_class`, an `extend_schema(request=…,
responses=…)`), instantiate them and walk their fields (nested serializers and lists included).
A writable `PrimaryKeyRelatedField`, `SlugRelatedField`, `ManyRelatedField`… whose rows hold some
county's data must be a `portal.api_contract.ScopedRelatedField` (ScopedPrimaryKeyField,
ScopedSlugRelatedField, ScopedRegionCodeField): otherwise another region's id or code answers
differently from a missing one (a service's 403 naming its region) or is written. Reference data
that every user reads (`SHARED_MODELS`) may be taken unscoped. A new serializer is checked
without anyone writing a test for it.
"""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.settings import spectacular_settings
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from portal.api_contract import ScopedRelatedField
from portal.models import Region
from tests.security.isolation import SHARED_MODELS, scoped_model

# Fields deliberately taking any row of the country, with the reason. Keep it short.
NATIONWIDE = {
    "patients.api.PatientMoveSerializer.county": "a patient moves to any county of the country; the move's service "
                                                 "checks that the user holds the file being moved",
    "patients.api.PatientMoveSerializer.township": "a township of that destination county",
}


def _serializers_of(found, view):
    """The serializer instances an operation names (classes instantiated as the view would)."""
    if found is None:
        return
    if isinstance(found, dict):
        for value in found.values():
            yield from _serializers_of(value, view)
    elif isinstance(found, list | tuple):
        for value in found:
            yield from _serializers_of(value, view)
    elif isinstance(found, OpenApiResponse):
        yield from _serializers_of(found.response, view)
    elif isinstance(found, type) and issubclass(found, serializers.BaseSerializer):
        yield found(context={"request": view.request, "view": view})
    elif isinstance(found, serializers.BaseSerializer):
        yield found


def api_serializers() -> list[tuple[str, serializers.BaseSerializer]]:
    """(operation, serializer) for every request and response serializer of every API operation."""
    generator = SchemaGenerator()
    generator._initialise_endpoints()
    found = []
    for path, path_regex, method, view in generator._get_paths_and_endpoints():
        view.request = spectacular_settings.GET_MOCK_REQUEST(method, path, view, None)
        schema = view.schema
        schema.path, schema.path_regex, schema.method = path, path_regex, method.upper()
        for named in (schema.get_request_serializer(), schema.get_response_serializers()):
            found += [(f"{method} {path}", serializer) for serializer in _serializers_of(named, view)]
    return found


def related_fields(serializer):
    """(qualified name, field, writable) of each related field, writable nested serializers included."""
    if isinstance(serializer, serializers.ListSerializer):
        serializer = serializer.child
    owner = f"{type(serializer).__module__}.{type(serializer).__qualname__}"
    for name, field in serializer.fields.items():
        child = getattr(field, "child", None)
        if isinstance(field, serializers.BaseSerializer):
            if not field.read_only:
                yield from related_fields(field)
        elif isinstance(child, serializers.BaseSerializer):
            if not field.read_only:
                yield from related_fields(child)
        elif isinstance(field, serializers.ManyRelatedField):
            yield f"{owner}.{name}", field.child_relation, not field.read_only
        elif isinstance(field, serializers.RelatedField):
            yield f"{owner}.{name}", field, not field.read_only


def unscoped(serializer) -> dict[str, str]:
    """The writable related fields of a serializer taking rows of a model that holds a county's
    data without being cut to the user's scope: qualified name → model."""
    problems = {}
    for name, field, writable in related_fields(serializer):
        queryset = getattr(field, "queryset", None)
        if not writable or queryset is None or isinstance(field, ScopedRelatedField) or name in NATIONWIDE:
            continue
        model = queryset.model
        if model._meta.label not in SHARED_MODELS and scoped_model(model):
            problems[name] = model._meta.label
    return problems


@pytest.fixture(scope="module")
def operations():
    return api_serializers()


def test_every_writable_related_field_of_the_api_is_scoped(operations):
    problems = {}
    for operation, serializer in operations:
        for name, model in unscoped(serializer).items():
            problems.setdefault(f"{name} ({model})", []).append(operation)
    assert not problems, (
        "Writable related fields of the API taking any row of the country (use "
        "portal.api_contract.ScopedPrimaryKeyField / ScopedSlugRelatedField / ScopedRegionCodeField):\n"
        + "\n".join(f"  {field}: {', '.join(sorted(set(ops)))}" for field, ops in sorted(problems.items())))


def test_the_walk_reaches_every_kind_of_serializer(operations):
    """The walk is not vacuous: it reaches a viewset's serializer, an action's request serializer
    and a nested list, and sees the scoped, the shared and the nationwide fields."""
    writable = {name: field for _op, serializer in operations
                for name, field, is_writable in related_fields(serializer) if is_writable}
    assert isinstance(writable["insurance.api.FollowUpSerializer.employer"], ScopedRelatedField)
    assert isinstance(writable["targets.api.TargetSerializer.campaign"], ScopedRelatedField)
    assert isinstance(writable["ledger.serializers.SubmissionOpenSerializer.county"], ScopedRelatedField)
    assert writable["insurance.api.CoverageSerializer.period"].queryset.model._meta.label in SHARED_MODELS
    assert set(NATIONWIDE) <= set(writable), "an exemption names a field the API no longer has: remove it"
    nested = {type(s.child if isinstance(s, serializers.ListSerializer) else s).__name__ for _op, s in operations}
    assert {"InspAnswerSyncRequestSerializer", "PatientMoveSerializer", "WorkerSerializer"} <= nested


def test_an_unscoped_region_or_id_field_is_caught():
    class Plan(serializers.Serializer):
        region = serializers.SlugRelatedField(slug_field="code", queryset=Region.objects.all())
        regions = serializers.PrimaryKeyRelatedField(queryset=Region.objects.all(), many=True)
        shown = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Outer(serializers.Serializer):
        plans = Plan(many=True)

    name = f"{__name__}.{Plan.__qualname__}"
    assert unscoped(Outer()) == {f"{name}.region": "portal.Region", f"{name}.regions": "portal.Region"}
