"""The API as a contract: one way for every endpoint to refuse, answer errors and describe itself.

- `ValueRulesSerializerMixin`: a serializer's text, count and past-date fields refuse with the
  messages of `portal.values` (the same as the forms and the imports), and their bounds stay in
  the schema (`maxLength`, `minimum`, `maximum`).
- `SessionAuthentication`: an anonymous request answers **401** (with `WWW-Authenticate: Session`),
  so a client can tell "log in again" (401) from "your role may not do this" (403).
- `ERROR_SCHEMA` and the post-processing hook `document_errors`: every operation documents the
  answers the API really gives, with the body it really sends:
  - 400 `{"detail": "…"}` or `{field: ["…"]}` (nested lists/objects for list fields);
  - 401 not signed in or session expired; 403 signed in but the role may not act on something
    it sees (CSRF failures are 403 too); 404 outside what the user may see, or absent;
  - 409 where the operation documents it (a stale `version`; a stale answer in the tablet sync).
- `PortalSearchFilter`: `search` is documented only on views that declare `search_fields`.
"""

from __future__ import annotations

import copy

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import (
    MaxLengthValidator,
    MaxValueValidator,
    MinValueValidator,
    ProhibitNullCharactersValidator,
)
from django.db import models
from django.http import HttpResponseBadRequest, JsonResponse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, filters, serializers

from portal.values import COUNT_MAX, EARLIEST_DATE, check_past_date, check_text, control_character

# ---- Value rules on serializer fields -----------------------------------------------------------


class TextRule:
    """Validator: portal.values.check_text (control characters, the limit named when over it)."""

    def __init__(self, max_length: int | None, multiline: bool):
        self.max_length, self.multiline = max_length, multiline

    def __call__(self, value):
        check_text(value, max_length=self.max_length, multiline=self.multiline)


class BoundedTextRule(TextRule, MaxLengthValidator):
    """TextRule with a limit; a MaxLengthValidator so that the schema shows `maxLength`."""

    def __init__(self, max_length: int, multiline: bool):
        TextRule.__init__(self, max_length, multiline)
        MaxLengthValidator.__init__(self, max_length)

    __call__ = TextRule.__call__


def text_rule(max_length: int | None, multiline: bool) -> TextRule:
    return BoundedTextRule(max_length, multiline) if max_length else TextRule(max_length, multiline)


def past_date_rule(value):
    check_past_date(value)


COUNT_MESSAGES = {"min_value": _("不能为负数"), "max_value": _("数值过大（最大%(max)s）") % {"max": COUNT_MAX}}


def _refusing_control_characters(field):
    """Wrap a related field's lookup: a code with a control character (NUL above all, which
    PostgreSQL cannot even compare) is refused as invalid before any query."""
    lookup = field.to_internal_value

    def to_internal_value(data):
        if isinstance(data, str) and control_character(data) is not None:
            field.fail("invalid")
        return lookup(data)

    return to_internal_value


class ScopedRelatedField:
    """A writable related field cut to the user's scope (mixin for DRF's related fields).

    Its rows are those `portal.scoping.scope_for(user, capability)` covers, or, where the rule is
    not a subtree, those a selector gives (`within(actor=, capability=)`: a campaign binds the
    regions above and below the one that issued it). Another region's row reads as nonexistent,
    with the same 400 and message as a missing one, never as forbidden with its region named.
    Every writable related field of the API on a model holding a county's data is one of these
    (tests/security/test_api_related_fields.py)."""

    def __init__(self, *, capability, within=None, **kwargs):
        self.capability, self.within = capability, within
        super().__init__(**kwargs)

    def get_queryset(self):
        from django.contrib.auth.models import AnonymousUser

        from portal.scoping import scope_for

        request = self.context.get("request")  # none: nothing is in scope
        queryset, user = super().get_queryset(), getattr(request, "user", None) or AnonymousUser()
        if self.within is not None:
            return queryset & self.within(actor=user, capability=self.capability)
        return scope_for(user, self.capability).filter(queryset)


class ScopedPrimaryKeyField(ScopedRelatedField, serializers.PrimaryKeyRelatedField):
    """A related row by its id, among those the user may see for `capability`."""

    default_error_messages = {**serializers.PrimaryKeyRelatedField.default_error_messages,
                              "does_not_exist": _("编号 {pk_value} 不存在或不在您的管辖范围内。")}


