"""DRF serializers of the ledger API.

They only translate between JSON and Python: region and industry codes become rows, the dust
exposures list becomes `{DustType: count}`. Every rule of the ledger (identifier checksums,
consistency of the counts, the lock of a submitted period, optimistic versions) is checked by
`ledger.services`, so the API answers with the same Chinese messages as the forms and the import.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, extend_schema_serializer
from rest_framework import serializers

from ledger.industries import KeyIndustryGroup
from ledger.models import (
    RECORD_FIELDS,
    CountySubmission,
    DustType,
    Employer,
    EmployerRecord,
    ExamResult,
    Industry,
    RecordDustExposure,
    ReportingPeriod,
    Worker,
)
from ledger.services import RECORD_DATE_FIELDS
from ledger.validation import mask_id_number
from portal.api_contract import ScopedPrimaryKeyField, ScopedRegionCodeField, ValueRulesSerializerMixin
from portal.models import RegionLevel
from portal.scoping import Capability, Scope, scope_for

VERSION_HELP = _("读取时的版本号：修改时必须原样带回；若他人已先保存，返回 409 及双方的差异，本次修改不生效。")


def _version_required(serializer: serializers.Serializer, attrs: dict) -> None:
    if serializer.instance is not None and attrs.get("version") is None:
        raise serializers.ValidationError({"version": [_("请带上读取时的版本号 version，以免覆盖他人已保存的修改。")]})


def _industry_field(**kwargs) -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(
        slug_field="code", queryset=Industry.objects.all(),
        error_messages={"does_not_exist": _("行业代码“{value}”不存在（GB/T 4754-2017）。"),
                        "invalid": _("行业代码格式不正确。")},
        **kwargs,
    )


def _dust_type_field(**kwargs) -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(
        slug_field="name", queryset=DustType.objects.all(),
        error_messages={"does_not_exist": _("粉尘种类“{value}”不在《职业病危害因素分类目录》中。"),
                        "invalid": _("粉尘种类格式不正确。")},
        **kwargs,
    )


# ---- Employers ----------------------------------------------------------------------------------


@extend_schema_serializer(examples=[OpenApiExample(
    "登记一家水泥厂", request_only=True, value={
        "uscc": "91371502004242429P", "name": "聊城市东昌府区鑫达水泥有限公司", "county": "371502",
        "workplace_address": "东昌府区工业园区8号", "industry": "3011", "size": "small", "ownership": "private",
        "legal_representative": "张三", "legal_representative_phone": "0635-8888888", "in_governance_scope": True})])
class EmployerSerializer(ValueRulesSerializerMixin, serializers.ModelSerializer):
    """An employer. Regions and industry are codes; province, city and the key-industry group
    are derived by the service from the county and the industry."""

    uscc = serializers.CharField(label=_("统一社会信用代码"), required=False, allow_blank=True, allow_null=True,
                                 help_text=_("18位统一社会信用代码；尚未换领的单位留空并填写旧工商注册号"))
    registration_number = serializers.CharField(label=_("工商注册号（旧）"), required=False, allow_blank=True,
                                                allow_null=True)
    province = serializers.SlugRelatedField(slug_field="code", read_only=True)
    city = serializers.SlugRelatedField(slug_field="code", read_only=True)
    county = ScopedRegionCodeField(capability=Capability.LEDGER_EDIT, level=RegionLevel.COUNTY, label=_("县（市、区）"),
                                   help_text=_("县级区划代码，如 371502"))
    township = ScopedRegionCodeField(capability=Capability.LEDGER_EDIT, level=RegionLevel.TOWNSHIP,
                                     label=_("乡镇（街道）"), required=False, allow_null=True,
                               help_text=_("乡镇级区划代码，如 371502001"))
    province_name = serializers.CharField(source="province.name", read_only=True)
    city_name = serializers.CharField(source="city.name", read_only=True)
    county_name = serializers.CharField(source="county.name", read_only=True)
    township_name = serializers.CharField(source="township.name", read_only=True, allow_null=True)
    industry = _industry_field(label=_("行业"), help_text=_("GB/T 4754-2017 行业代码（大类、中类或小类），如 3011"))
    industry_name = serializers.CharField(source="industry.name", read_only=True)
    key_group = serializers.ChoiceField(choices=KeyIndustryGroup.choices, read_only=True, allow_blank=True,
                                        label=_("重点行业类别"), help_text=_("按行业代码判定；空字符串表示非重点行业"))
    version = serializers.IntegerField(required=False, min_value=1, help_text=VERSION_HELP)

    class Meta:
        model = Employer
        fields = [
            "id", "uscc", "registration_number", "has_legacy_identifier_only", "name",
            "province", "province_name", "city", "city_name", "county", "county_name", "township", "township_name",
            "registered_address", "workplace_address", "industry", "industry_name", "key_group", "size",
            "ownership", "business_scope", "legal_representative", "legal_representative_phone", "health_manager",
            "health_manager_phone", "status", "in_governance_scope", "version", "created_at", "updated_at",
        ]
        read_only_fields = ["key_group", "created_at", "updated_at"]
        extra_kwargs = {"name": {"allow_blank": True}, "workplace_address": {"allow_blank": True},
                        "legal_representative": {"allow_blank": True}}
        # Uniqueness is the service's to check (its message names the county holding the code).
        validators: list = []

    def validate(self, attrs):
        _version_required(self, attrs)
        return attrs


# ---- Periods ----------------------------------------------------------------------------------------


class PeriodSerializer(ValueRulesSerializerMixin, serializers.ModelSerializer):
    """A half-year reporting period; created from year, half and the default deadline."""

    class Meta:
        model = ReportingPeriod
        fields = ["id", "code", "year", "half", "starts_on", "ends_on", "deadline", "created_at"]
        read_only_fields = ["code", "starts_on", "ends_on", "created_at"]
        validators: list = []  # the service checks (year, half) and answers in Chinese


# ---- Records ------------------------------------------------------------------------------------------


class ExposureSerializer(ValueRulesSerializerMixin, serializers.ModelSerializer):
    dust_type = _dust_type_field(label=_("粉尘种类"), help_text=_("粉尘名称，如 矽尘"))
    exposed_workers = serializers.IntegerField(label=_("接尘人数"), min_value=0)

    class Meta:
        model = RecordDustExposure
        fields = ["dust_type", "exposed_workers"]

    def validate(self, attrs):
        # A partial update makes nested fields optional; an exposure still needs both.
        missing = {name: [_("该字段是必填项。")] for name in ("dust_type", "exposed_workers") if name not in attrs}
        if missing:
            raise serializers.ValidationError(missing)
        return attrs


@extend_schema_serializer(examples=[OpenApiExample(
    "填报本期情况", request_only=True, value={
        "version": 2, "total_workers": 50, "exposed_workers": 20, "hazard_declared": True,
        "declared_on": "2020-03-15", "exam_due": 20, "exam_done": 18, "insured_workers": 45,
        "exposures": [{"dust_type": "矽尘", "exposed_workers": 12}, {"dust_type": "水泥粉尘", "exposed_workers": 8}]})])
class RecordSerializer(ValueRulesSerializerMixin, serializers.ModelSerializer):
    """An employer's facts for one period (the row of the official ledger template)."""

    employer_name = serializers.CharField(source="employer.name", read_only=True)
    employer_uscc = serializers.CharField(source="employer.uscc", read_only=True, allow_null=True)
    period = serializers.SlugRelatedField(slug_field="code", read_only=True)
    county = serializers.SlugRelatedField(slug_field="code", read_only=True)
    county_name = serializers.CharField(source="county.name", read_only=True)
    exposures = ExposureSerializer(many=True, required=False,
                                   help_text=_("按粉尘种类的接尘人数；提交时整体替换原有列表"))
    updated_by = serializers.StringRelatedField(read_only=True, allow_null=True)
    version = serializers.IntegerField(required=False, min_value=1, help_text=VERSION_HELP)

    class Meta:
        model = EmployerRecord
        fields = ["id", "employer", "employer_name", "employer_uscc", "period", "county", "county_name",
                  *RECORD_FIELDS, "exposures", "version", "updated_at", "updated_by"]
        read_only_fields = ["employer", "updated_at"]
        # The consistency rules (check constraints) are the service's, with their Chinese messages.
        validators: list = []
        past_date_fields = RECORD_DATE_FIELDS

    def validate_exposures(self, value: list[dict]) -> list[dict]:
        names = [item["dust_type"].name for item in value]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise serializers.ValidationError(_("粉尘种类重复：%(names)s") % {"names": "、".join(repeated)})
        return value

    def validate(self, attrs):
        _version_required(self, attrs)
        return attrs


