"""DRF endpoints of the ledger, scoped through portal.scoping.ScopeFilterBackend.

Thin, as ARCHITECTURE.md asks: a serializer parses the JSON (codes → rows), a service of
`ledger.services` does the write (permission, rules, audit, rollup hand-off), a serializer renders.

Errors reach a client through `portal.api.ServiceErrorsMixin` (400/403/409, see there).
"""

from __future__ import annotations

import django_filters
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from ledger import services
from ledger.models import CountySubmission, Employer, EmployerRecord, ReportingPeriod, Worker
from ledger.serializers import (
    ConflictSerializer,
    EmployerSerializer,
    ErrorSerializer,
    PeriodSerializer,
    RecordSerializer,
    SubmissionOpenSerializer,
    SubmissionReturnSerializer,
    SubmissionSerializer,
    WorkerSerializer,
)
from ledger.validation import mask_id_number
from portal.api import ServiceErrorsMixin
from portal.scoping import Access, Capability, Scope, require_in_scope, scope_for

router = DefaultRouter()
router.include_root_view = False

C = Capability
VIEW_EDIT = Access(capability=C.LEDGER_VIEW, write_capability=C.LEDGER_EDIT)
VIEW_REVIEW = Access(capability=C.LEDGER_VIEW, write_capability=C.LEDGER_REVIEW)

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="校验未通过：字段 → 中文消息列表，或 detail"),
    403: OpenApiResponse(ErrorSerializer, description="无权执行此操作（中文消息）"),
}
CONFLICT = {409: OpenApiResponse(ConflictSerializer, description="版本冲突：他人已先保存，本次修改未生效")}


# ---- Employers ---------------------------------------------------------------------------------


class EmployerFilter(django_filters.FilterSet):
    city = django_filters.CharFilter(field_name="city__code", label=_("市级区划代码，如 3715"))
    county = django_filters.CharFilter(field_name="county__code", label=_("县级区划代码，如 371502"))
    township = django_filters.CharFilter(field_name="township__code", label=_("乡镇级区划代码，如 371502001"))
    industry = django_filters.CharFilter(
        field_name="industry__code", lookup_expr="startswith",
        label=_("行业代码，按前缀匹配：30 为该大类下全部，3011 为该小类"))

    class Meta:
        model = Employer
        fields = ["city", "county", "township", "industry", "key_group", "status", "in_governance_scope"]


@extend_schema_view(
    list=extend_schema(summary="用人单位列表", description="当前用户台帐查看范围内的用人单位；search 按单位名称、统一社会信用代码或旧注册号查找。"),
    retrieve=extend_schema(summary="用人单位详情"),
    create=extend_schema(summary="登记用人单位", responses={201: EmployerSerializer, **ERRORS}),
    update=extend_schema(summary="修改用人单位（须带 version）", responses={200: EmployerSerializer, **ERRORS, **CONFLICT}),
    partial_update=extend_schema(summary="部分修改用人单位（须带 version）",
                                 responses={200: EmployerSerializer, **ERRORS, **CONFLICT}),
)
class EmployerViewSet(ServiceErrorsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                      mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """Employers with dust hazards (存在粉尘危害的用人单位)."""

    scope_access = VIEW_EDIT
    queryset = Employer.objects.select_related("province", "city", "county", "township", "industry")
    serializer_class = EmployerSerializer
    filterset_class = EmployerFilter
    search_fields = ["name", "^uscc", "^registration_number"]
    ordering_fields = ["id", "name", "uscc", "county__code", "updated_at"]
    ordering = ["name", "id"]

    def check_write(self, employer):
        require_in_scope(self.request.user, C.LEDGER_EDIT, employer.county)

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        data.pop("version", None)
        serializer.instance = services.employer_create(actor=self.request.user, data=data)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        version = data.pop("version")
        serializer.instance = services.employer_update(
            actor=self.request.user, employer=serializer.instance, data=data, expected_version=version)


# ---- Periods ---------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="填报期列表"),
    retrieve=extend_schema(summary="填报期详情"),
    create=extend_schema(summary="设立填报期（省级卫生健康管理员）", responses={201: PeriodSerializer, **ERRORS}),
)
class PeriodViewSet(ServiceErrorsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                    viewsets.GenericViewSet):
    """Half-year reporting periods (2020H1…), addressed by code. National: every ledger user
    reads them; a provincial health admin sets one up."""

    # Periods are national: ReportingPeriod has no region, so there is nothing to cut to a scope
    # and ScopeFilterBackend would raise TypeError (Scope.filter needs SCOPE_LEVEL_FIELDS or
    # SCOPE_REGION_PATH). So this viewset lists its filter backends without it. Access is still
    # declared: ScopePermission lets in users holding LEDGER_VIEW somewhere (reading) or
    # PERIODS_MANAGE (creating; period_create further requires a provincial membership).
    scope_access = Access(capability=C.LEDGER_VIEW, write_capability=C.PERIODS_MANAGE)
    queryset = ReportingPeriod.objects.order_by("-year", "-half")
    serializer_class = PeriodSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_fields = ["year", "half"]
    lookup_field = "code"
    lookup_value_regex = r"[0-9]{4}H[12]"

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.period_create(
            actor=self.request.user, year=data["year"], half=data["half"], deadline=data["deadline"])


