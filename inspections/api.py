"""DRF endpoints for inspections, scoped through portal.scoping and guarded by object permissions.

Visibility is decided by `inspections.selectors` (region scope for the issuing and inspected
sides, guardian direct-FK grants for the teams, which cross the region tree), so these viewsets
replace the generic ScopeFilterBackend with the selector's queryset. Errors:
- the idempotent answer sync answers per change (`applied`/`duplicate`/`conflict`/`error`);
  HTTP 200 when all were applied or duplicates, 409 when one is stale (its `answer` is the
  server's copy), 400 when one is invalid (Chinese `detail`); valid changes are kept either way;
- a refusal of the whole request (plan closed, assignment reassigned, submitted) → 400 `detail`;
- not a member of the team → 403; an assignment the user cannot see → 404.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from inspections import selectors, services
from inspections.models import (
    Assignment,
    ChecklistKind,
    ChecklistVersion,
    Finding,
    FindingStatus,
    InspectionPlan,
)
from portal.api import ServiceErrorsMixin
from portal.api_contract import ScopedRegionCodeField, ValueRulesSerializerMixin
from portal.errors import ErrorCode
from portal.scoping import Access, Capability, require_in_scope

router = DefaultRouter()
router.include_root_view = False

C = Capability
ERRORS = {400: OpenApiResponse(description="校验未通过：detail 或 字段 → 中文消息列表"),
          403: OpenApiResponse(description="无权执行此操作（中文消息）"),
          404: OpenApiResponse(description="不存在或不可见")}


class SelectorScoped(ServiceErrorsMixin):
    """Scoped by the selector in get_queryset (guardian grants cross the region tree)."""

    filter_backends: list = []


# ---- Serializers ------------------------------------------------------------------------------


class InspChecklistItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    text = serializers.CharField()
    answer_type = serializers.CharField()
    choices = serializers.ListField(child=serializers.CharField())
    required = serializers.BooleanField()
    guidance = serializers.CharField()


class InspChecklistSectionSerializer(serializers.Serializer):
    number = serializers.CharField()
    title = serializers.CharField()
    items = InspChecklistItemSerializer(many=True)


class InspChecklistVersionSerializer(serializers.ModelSerializer):
    template = serializers.CharField(source="template.code", read_only=True)
    name = serializers.CharField(source="template.name", read_only=True)
    kind = serializers.CharField(source="template.kind", read_only=True)

    class Meta:
        model = ChecklistVersion
        fields = ["id", "template", "name", "kind", "number", "published", "created_at"]


class InspChecklistVersionDetailSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    template = serializers.CharField()
    name = serializers.CharField()
    number = serializers.IntegerField()
    sections = InspChecklistSectionSerializer(many=True)


class InspPlanSerializer(ValueRulesSerializerMixin, serializers.ModelSerializer):
    # The issuing office: plans are written by inspection admins for regions of their subtree.
    region = ScopedRegionCodeField(capability=C.INSPECTION_MANAGE)

    class Meta:
        model = InspectionPlan
        fields = ["id", "region", "name", "document_number", "window_start", "window_end", "report_deadline",
                  "status"]
        read_only_fields = ["status"]


class InspAssignmentSerializer(serializers.ModelSerializer):
    plan = serializers.IntegerField(source="plan_id", read_only=True)
    team = serializers.CharField(source="team.name", read_only=True)
    region = serializers.CharField(source="region.code", read_only=True)
    employer = serializers.IntegerField(source="employer_id", read_only=True, allow_null=True)
    target = serializers.CharField(source="target_name", read_only=True)
    inspection_status = serializers.SerializerMethodField()
    inspection_return_reason = serializers.SerializerMethodField()

    class Meta:
        model = Assignment
        fields = ["id", "plan", "team", "region", "employer", "target", "kind", "checklist_version", "status",
                  "inspection_status", "inspection_return_reason"]
        read_only_fields = fields  # the tablet writes answers through the actions, never the assignment

    def get_inspection_status(self, obj) -> str | None:
        return obj.inspection.status if selectors.has_inspection(obj) else None

    def get_inspection_return_reason(self, obj) -> str | None:
        """The leader's reason while the team corrects a returned checklist."""
        return selectors.return_reason(obj.inspection) if selectors.has_inspection(obj) else None


class InspAnswerChangeSerializer(serializers.Serializer):
    # The note and the value are checked per change by the service (a refused change does not
    # refuse the others of the batch): no value rules here.
    client_uuid = serializers.UUIDField()
    checklist_version = serializers.IntegerField()
    base_version = serializers.IntegerField(min_value=0)
    item = serializers.IntegerField()
    value = serializers.JSONField(allow_null=True, required=False)
    note = serializers.CharField(allow_blank=True, required=False, default="")


class InspAnswerSyncRequestSerializer(serializers.Serializer):
    answers = InspAnswerChangeSerializer(many=True, allow_empty=False, max_length=500)