# ---- Workers --------------------------------------------------------------------------------------------


@extend_schema_serializer(examples=[OpenApiExample(
    "登记接尘劳动者", request_only=True, value={
        "employer": 1, "name": "李强", "id_number": "110101198506064516", "post": "破碎工", "dust_type": "矽尘",
        "exposure_start": "2015-03-01", "insured": True})])
class WorkerSerializer(ValueRulesSerializerMixin, serializers.ModelSerializer):
    """A worker of an employer's roster. `id_number` is masked (370102********123X) unless the
    user may see identities (Capability.WORKER_IDENTITY) in the employer's county."""

    # The employers the user sees: one they see but may not edit gets the service's 403.
    employer = ScopedPrimaryKeyField(capability=Capability.LEDGER_VIEW, queryset=Employer.objects.select_related("county"),
                                     label=_("用人单位"))
    employer_name = serializers.CharField(source="employer.name", read_only=True)
    id_number = serializers.CharField(label=_("居民身份证号"),
                                      help_text=_("无权查看身份信息的用户读到的是脱敏号码（出生日期被隐去）"))
    id_number_masked = serializers.SerializerMethodField()
    dust_type = _dust_type_field(label=_("粉尘种类"), help_text=_("粉尘名称，如 矽尘"))
    last_exam_result = serializers.ChoiceField(choices=ExamResult.choices, required=False, allow_blank=True,
                                               label=_("体检结论"))
    version = serializers.IntegerField(required=False, min_value=1, help_text=VERSION_HELP)

    class Meta:
        model = Worker
        fields = ["id", "employer", "employer_name", "name", "id_number", "id_number_masked", "post", "dust_type",
                  "exposure_start", "insured", "last_exam_date", "last_exam_result", "version", "updated_at"]
        read_only_fields = ["updated_at"]
        extra_kwargs = {"name": {"allow_blank": True}, "post": {"allow_blank": True}}
        validators: list = []  # the service refuses a duplicate ID number in the roster, in Chinese
        past_date_fields = ["exposure_start", "last_exam_date"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if isinstance(self.instance, Worker):
            self.fields["employer"].read_only = True  # a worker does not move between employers

    @property
    def identity_scope(self) -> Scope:
        scope = self.context.get("identity_scope")
        if scope is None:
            request = self.context.get("request")
            scope = scope_for(request.user, Capability.WORKER_IDENTITY) if request is not None else Scope()
            self.context["identity_scope"] = scope
        return scope

    def shows_identity(self, worker: Worker) -> bool:
        return self.identity_scope.contains(worker.employer.county)

    def get_id_number_masked(self, worker: Worker) -> bool:
        return not self.shows_identity(worker)

    def to_representation(self, worker: Worker) -> dict:
        data = super().to_representation(worker)
        if not self.shows_identity(worker):
            data["id_number"] = mask_id_number(worker.id_number)
        return data

    def validate(self, attrs):
        _version_required(self, attrs)
        return attrs


# ---- Submissions --------------------------------------------------------------------------------------------


class SubmissionSerializer(serializers.ModelSerializer):
    """A county's ledger for one period: draft → submitted → (returned →) approved → accepted."""

    period = serializers.SlugRelatedField(slug_field="code", read_only=True)
    province = serializers.SlugRelatedField(slug_field="code", read_only=True)
    city = serializers.SlugRelatedField(slug_field="code", read_only=True)
    county = serializers.SlugRelatedField(slug_field="code", read_only=True)
    city_name = serializers.CharField(source="city.name", read_only=True)
    county_name = serializers.CharField(source="county.name", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    is_locked = serializers.BooleanField(read_only=True)
    submitted_by = serializers.StringRelatedField(read_only=True, allow_null=True)
    reviewed_by = serializers.StringRelatedField(read_only=True, allow_null=True)
    accepted_by = serializers.StringRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = CountySubmission
        fields = ["id", "period", "province", "city", "city_name", "county", "county_name", "status",
                  "status_display", "is_locked", "opened_at", "submitted_at", "submitted_by", "reviewed_at",
                  "reviewed_by", "accepted_at", "accepted_by", "return_reason"]
        read_only_fields = fields


class SubmissionOpenSerializer(ValueRulesSerializerMixin, serializers.Serializer):
    period = serializers.SlugRelatedField(
        slug_field="code", queryset=ReportingPeriod.objects.all(), label=_("填报期"),
        help_text=_("填报期代码，如 2020H1"),
        error_messages={"does_not_exist": _("填报期“{value}”不存在。")},
    )
    county = ScopedRegionCodeField(capability=Capability.LEDGER_EDIT, level=RegionLevel.COUNTY, label=_("县（市、区）"),
                                   help_text=_("县级区划代码，如 371502"))


class SubmissionReturnSerializer(ValueRulesSerializerMixin, serializers.Serializer):
    reason = serializers.CharField(label=_("退回原因"), required=False, allow_blank=True, default="",
                                   help_text=_("必填：退回给县级的原因"))

    class Meta:
        multiline_fields = ["reason"]


class ConflictChangeSerializer(serializers.Serializer):
    field = serializers.CharField()
    label = serializers.CharField()
    yours = serializers.JSONField(allow_null=True)
    theirs = serializers.JSONField(allow_null=True)


class ConflictSerializer(serializers.Serializer):
    """HTTP 409: someone saved the row since it was read; nothing was written."""

    detail = serializers.CharField()
    changes = ConflictChangeSerializer(many=True)
    current_version = serializers.IntegerField()


class ErrorSerializer(serializers.Serializer):
    """HTTP 400/403/404: `detail` for a message about the whole request, otherwise field → messages."""

    detail = serializers.CharField(required=False)
