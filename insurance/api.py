"""DRF endpoints for work-injury insurance coverage, scoped through portal.scoping.ScopeFilterBackend.

Writes go through insurance.services (permission, rules, audit); Django ValidationError → 400
with Chinese messages, PermissionDenied → 403 (portal.api.ServiceErrorsMixin)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import mixins, serializers, viewsets
from rest_framework.routers import DefaultRouter

from insurance import selectors, services
from insurance.models import ExpansionPlan, FollowUp, InsuranceCoverage, PlanYear
from ledger.industries import KeyIndustryGroup
from ledger.models import Employer, EmployerRecord, ReportingPeriod
from portal.api import ServiceErrorsMixin
from portal.api_contract import ScopedPrimaryKeyField, ScopedRegionCodeField, ValueRulesSerializerMixin
from portal.forms import REGISTERED_ELSEWHERE
from portal.params import scoped_region_param
from portal.scoping import Access, Capability, scope_for

router = DefaultRouter()
router.include_root_view = False

VIEW_EDIT = Access(capability=Capability.INSURANCE_VIEW, write_capability=Capability.INSURANCE_EDIT)


def _period(code: str | None) -> ReportingPeriod:
    periods = ReportingPeriod.objects.order_by("-year", "-half")
    return get_object_or_404(periods, code=code) if code else get_object_or_404(periods[:1])


@extend_schema_serializer(examples=[OpenApiExample(
    "录入参保人数", request_only=True,
    value={"uscc": "91371502004242429P", "period": "2020H1", "insured_workers": 12, "as_of": "2020-06-30"})])
class CoverageSerializer(ValueRulesSerializerMixin, serializers.ModelSerializer):
    # Read: null for an employer that has only its old registration number. Write: the code to match.
    uscc = serializers.CharField(source="employer.uscc", max_length=18, allow_null=True,
                                 help_text="统一社会信用代码；仅有旧工商注册号的单位读出为 null")
    employer_name = serializers.CharField(source="employer.name", read_only=True)
    period = serializers.SlugRelatedField(slug_field="code", queryset=ReportingPeriod.objects.all())
    county = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = InsuranceCoverage
        fields = ["id", "uscc", "employer_name", "county", "period", "insured_workers", "as_of", "source"]
        read_only_fields = ["id", "source"]
        past_date_fields = ["as_of"]


class CoverageViewSet(ServiceErrorsMixin, mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """HRSS counts of insured workers per employer and period; POST enters or corrects one."""

    scope_access = VIEW_EDIT
    serializer_class = CoverageSerializer
    queryset = InsuranceCoverage.objects.select_related("employer", "county", "period").order_by("pk")
    filterset_fields = {"period__code": ["exact"], "county__code": ["exact"]}

    def perform_create(self, serializer):
        data = serializer.validated_data
        code = (data["employer"]["uscc"] or "").strip().upper()
        employer = Employer.objects.select_related("county").filter(uscc=code).first() if code else None
        if employer is None:
            raise serializers.ValidationError({"uscc": ["台帐中没有该统一社会信用代码的单位。"]})
        if not scope_for(self.request.user, Capability.INSURANCE_EDIT).contains(employer.county):
            # Not yours answers like does-not-exist (400), without naming the holder.
            raise serializers.ValidationError({"uscc": [str(REGISTERED_ELSEWHERE)]})
        serializer.instance = services.coverage_save(
            actor=self.request.user, employer=employer, period=data["period"],
            insured_workers=data["insured_workers"], as_of=data["as_of"])


class PlanYearSerializer(ValueRulesSerializerMixin, serializers.ModelSerializer):
    class Meta:
        model = PlanYear
        fields = ["year", "insured_workers", "coverage_rate"]
        read_only_fields = ["year"]


class PlanSerializer(ValueRulesSerializerMixin, serializers.ModelSerializer):
    region = ScopedRegionCodeField(capability=Capability.INSURANCE_EDIT)
    years = PlanYearSerializer(many=True)

    class Meta:
        model = ExpansionPlan
        fields = ["id", "region", "title", "start_year", "years"]
        read_only_fields = ["id"]

    def validate_years(self, value):
        if len(value) != 3:
            raise serializers.ValidationError("三年计划需要填写连续三年的目标。")
        return value


class PlanViewSet(ServiceErrorsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                  viewsets.GenericViewSet):
    """扩面专项行动三年计划 with yearly targets; POST creates or replaces a region's plan."""

    scope_access = VIEW_EDIT
    serializer_class = PlanSerializer
    queryset = ExpansionPlan.objects.select_related("region").prefetch_related("years").order_by("pk")

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.plan_save(
            actor=self.request.user, region=data["region"], title=data["title"], start_year=data["start_year"],
            targets=[(y["insured_workers"], y["coverage_rate"]) for y in data["years"]])