class ScopedSlugRelatedField(ScopedRelatedField, serializers.SlugRelatedField):
    """A related row by a code (`slug_field`), among those the user may see for `capability`."""

    default_error_messages = {**serializers.SlugRelatedField.default_error_messages,
                              "does_not_exist": _("“{value}”不存在或不在您的管辖范围内。")}


class ScopedRegionCodeField(ScopedSlugRelatedField):
    """A region given and returned as its code ("371502"), in the user's scope for `capability`,
    optionally of one level only."""

    def __init__(self, *, capability, level: int | None = None, within=None, **kwargs):
        from portal.models import Region, RegionLevel

        kwargs.setdefault("queryset", Region.objects.filter(level=level) if level is not None else Region.objects)
        kwargs.setdefault("slug_field", "code")
        missing = (_("区划代码“{value}”不存在、不是%(level)s级区划，或不在您的管辖范围内。")
                   % {"level": RegionLevel(level).label} if level is not None
                   else _("区划代码“{value}”不存在或不在您的管辖范围内。"))
        kwargs["error_messages"] = {"does_not_exist": missing, "invalid": _("区划代码格式不正确。"),
                                    **kwargs.get("error_messages", {})}
        super().__init__(capability=capability, within=within, **kwargs)


class ValueRulesSerializerMixin:
    """Put the shared value rules on the writable fields.

    - every CharField: `check_text` instead of DRF's length and NUL validators (multi-line when the
      model field is a TextField or the name is in `Meta.multiline_fields`);
    - IntegerFields bounded at 0: the count messages, and at most COUNT_MAX;
    - the dates named in `Meta.past_date_fields`: 1950-01-01 … today.
    """

    def get_fields(self):
        fields = super().get_fields()
        meta = getattr(self, "Meta", None)
        model = getattr(meta, "model", None)
        multiline = set(getattr(meta, "multiline_fields", ()))
        past_dates = set(getattr(meta, "past_date_fields", ()))
        for name, field in fields.items():
            if field.read_only:
                continue
            if isinstance(field, serializers.RelatedField):
                field.to_internal_value = _refusing_control_characters(field)
            elif isinstance(field, serializers.CharField):
                if model is not None and field.source and "." not in field.source:
                    try:
                        if isinstance(model._meta.get_field(field.source), models.TextField):
                            multiline.add(name)
                    except Exception:  # noqa: BLE001 - a serializer-only field
                        pass
                field.validators = [v for v in field.validators
                                    if not isinstance(v, MaxLengthValidator | ProhibitNullCharactersValidator)]
                field.validators.append(text_rule(field.max_length, name in multiline))
            elif isinstance(field, serializers.IntegerField) and field.min_value == 0:
                if field.max_value is None or field.max_value > COUNT_MAX:
                    field.max_value = COUNT_MAX
                field.validators = [v for v in field.validators
                                    if not isinstance(v, MinValueValidator | MaxValueValidator)]
                field.error_messages.update(COUNT_MESSAGES)
                field.validators += [MinValueValidator(0, message=COUNT_MESSAGES["min_value"]),
                                     MaxValueValidator(COUNT_MAX, message=COUNT_MESSAGES["max_value"])]
            elif isinstance(field, serializers.DateField) and name in past_dates:
                field.validators.append(past_date_rule)
                window = _("%(earliest)s 至今天") % {"earliest": EARLIEST_DATE.isoformat()}
                field.help_text = f"{field.help_text}（{window}）" if field.help_text else window
        return fields


def run_rule(rule, value):
    """Call a portal.values rule from a serializer's validate_<field>, translated to DRF's error."""
    try:
        return rule(value)
    except DjangoValidationError as exc:
        raise serializers.ValidationError(exc.messages) from None


SECURITY_DESCRIPTION = (
    "会话认证：先在 /accounts/login/ 登录，之后每个请求带上 sessionid Cookie。"
    "POST、PUT、PATCH、DELETE 还须带 X-CSRFToken 请求头，其值取自 csrftoken Cookie（每次发送时重新读取）。"
)