class InspAnswerSerializer(serializers.Serializer):
    item = serializers.IntegerField()
    value = serializers.JSONField(allow_null=True)
    note = serializers.CharField()
    version = serializers.IntegerField()
    client_uuid = serializers.CharField()
    updated_at = serializers.CharField()


class InspSyncResultSerializer(serializers.Serializer):
    client_uuid = serializers.CharField()
    status = serializers.ChoiceField(choices=["applied", "duplicate", "conflict", "error"])
    detail = serializers.CharField()
    code = serializers.CharField()
    answer = InspAnswerSerializer(allow_null=True)


class InspSyncResponseSerializer(serializers.Serializer):
    results = InspSyncResultSerializer(many=True)


class InspPhotoUploadSerializer(serializers.Serializer):
    client_uuid = serializers.UUIDField()
    item = serializers.IntegerField()
    file = serializers.FileField()
    taken_at = serializers.DateTimeField(required=False, help_text="拍摄时间（平板时钟，ISO 8601）")
    latitude = serializers.DecimalField(max_digits=9, decimal_places=6, required=False, help_text="纬度（经检查员允许）")
    longitude = serializers.DecimalField(max_digits=9, decimal_places=6, required=False, help_text="经度")
    accuracy = serializers.IntegerField(required=False, help_text="定位精度（米）")


class InspPhotoSerializer(serializers.Serializer):
    client_uuid = serializers.CharField()
    item = serializers.IntegerField(source="item_id")
    url = serializers.SerializerMethodField(help_text="照片地址（按检查任务的访问范围校验后下载）")
    taken_at = serializers.DateTimeField(allow_null=True)
    latitude = serializers.DecimalField(max_digits=9, decimal_places=6, allow_null=True)
    longitude = serializers.DecimalField(max_digits=9, decimal_places=6, allow_null=True)
    accuracy_m = serializers.IntegerField(allow_null=True)

    def get_url(self, photo) -> str:
        return reverse("inspections:photo", args=[photo.client_uuid])


class InspSubmitSerializer(ValueRulesSerializerMixin, serializers.Serializer):
    highlights = serializers.CharField(allow_blank=True, required=False, default="", max_length=4000)
    problems = serializers.CharField(allow_blank=True, required=False, default="", max_length=4000)

    class Meta:
        multiline_fields = ["highlights", "problems"]


class InspInspectionStateSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()


class InspOfflinePayloadSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    target = serializers.CharField()
    plan = serializers.DictField()
    team = serializers.CharField()
    status = serializers.CharField()
    checklist_version = serializers.IntegerField()
    inspection = serializers.DictField(allow_null=True)
    answers = InspAnswerSerializer(many=True)
    employer = serializers.DictField(allow_null=True)


class InspFindingSerializer(serializers.ModelSerializer):
    item = serializers.CharField(source="item.number", read_only=True)
    region = serializers.CharField(source="region.code", read_only=True)
    employer = serializers.IntegerField(source="employer_id", read_only=True, allow_null=True)
    inspection = serializers.IntegerField(source="inspection_id", read_only=True)

    class Meta:
        model = Finding
        fields = ["id", "inspection", "item", "region", "employer", "description", "severity", "deadline", "status"]


class InspRectifySerializer(ValueRulesSerializerMixin, serializers.Serializer):
    note = serializers.CharField(max_length=4000)
    file = serializers.FileField(required=False)

    class Meta:
        multiline_fields = ["note"]


class InspReviewSerializer(ValueRulesSerializerMixin, serializers.Serializer):
    outcome = serializers.ChoiceField(choices=[FindingStatus.VERIFIED, FindingStatus.REOPENED])
    comment = serializers.CharField(allow_blank=True, required=False, default="", max_length=4000)

    class Meta:
        multiline_fields = ["comment"]


# ---- Viewsets ---------------------------------------------------------------------------------


@extend_schema_view(list=extend_schema(summary="检查表版本列表"),
                    retrieve=extend_schema(summary="检查表版本（含各部分和条目）",
                                           responses=InspChecklistVersionDetailSerializer))
class ChecklistVersionViewSet(SelectorScoped, viewsets.ReadOnlyModelViewSet):
    scope_access = Access(capability=C.INSPECTION_VIEW)
    serializer_class = InspChecklistVersionSerializer
    queryset = ChecklistVersion.objects.none()

    def get_queryset(self):
        return selectors.version_list(actor=self.request.user).order_by("template__code", "-number")

    def retrieve(self, request, *args, **kwargs):
        return Response(selectors.version_payload(self.get_object()))


@extend_schema_view(list=extend_schema(summary="检查计划列表"), retrieve=extend_schema(summary="检查计划"),
                    create=extend_schema(summary="新建检查计划（发文单位管理员）", responses={201: InspPlanSerializer, **ERRORS}))