class WorkListRowSerializer(serializers.ModelSerializer):
    employer_id = serializers.IntegerField(read_only=True)
    employer_name = serializers.CharField(source="employer.name")
    uscc = serializers.CharField(source="employer.uscc", allow_null=True,
                                 help_text="统一社会信用代码；仅有旧工商注册号的单位为 null")
    county = serializers.CharField(source="county.code")
    key_group = serializers.ChoiceField(source="employer.key_group", choices=KeyIndustryGroup.choices,
                                        allow_blank=True, help_text="重点行业类别；空字符串表示非重点行业")
    hrss_insured = serializers.IntegerField(source="hrss", allow_null=True)
    insured = serializers.IntegerField()
    uninsured = serializers.IntegerField()
    last_action = serializers.CharField(allow_null=True, help_text="最近跟进措施：contacted 已联系、enrolled 已参保、refused 拒绝参保、referred 移交执法")
    last_action_on = serializers.DateField(allow_null=True)

    class Meta:
        model = EmployerRecord
        fields = ["employer_id", "employer_name", "uscc", "county", "key_group", "total_workers", "insured_workers",
                  "hrss_insured", "insured", "uninsured", "last_action", "last_action_on"]


class WorkListViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Key-industry employers with uninsured workers, most uninsured first."""

    scope_access = Access(capability=Capability.INSURANCE_VIEW)
    serializer_class = WorkListRowSerializer
    queryset = EmployerRecord.objects.none()
    filter_backends: list = []  # the selector applies the scope itself

    def get_queryset(self):
        params = self.request.query_params
        region = scoped_region_param(scope_for(self.request.user, Capability.INSURANCE_VIEW), "region", params)
        return selectors.work_list(actor=self.request.user, period=_period(params.get("period")),
                                   filters=selectors.WorkListFilters(region=region,
                                                                     key_group=params.get("key_group", "")))

    @extend_schema(parameters=[
        OpenApiParameter("period", str, description="填报期代码，如 2020H1（默认最近一期）"),
        OpenApiParameter("region", str, description="区划代码"),
        OpenApiParameter("key_group", str, description="重点行业类别：coal、non_coal_mining、metallurgy、building_materials"),
    ])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)


@extend_schema_serializer(examples=[OpenApiExample(
    "记录已联系单位", request_only=True,
    value={"employer": 1, "period": "2020H1", "action": "contacted", "acted_on": "2020-06-30",
           "note": "已电话联系单位负责人"})])
class FollowUpSerializer(ValueRulesSerializerMixin, serializers.ModelSerializer):
    employer = ScopedPrimaryKeyField(capability=Capability.INSURANCE_EDIT, queryset=Employer.objects.all())
    period = serializers.SlugRelatedField(slug_field="code", queryset=ReportingPeriod.objects.all())

    class Meta:
        model = FollowUp
        fields = ["id", "employer", "period", "action", "acted_on", "enrolled", "note", "created_at"]
        read_only_fields = ["id", "created_at"]
        past_date_fields = ["acted_on"]


class FollowUpViewSet(ServiceErrorsMixin, mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Follow-up actions on the work list; "enrolled" raises the HRSS coverage count."""

    scope_access = VIEW_EDIT
    serializer_class = FollowUpSerializer
    queryset = FollowUp.objects.select_related("period").order_by("-acted_on", "-pk")
    filterset_fields = {"employer": ["exact"], "period__code": ["exact"]}

    def perform_create(self, serializer):
        serializer.instance = services.follow_up_create(actor=self.request.user, **serializer.validated_data)


router.register("coverage", CoverageViewSet, basename="insurance-coverage")
router.register("plans", PlanViewSet, basename="insurance-plan")
router.register("work-list", WorkListViewSet, basename="insurance-work-list")
router.register("follow-ups", FollowUpViewSet, basename="insurance-follow-up")
