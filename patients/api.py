"""DRF endpoints of the patient files, scoped through portal.scoping.ScopeFilterBackend (and, for
the relief departments, RELIEF_DUTIES). Writes go through patients.services; their errors map as
in portal.api.ServiceErrorsMixin (400 Chinese messages, 403, 409 for a stale `version`).

ID numbers are masked in lists; a single file shows the whole number only to roles that need it
(PATIENT_IDENTITY), and every file read through the API is logged like a page view."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from ledger.api import ERRORS
from ledger.models import DustType
from patients import selectors, services
from patients.models import LEVEL_FIELDS, AccessKind, FollowUp, Patient, RehabSite, ReliefAction
from portal.api import ServiceErrorsMixin
from portal.api_contract import ScopedPrimaryKeyField, ScopedRegionCodeField, ValueRulesSerializerMixin
from portal.models import Department, Region, RegionLevel
from portal.scoping import Access, Capability, relief_grants, relief_q

router = DefaultRouter()
router.include_root_view = False
C = Capability


def _region_field(level: int, **kwargs):
    """Where a file or a site is kept: a region of the user's editing scope."""
    return ScopedRegionCodeField(capability=C.PATIENT_EDIT, level=level, **kwargs)


def _destination_field(level: int, **kwargs):
    """Where a patient moves to: any county of the country (and a township of it), not only the
    user's; the move's service checks the user holds the file."""
    return serializers.SlugRelatedField(slug_field="code", queryset=Region.objects.filter(level=level), **kwargs)


class PatientSerializer(ValueRulesSerializerMixin, serializers.ModelSerializer):
    id_number = serializers.CharField(max_length=18, help_text="居民身份证号；列表中脱敏，单个档案仅对有权角色显示完整号码")
    county = _region_field(RegionLevel.COUNTY, help_text="现住址所在县级区划代码，如 371502")
    township = _region_field(RegionLevel.TOWNSHIP, required=False, allow_null=True)
    dust_type = serializers.SlugRelatedField(slug_field="name", queryset=DustType.objects.all(), required=False,
                                             allow_null=True)
    relief_reason = serializers.CharField(read_only=True)
    version = serializers.IntegerField(required=False, help_text="修改时带回读取时的版本号；他人已先保存则返回 409")

    class Meta:
        model = Patient
        fields = ["id", "name", "id_number", "sex", "birth_date", "phone", "county", "township", "village", "address",
                  "employer_name", "employer_uscc", "employer_gone", "exposure_years", "dust_type", "diagnosis_kind",
                  "disease", "stage", "diagnosed_on", "diagnosis_institution", "certificate_number", "injury_insured",
                  "injury_recognized", "disability_grade", "status", "died_on", "death_cause", "rehab_filed_on",
                  "relief_category", "relief_reason", "last_followup_on", "next_followup_due", "version"]
        read_only_fields = ["relief_category", "last_followup_on", "next_followup_due"]
        extra_kwargs = {"sex": {"required": False}, "birth_date": {"required": False},
                        "stage": {"required": False, "allow_null": True}}

    def to_representation(self, patient):
        data = super().to_representation(patient)
        if not self.context.get("unmasked"):
            data["id_number"] = selectors.masked(patient.id_number)
        return data


class PatientMoveSerializer(ValueRulesSerializerMixin, serializers.Serializer):
    """The HTML move form's fields (patients.forms.MoveForm), for patients.services.patient_move."""

    county = _destination_field(RegionLevel.COUNTY, help_text="迁入县级区划代码，如 371521；可为其他省市的县")
    township = _destination_field(RegionLevel.TOWNSHIP, required=False, allow_null=True, default=None,
                             help_text="迁入乡镇级区划代码（须属于迁入县）")
    village = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    address = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    moved_on = serializers.DateField(help_text="迁移日期")
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    class Meta:
        past_date_fields = ["moved_on"]