class PlanViewSet(SelectorScoped, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    scope_access = Access(capability=C.INSPECTION_VIEW, write_capability=C.INSPECTION_MANAGE)
    serializer_class = InspPlanSerializer
    queryset = InspectionPlan.objects.none()

    def get_queryset(self):
        return selectors.plan_list(actor=self.request.user).order_by("-window_start", "-id")

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.plan_create(actor=self.request.user, **data)


@extend_schema_view(list=extend_schema(summary="检查任务列表（本组任务、本地区公开任务、发文单位全部任务）"),
                    retrieve=extend_schema(summary="检查任务"))
class AssignmentViewSet(SelectorScoped, viewsets.ReadOnlyModelViewSet):
    scope_access = Access(capability=C.INSPECTION_VIEW, write_capability=C.INSPECTION_FILL)
    serializer_class = InspAssignmentSerializer
    queryset = Assignment.objects.none()

    def get_queryset(self):
        return selectors.assignment_list(actor=self.request.user).order_by("id")

    def check_write(self, obj) -> None:
        # Every write (sync, photos, submit) is refused before its body is read.
        services.access_fill(self.request.user, obj)

    @extend_schema(summary="离线数据：检查表答案和被检查单位本期台帐", responses=InspOfflinePayloadSerializer)
    @action(detail=True, methods=["get"])
    def offline(self, request, pk=None):
        return Response(selectors.assignment_payload(self.get_object()))

    @extend_schema(summary="同步答案（幂等：同一 client_uuid 只生效一次）", request=InspAnswerSyncRequestSerializer,
                   responses={200: InspSyncResponseSerializer, 409: InspSyncResponseSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def sync(self, request, pk=None):
        assignment = self.get_object()
        body = InspAnswerSyncRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        changes = [{**c, "client_uuid": str(c["client_uuid"])} for c in body.validated_data["answers"]]
        outcome = services.answers_sync(actor=request.user, assignment=assignment, changes=changes)
        return Response({"results": [r.as_dict() for r in outcome.results]}, status=outcome.http_status)

    @extend_schema(summary="上传照片（幂等：同一 client_uuid 只保存一次）", request=InspPhotoUploadSerializer,
                   responses={201: InspPhotoSerializer, **ERRORS})
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def photos(self, request, pk=None):
        assignment = self.get_object()
        photo = services.photo_upload(actor=request.user, assignment=assignment, item_id=request.data.get("item"),
                                      client_uuid=request.data.get("client_uuid"), upload=request.FILES.get("file"),
                                      taken_at=request.data.get("taken_at"), latitude=request.data.get("latitude"),
                                      longitude=request.data.get("longitude"), accuracy=request.data.get("accuracy"))
        return Response(InspPhotoSerializer(photo).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="提交检查表（不得空项）", request=InspSubmitSerializer,
                   responses={200: InspInspectionStateSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        assignment = self.get_object()
        body = InspSubmitSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            inspection = services.assignment_submit(actor=request.user, assignment=assignment, **body.validated_data)
        except DjangoValidationError as exc:
            if exc.code != ErrorCode.BLANK_ITEMS:
                raise
            # The tablet marks each blank item in its card: the numbers come with the message.
            return Response({"detail": " ".join(exc.messages), "blank_items": exc.params["numbers"]},
                            status=status.HTTP_400_BAD_REQUEST)
        return Response({"id": inspection.pk, "status": inspection.status})


@extend_schema_view(list=extend_schema(summary="检查发现问题列表"), retrieve=extend_schema(summary="检查发现问题"))
class FindingViewSet(SelectorScoped, viewsets.ReadOnlyModelViewSet):
    scope_access = Access(capability=C.INSPECTION_VIEW)
    serializer_class = InspFindingSerializer
    queryset = Finding.objects.none()

    def get_queryset(self):
        open_only = self.request.query_params.get("open") == "1"
        return selectors.finding_list(actor=self.request.user, open_only=open_only).order_by("deadline", "id")

    @extend_schema(summary="提交整改情况（被检查地区）", request=InspRectifySerializer, responses={200: InspFindingSerializer, **ERRORS})
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def rectify(self, request, pk=None):
        finding = self.get_object()
        require_in_scope(request.user, C.INSPECTION_VIEW, finding.region)  # before the body is read
        body = InspRectifySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        finding = services.finding_rectify(actor=request.user, finding=finding, note=body.validated_data["note"],
                                           upload=body.validated_data.get("file"))
        return Response(InspFindingSerializer(finding).data)

    @extend_schema(summary="核实整改（检查组或发文单位）", request=InspReviewSerializer, responses={200: InspFindingSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        finding = self.get_object()
        services.access_review(request.user, finding)  # permission before the body is read
        body = InspReviewSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        finding = services.finding_review(actor=request.user, finding=finding, **body.validated_data)
        return Response(InspFindingSerializer(finding).data)


router.register("checklist-versions", ChecklistVersionViewSet, basename="inspection-checklist-version")
router.register("plans", PlanViewSet, basename="inspection-plan")
router.register("assignments", AssignmentViewSet, basename="inspection-assignment")
router.register("findings", FindingViewSet, basename="inspection-finding")

__all__ = ["router", "ChecklistKind"]