# ---- Records ------------------------------------------------------------------------------------------


class RecordFilter(django_filters.FilterSet):
    period = django_filters.CharFilter(field_name="period__code", label=_("填报期代码，如 2020H1"))
    county = django_filters.CharFilter(field_name="county__code", label=_("县级区划代码，如 371502"))
    employer = django_filters.NumberFilter(field_name="employer", label=_("用人单位 id"))

    class Meta:
        model = EmployerRecord
        fields = ["period", "county", "employer"]


@extend_schema_view(
    list=extend_schema(summary="单位填报记录列表"),
    retrieve=extend_schema(summary="单位填报记录详情"),
    partial_update=extend_schema(
        summary="修改填报记录（须带 version）",
        description="已报送、已审核或已接收的填报期数据已锁定：返回 400，detail 为锁定说明。"
                    "exposures 若提供，则整体替换按粉尘种类的接尘人数。",
        responses={200: RecordSerializer, **ERRORS, **CONFLICT}),
)
class RecordViewSet(ServiceErrorsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """An employer's facts for one period; edited only while the county's ledger is open."""

    scope_access = VIEW_EDIT
    queryset = EmployerRecord.objects.select_related("employer", "period", "county", "updated_by").prefetch_related(
        "exposures__dust_type")
    serializer_class = RecordSerializer
    filterset_class = RecordFilter
    search_fields = ["employer__name", "^employer__uscc"]
    ordering_fields = ["id", "employer__name", "updated_at"]
    ordering = ["-period__year", "-period__half", "employer__name", "id"]

    def check_write(self, record):
        services.record_check_editable(actor=self.request.user, record=record)

    def partial_update(self, request, *args, **kwargs):
        record = self.get_object()  # permission and lock first (check_write), then the body
        serializer = self.get_serializer(record, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        version = data.pop("version")
        exposures = data.pop("exposures", None)
        if exposures is not None:
            exposures = {item["dust_type"]: item["exposed_workers"] for item in exposures}
        services.record_update(actor=request.user, record=record, data=data, expected_version=version,
                               exposures=exposures)
        return Response(self.get_serializer(self.get_queryset().get(pk=record.pk)).data)


# ---- Workers --------------------------------------------------------------------------------------------


class WorkerFilter(django_filters.FilterSet):
    employer = django_filters.NumberFilter(field_name="employer", label=_("用人单位 id"))
    county = django_filters.CharFilter(field_name="employer__county__code", label=_("县级区划代码"))
    dust_type = django_filters.CharFilter(field_name="dust_type__name", label=_("粉尘名称，如 矽尘"))

    class Meta:
        model = Worker
        fields = ["employer", "county", "dust_type", "insured", "last_exam_result"]


@extend_schema_view(
    list=extend_schema(summary="接尘劳动者名册",
                       description="身份证号对无权查看身份信息的用户脱敏显示；不提供按身份证号的查找。"),
    retrieve=extend_schema(summary="接尘劳动者详情"),
    create=extend_schema(summary="登记接尘劳动者", responses={201: WorkerSerializer, **ERRORS}),
    update=extend_schema(summary="修改接尘劳动者（须带 version）", responses={200: WorkerSerializer, **ERRORS, **CONFLICT}),
    partial_update=extend_schema(summary="部分修改接尘劳动者（须带 version）",
                                 responses={200: WorkerSerializer, **ERRORS, **CONFLICT}),
    destroy=extend_schema(summary="从名册删除接尘劳动者"),
)
class WorkerViewSet(ServiceErrorsMixin, viewsets.ModelViewSet):
    """The worker roster of the employers in scope. ID numbers are personal data: masked
    (370102********123X) unless the user may see identities in the employer's county."""

    # The WORKER_IDENTITY scope is computed once per request (identity_scope) and checked against
    # the employer's county path that comes with select_related: no query per row.

    scope_access = VIEW_EDIT
    queryset = Worker.objects.select_related("employer__county", "dust_type")
    serializer_class = WorkerSerializer
    filterset_class = WorkerFilter
    # Not the ID number: searching by it would reveal masked numbers to who may not see them.
    search_fields = ["name", "post"]
    ordering_fields = ["id", "name", "updated_at", "last_exam_date"]
    ordering = ["employer_id", "name", "id"]

    @cached_property
    def identity_scope(self) -> Scope:
        return scope_for(self.request.user, C.WORKER_IDENTITY)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if getattr(self, "request", None) is not None:
            context["identity_scope"] = self.identity_scope
        return context

    def check_write(self, worker):
        require_in_scope(self.request.user, C.LEDGER_EDIT, worker.employer.county)

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        data.pop("version", None)
        employer = data.pop("employer")
        # worker_save writes every roster field as given: the model's defaults for those left out.
        defaults = {field: Worker._meta.get_field(field).get_default() for field in services.WORKER_FIELDS}
        serializer.instance = services.worker_save(actor=self.request.user, employer=employer,
                                                   data=defaults | data)

    def perform_update(self, serializer):
        worker = serializer.instance
        self.county_of_change = worker.employer.county
        submitted = dict(serializer.validated_data)
        version = submitted.pop("version")
        if submitted.get("id_number") == mask_id_number(worker.id_number):
            submitted["id_number"] = worker.id_number  # the masked number sent back unchanged
        # worker_save writes every roster field: start from the stored ones for a partial update.
        data = {field: getattr(worker, field) for field in services.WORKER_FIELDS} | submitted
        serializer.instance = services.worker_save(actor=self.request.user, employer=worker.employer, data=data,
                                                   worker=worker, expected_version=version)
        serializer.instance.employer = worker.employer

    def perform_destroy(self, instance):
        services.worker_delete(actor=self.request.user, worker=instance)

    def conflict_value(self, model, name, value):
        value = super().conflict_value(model, name, value)
        county = getattr(self, "county_of_change", None)
        if name == "id_number" and value and not self.identity_scope.contains(county):
            return mask_id_number(value)
        return value


# ---- Submissions -------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="县级报送列表"),
    retrieve=extend_schema(summary="县级报送详情"),
)
class SubmissionViewSet(ServiceErrorsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """A county's ledger for a period: the county opens and submits it, the city approves or
    returns it with a reason, the province accepts it. Submitted data is locked."""

    # Each action declares its own capability through `@action(scope_access=...)`, which DRF sets
    # on the view instance: ScopePermission checks that capability and ScopeFilterBackend looks
    # the row up in its scope, so a city reviewer finds the counties' submissions for approve and
    # return, and a county clerk asking to approve is refused (403) before any lookup. The
    # services then check the level (the city approves, the province accepts).
    scope_access = VIEW_EDIT
    queryset = CountySubmission.objects.select_related(
        "period", "province", "city", "county", "submitted_by", "reviewed_by", "accepted_by")
    serializer_class = SubmissionSerializer
    filterset_fields = {"status": ["exact"], "period__code": ["exact"], "county__code": ["exact"],
                        "city__code": ["exact"]}
    ordering_fields = ["id", "county__code", "submitted_at", "status"]
    ordering = ["-period__year", "-period__half", "county__code"]

    def _answer(self, submission: CountySubmission, status_code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=submission.pk)
        return Response(SubmissionSerializer(fresh, context=self.get_serializer_context()).data, status=status_code)

    @extend_schema(summary="开始本县某填报期的台帐", request=SubmissionOpenSerializer,
                   responses={201: SubmissionSerializer, **ERRORS})
    @action(detail=False, methods=["post"], scope_access=VIEW_EDIT, serializer_class=SubmissionOpenSerializer)
    def open(self, request):
        serializer = SubmissionOpenSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        submission = services.period_open_county(actor=request.user, **serializer.validated_data)
        return self._answer(submission, status.HTTP_201_CREATED)

    @extend_schema(summary="报送（县级）", request=None, responses={200: SubmissionSerializer, **ERRORS})
    @action(detail=True, methods=["post"], scope_access=VIEW_EDIT)
    def submit(self, request, pk=None):
        return self._answer(services.submission_submit(actor=request.user, submission=self.get_object()))

    @extend_schema(summary="退回（市级退回已报送的，省级退回已审核的），须填原因", request=SubmissionReturnSerializer,
                   responses={200: SubmissionSerializer, **ERRORS})
    @action(detail=True, methods=["post"], url_path="return", url_name="return", scope_access=VIEW_REVIEW,
            serializer_class=SubmissionReturnSerializer)
    def return_(self, request, pk=None):
        submission = self.get_object()  # 404 outside what the user sees, before the body is read
        serializer = SubmissionReturnSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._answer(services.submission_return(
            actor=request.user, submission=submission, reason=serializer.validated_data["reason"]))

    @extend_schema(summary="审核通过（市级）", request=None, responses={200: SubmissionSerializer, **ERRORS})
    @action(detail=True, methods=["post"], scope_access=VIEW_REVIEW)
    def approve(self, request, pk=None):
        return self._answer(services.submission_approve(actor=request.user, submission=self.get_object()))

    @extend_schema(summary="接收（省级）", request=None, responses={200: SubmissionSerializer, **ERRORS})
    @action(detail=True, methods=["post"], scope_access=VIEW_REVIEW)
    def accept(self, request, pk=None):
        return self._answer(services.submission_accept(actor=request.user, submission=self.get_object()))


router.register("employers", EmployerViewSet, basename="employer")
router.register("records", RecordViewSet, basename="record")
router.register("workers", WorkerViewSet, basename="worker")
router.register("periods", PeriodViewSet, basename="period")
router.register("submissions", SubmissionViewSet, basename="submission")