class PatientViewSet(ServiceErrorsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                     mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """一人一档. Health staff read the files of their regions, county clerks write them."""

    scope_access = Access(capability=C.PATIENT_VIEW, write_capability=C.PATIENT_EDIT)
    serializer_class = PatientSerializer
    queryset = Patient.objects.select_related("county", "township", "employer", "dust_type").order_by("pk")
    filterset_fields = {"county__code": ["exact"], "township__code": ["exact"], "status": ["exact"],
                        "relief_category": ["exact"], "stage": ["exact"]}
    http_method_names = ["get", "post", "patch", "head", "options"]

    def retrieve(self, request, *args, **kwargs):
        patient = self.get_object()
        unmasked = selectors.may_see_identity(request.user, patient.county)
        services.access_log(user=request.user, patients=[patient],
                            kind=AccessKind.IDENTITY if unmasked else AccessKind.API)
        return Response(self.get_serializer(patient, context={**self.get_serializer_context(),
                                                              "unmasked": unmasked}).data)

    def _data(self, validated: dict) -> dict:
        data = {k: v for k, v in validated.items() if k != "version"}
        data["employer"] = None
        return data

    def perform_create(self, serializer):
        serializer.instance = services.patient_create(actor=self.request.user, data=self._data(serializer.validated_data))

    def perform_update(self, serializer):
        serializer.instance = services.patient_update(
            actor=self.request.user, patient=serializer.instance, data=self._data(serializer.validated_data),
            expected_version=serializer.validated_data.get("version"))

    @extend_schema(summary="迁移档案（患者迁居到另一县）：档案、随访和救治救助记录随迁，迁移记录保留",
                   request=PatientMoveSerializer, responses={200: PatientSerializer, **ERRORS})
    @action(detail=True, methods=["post"], serializer_class=PatientMoveSerializer)
    def move(self, request, pk=None):
        patient = self.get_object()  # 404 outside the user's editing scope, before the body is read
        serializer = PatientMoveSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        patient = services.patient_move(actor=request.user, patient=patient, **serializer.validated_data)
        return Response(PatientSerializer(patient, context=self.get_serializer_context()).data)


def _relief_patients(*, actor, capability):
    return Patient.objects.filter(relief_q(actor, level_fields=LEVEL_FIELDS))


class ScopedPatientField(ScopedPrimaryKeyField):
    """A patient id among the files the user may see (health scope, or the relief departments'
    categories): another county's id reads as nonexistent, never as forbidden."""

    default_error_messages = {**ScopedPrimaryKeyField.default_error_messages,
                              "does_not_exist": "患者 {pk_value} 不存在或不在您的管辖范围内。"}

    def __init__(self, *, relief: bool = False, **kwargs):
        kwargs.setdefault("queryset", Patient.objects)
        super().__init__(capability=C.PATIENT_RELIEF if relief else C.PATIENT_VIEW,
                         within=_relief_patients if relief else None, **kwargs)


class PatientFollowUpSerializer(ValueRulesSerializerMixin, serializers.ModelSerializer):
    patient = ScopedPatientField()

    class Meta:
        model = FollowUp
        fields = ["id", "patient", "followed_on", "way", "health_status", "fev1_percent", "fvc_percent", "oxygen_use",
                  "rehab_received", "rehab_note", "note", "created_at"]
        read_only_fields = ["id", "created_at"]


class PatientFollowUpViewSet(ServiceErrorsMixin, mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """随访 records; POST records one (the patient's next due date follows)."""

    scope_access = Access(capability=C.PATIENT_VIEW, write_capability=C.PATIENT_EDIT)
    serializer_class = PatientFollowUpSerializer
    queryset = FollowUp.objects.order_by("-followed_on", "-pk")
    filterset_fields = {"patient": ["exact"], "county__code": ["exact"]}

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        patient = data.pop("patient")
        serializer.instance = services.followup_record(actor=self.request.user, patient=patient, data=data)


class ReliefActionSerializer(ValueRulesSerializerMixin, serializers.ModelSerializer):
    patient = ScopedPatientField(relief=True)
    department = serializers.ChoiceField(choices=Department.choices)

    class Meta:
        model = ReliefAction
        fields = ["id", "patient", "department", "kind", "acted_on", "reference", "amount", "note", "created_at"]
        read_only_fields = ["id", "created_at"]


class ReliefActionViewSet(ServiceErrorsMixin, mixins.ListModelMixin, mixins.CreateModelMixin,
                          viewsets.GenericViewSet):
    """What the relief departments did, for the patients of their categories in their regions."""

    scope_access = Access(capability=C.PATIENT_RELIEF)
    serializer_class = ReliefActionSerializer
    queryset = ReliefAction.objects.order_by("-acted_on", "-pk")
    filterset_fields = {"patient": ["exact"], "department": ["exact"]}

    def get_queryset(self):
        user = self.request.user
        own = relief_q(user, category_lookup="patient__relief_category", level_fields=LEVEL_FIELDS)
        if user.is_superuser:
            return super().get_queryset()
        return super().get_queryset().filter(own, department__in={g.department for g in relief_grants(user)})

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        patient, department = data.pop("patient"), data.pop("department")
        try:
            selectors.relief_patient_get(actor=self.request.user, pk=patient.pk, department=department)
        except Patient.DoesNotExist:
            raise DjangoPermissionDenied("该患者不在本部门负责的救治救助类别或管辖范围内。") from None
        serializer.instance = services.relief_record(actor=self.request.user, patient=patient,
                                                     department=department, data=data)


class RehabSiteSerializer(ValueRulesSerializerMixin, serializers.ModelSerializer):
    county = _region_field(RegionLevel.COUNTY, help_text="所在县级区划代码，如 371502")
    township = _region_field(RegionLevel.TOWNSHIP, help_text="所在乡镇级区划代码（须属于所在县）")
    missing = serializers.SerializerMethodField()

    class Meta:
        model = RehabSite
        fields = ["id", "kind", "name", "county", "township", "village", "host_institution", "rooms", "equipment",
                  "drugs_stocked", "opened_on", "patients_served", "missing"]
        past_date_fields = ["opened_on"]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_missing(self, site) -> list[str]:
        return site.missing()


@extend_schema_view(
    create=extend_schema(summary="登记康复站（点）", responses={201: RehabSiteSerializer, **ERRORS}),
    partial_update=extend_schema(summary="修改康复站（点）", responses={200: RehabSiteSerializer, **ERRORS}),
)
class RehabSiteViewSet(ServiceErrorsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                       mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """Rehab stations (乡镇/街道) and points (村居) with their rooms and equipment; written through
    the service the HTML form uses (patients.services.rehab_site_save)."""

    scope_access = Access(capability=C.PATIENT_VIEW, write_capability=C.PATIENT_EDIT)
    serializer_class = RehabSiteSerializer
    queryset = RehabSite.objects.select_related("county", "township").order_by("pk")
    filterset_fields = {"county__code": ["exact"], "kind": ["exact"]}
    http_method_names = ["get", "post", "patch", "head", "options"]

    def perform_create(self, serializer):
        serializer.instance = services.rehab_site_save(actor=self.request.user, data=dict(serializer.validated_data))

    def perform_update(self, serializer):
        site = serializer.instance
        data = {**{f: getattr(site, f) for f in services.SITE_FIELDS}, **serializer.validated_data}
        serializer.instance = services.rehab_site_save(actor=self.request.user, data=data, site=site)


router.register("files", PatientViewSet, basename="patient")
router.register("follow-ups", PatientFollowUpViewSet, basename="patient-follow-up")
router.register("relief-actions", ReliefActionViewSet, basename="patient-relief-action")
router.register("rehab-sites", RehabSiteViewSet, basename="patient-rehab-site")
