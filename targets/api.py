"""DRF endpoints for rollups and targets, scoped through portal.scoping.ScopeFilterBackend."""

from django.core.exceptions import PermissionDenied, ValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import PermissionDenied as ApiPermissionDenied
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from portal.api_contract import ScopedPrimaryKeyField, ScopedRegionCodeField
from portal.scoping import Access, Capability
from targets import selectors, services
from targets.indicators import INDICATORS, rate
from targets.models import Campaign, RegionRollup, Target


class IndicatorFigureSerializer(serializers.Serializer):
    indicator = serializers.CharField()
    name = serializers.CharField()
    numerator = serializers.IntegerField()
    denominator = serializers.IntegerField()
    rate = serializers.FloatField(allow_null=True, help_text="百分比；分母为0时为 null（无数据）")
    unit = serializers.CharField(help_text="分子、分母的计数单位（家、人、个岗位…）")
    counted_by_employer = serializers.IntegerField(
        allow_null=True, help_text="仍按旧口径（按单位）计入的单位数：警示标识设置率按岗位计，"
                                   "台帐尚未登记岗位数的旧记录按单位是否设置计（1家计1个岗位）；其他指标为 null")


class RollupSerializer(serializers.ModelSerializer):
    region_code = serializers.CharField(source="region.code")
    region_name = serializers.CharField(source="region.name")
    period = serializers.CharField(source="period.code")
    indicators = serializers.SerializerMethodField()

    class Meta:
        model = RegionRollup
        fields = ["region_code", "region_name", "level", "period", "employers", "indicators", "computed_at"]

    @extend_schema_field(IndicatorFigureSerializer(many=True))
    def get_indicators(self, rollup):
        rows = []
        for indicator in INDICATORS:
            numerator, denominator = rollup.figures.get(indicator.code, [0, 0])
            old_way = rollup.figures.get(f"{indicator.code}_by_employer", [0, 0])[0] if indicator.old_way else None
            rows.append({"indicator": indicator.code, "name": str(indicator.name), "numerator": numerator,
                         "denominator": denominator, "rate": rate(numerator, denominator),
                         "unit": str(indicator.unit), "counted_by_employer": old_way})
        return rows


class RollupViewSet(viewsets.ReadOnlyModelViewSet):
    """Indicator rollups of the regions in the user's scope (filter by period, level, parent)."""

    scope_access = Access(capability=Capability.DASHBOARD_VIEW)
    queryset = RegionRollup.objects.select_related("region", "period").order_by("period__year", "period__half",
                                                                               "region__path")
    serializer_class = RollupSerializer
    filterset_fields = {"period__code": ["exact"], "level": ["exact"], "region__code": ["exact"],
                        "region__parent__code": ["exact"]}


class TargetSerializer(serializers.ModelSerializer):
    # A region admin sets targets for the regions of their subtree, in the plans that bind them
    # (targets.selectors.campaign_list, as the HTML form); anything else reads as nonexistent.
    region = ScopedRegionCodeField(capability=Capability.TARGETS_EDIT)
    campaign = ScopedPrimaryKeyField(capability=Capability.TARGETS_EDIT, queryset=Campaign.objects,
                                     within=selectors.campaign_list)

    class Meta:
        model = Target
        fields = ["id", "campaign", "region", "indicator", "due_on", "value", "wording"]


class TargetViewSet(mixins.CreateModelMixin, mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet):
    """Targets in the user's scope; writes go through targets.services (strictness checked)."""

    scope_access = Access(capability=Capability.DASHBOARD_VIEW, write_capability=Capability.TARGETS_EDIT)
    queryset = Target.objects.select_related("region", "campaign").order_by("region__path", "indicator", "due_on")
    serializer_class = TargetSerializer
    filterset_fields = {"indicator": ["exact"], "region__code": ["exact"], "campaign": ["exact"]}

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            target = services.target_set(actor=request.user, **serializer.validated_data)
        except ValidationError as exc:
            return Response(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages},
                            status=status.HTTP_400_BAD_REQUEST)
        except PermissionDenied as exc:
            raise ApiPermissionDenied(str(exc)) from exc
        return Response(self.get_serializer(target).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        try:
            services.target_delete(actor=self.request.user, target=instance)
        except PermissionDenied as exc:
            raise ApiPermissionDenied(str(exc)) from exc


router = DefaultRouter()
router.include_root_view = False
router.register("rollups", RollupViewSet, basename="rollup")
router.register("targets", TargetViewSet, basename="target")