class RefuseNulMiddleware:
    """A NUL character in a query parameter is refused with 400 before any view runs: PostgreSQL
    cannot compare text with NUL, so a filter or search would otherwise end in a server error."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if any("\x00" in key or "\x00" in value for key, values in request.GET.lists() for value in values):
            message = str(_("请求参数中含有不允许的空字符（NUL）。"))
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": message}, status=400, json_dumps_params={"ensure_ascii": False})
            return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


# ---- Authentication --------------------------------------------------------------------------------


class SessionAuthentication(authentication.SessionAuthentication):
    """DRF's session authentication (with its CSRF check), answering 401 to an anonymous request."""

    def authenticate_header(self, request) -> str:
        return 'Session realm="api"'


class SessionAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = SessionAuthentication
    name = "cookieAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid", "description": SECURITY_DESCRIPTION}


# ---- Search parameter documented only where it works ---------------------------------------------


class PortalSearchFilter(filters.SearchFilter):
    def get_schema_operation_parameters(self, view):
        if not getattr(view, "search_fields", None):
            return []
        return super().get_schema_operation_parameters(view)


# ---- Error answers in the schema ------------------------------------------------------------------

ERROR_COMPONENT = "Error"
ERROR_SCHEMA = {
    "type": "object",
    "description": (
        "错误答复。`detail`：针对整个请求的中文说明；否则为 字段 → 中文消息列表"
        "（列表字段按序号给出每一项的错误对象）。"),
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": {
        "oneOf": [
            {"type": "array", "items": {}},
            {"type": "object"},
            {"type": "string"},
        ]
    },
}
ERROR_DESCRIPTIONS = {
    "400": "请求内容或参数未通过校验（中文消息）",
    "401": "未登录或会话已过期：请重新登录（响应头 WWW-Authenticate: Session）",
    "403": "已登录，但无权执行此操作；或缺少/错误的 CSRF 令牌（X-CSRFToken 请求头）",
    "404": "不存在，或不在当前用户可查看的范围内",
    "429": "请求过于频繁，请稍后再试（响应头 Retry-After 给出秒数）",
}


def _ref() -> dict:
    return {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}


def _error_response(code: str) -> dict:
    return {"description": ERROR_DESCRIPTIONS[code], "content": {"application/json": {"schema": _ref()}}}


UNSAFE = {"post", "put", "patch", "delete"}


def _throttled() -> bool:
    from rest_framework.settings import api_settings

    return bool(api_settings.DEFAULT_THROTTLE_CLASSES)


def document_errors(result, generator, request, public):
    """drf-spectacular post-processing hook (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"])."""
    components = result.setdefault("components", {})
    components.setdefault("schemas", {})[ERROR_COMPONENT] = copy.deepcopy(ERROR_SCHEMA)
    schemes = components.setdefault("securitySchemes", {})
    schemes["cookieAuth"] = {"type": "apiKey", "in": "cookie", "name": "sessionid",
                             "description": SECURITY_DESCRIPTION}
    schemes["csrfToken"] = {"type": "apiKey", "in": "header", "name": "X-CSRFToken",
                            "description": "CSRF 令牌：取自 csrftoken Cookie；POST、PUT、PATCH、DELETE 必须携带。"}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in UNSAFE | {"get", "head", "options"}:
                continue
            responses = operation.setdefault("responses", {})
            parameters = operation.get("parameters", [])
            has_query = any(p.get("in") == "query" for p in parameters)
            has_path = "{" in path
            paginated = any(p.get("name") == "page" and p.get("in") == "query" for p in parameters)
            if method in UNSAFE or has_query or "requestBody" in operation:
                responses.setdefault("400", _error_response("400"))
            responses.setdefault("401", _error_response("401"))
            responses.setdefault("403", _error_response("403"))
            if has_path or paginated:
                responses.setdefault("404", _error_response("404"))
            if _throttled():
                responses.setdefault("429", _error_response("429"))
            for code in ("400", "401", "403", "404"):
                answer = responses.get(code)
                if answer is not None and not answer.get("content"):
                    answer["content"] = {"application/json": {"schema": _ref()}}
            if method in UNSAFE:
                operation["security"] = [{"cookieAuth": [], "csrfToken": []}]
            else:
                operation["security"] = [{"cookieAuth": []}]
    return result
