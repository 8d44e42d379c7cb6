"""The API's shared parts: regions, the signed-in user, the schema, and how a service's errors
reach a client (`ServiceErrorsMixin`, on every viewset that calls a service):

- `VersionConflict` (a stale `version`) → 409 `{"detail", "changes": [{"field", "label", "yours",
  "theirs"}], "current_version"}`; regions and industries in `changes` are codes, dust types names.
- Django `ValidationError` → 400: field errors as `{field: [messages]}`; a message about the whole
  request as `{"detail": message}`. Editing a record of a submitted (locked) period is such a
  message: **400** `{"detail": "…台帐已报送（已报送），数据已锁定；…"}`. 409 stays reserved for version
  conflicts, whose body always carries `changes`, so a client can treat every 409 as "reload and
  merge" and every 400 as "show the message".
- Django `PermissionDenied` → 403 with the service's Chinese message.
"""

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView, set_rollback

from portal.models import Membership, Region, User
from portal.scoping import LOGIN_ONLY, Access, Capability, user_capabilities
from portal.values import VersionConflict

# How a related row is named in a 409's `changes`: the same natural key the API takes.
NATURAL_KEYS = {"portal.Region": "code", "ledger.Industry": "code", "ledger.DustType": "name"}


def validation_detail(exc: DjangoValidationError) -> dict:
    if hasattr(exc, "error_dict"):
        return {(api_settings.NON_FIELD_ERRORS_KEY if field == NON_FIELD_ERRORS else field): messages
                for field, messages in exc.message_dict.items()}
    return {"detail": " ".join(exc.messages)}


class Refused(exceptions.APIException):
    """400 with a message about the whole request: `{"detail": "…"}`, a string as the schema says
    (DRF's ValidationError would turn it into a list)."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"


def api_error(exc: DjangoValidationError) -> exceptions.APIException:
    """A service's ValidationError as the API answers it: field → messages, or `detail`."""
    if hasattr(exc, "error_dict"):
        return exceptions.ValidationError(validation_detail(exc))
    return Refused(" ".join(exc.messages))


class ServiceErrorsMixin:
    """Turns the services' exceptions into HTTP answers (see the module docstring), and checks the
    right to change a row before its request body is read (`check_write`): a user who may not
    change it gets 403 (or the lock's 400) whatever the body holds."""

    def get_object(self):
        obj = super().get_object()
        if self.request.method not in ("GET", "HEAD", "OPTIONS"):
            self.check_write(obj)
        return obj

    def check_write(self, obj) -> None:
        """Raise PermissionDenied/ValidationError if the user may not change `obj`."""

    def handle_exception(self, exc):
        if isinstance(exc, VersionConflict):
            set_rollback()
            return Response(self.conflict_payload(exc), status=status.HTTP_409_CONFLICT)
        if isinstance(exc, DjangoValidationError):
            exc = api_error(exc)
        elif isinstance(exc, DjangoPermissionDenied) and str(exc):
            exc = exceptions.PermissionDenied(str(exc))
        return super().handle_exception(exc)

    def conflict_payload(self, exc: VersionConflict) -> dict:
        model = self.get_queryset().model if exc.changes else None
        return {
            "detail": str(exc),
            "changes": [
                {"field": change.field, "label": change.label,
                 "yours": self.conflict_value(model, change.field, change.yours),
                 "theirs": self.conflict_value(model, change.field, change.theirs)}
                for change in exc.changes
            ],
            "current_version": exc.current_version,
        }

    def conflict_value(self, model, name: str, value):
        field = model._meta.get_field(name)
        if field.is_relation and value is not None:
            key = NATURAL_KEYS.get(field.related_model._meta.label, "pk")
            return field.related_model.objects.filter(pk=value).values_list(key, flat=True).first()
        return value


class RegionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Region
        fields = ["id", "code", "name", "level", "parent", "path", "is_nonstandard"]
        read_only_fields = fields  # the tree is changed through the regions pages, not the API


class MembershipSerializer(serializers.ModelSerializer):
    region = RegionSerializer(read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "region", "department", "role"]


class MeSerializer(serializers.ModelSerializer):
    memberships = MembershipSerializer(many=True, read_only=True)
    capabilities = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "display_name", "memberships", "capabilities"]

    def get_capabilities(self, user) -> list[str]:
        return sorted(user_capabilities(user))


class RegionViewSet(viewsets.ReadOnlyModelViewSet):
    """Regions the user sees: the subtrees of their memberships."""

    scope_access = Access(capability=Capability.DASHBOARD_VIEW)
    queryset = Region.objects.order_by("path")
    serializer_class = RegionSerializer
    filterset_fields = ["level", "parent", "code"]
    search_fields = ["name", "code"]


class MeView(APIView):
    """The signed-in user, their memberships and what they may do."""

    scope_access = LOGIN_ONLY

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        user = User.objects.prefetch_related("memberships__region").get(pk=request.user.pk)
        return Response(MeSerializer(user).data)


# drf-spectacular's views set their own permission classes (SERVE_PERMISSIONS, AllowAny by
# default), which would override the declaration: both get the project's default ones back.
class SchemaView(SpectacularAPIView):
    scope_access = LOGIN_ONLY
    permission_classes = api_settings.DEFAULT_PERMISSION_CLASSES


class SchemaDocsView(SpectacularSwaggerSplitView):
    """Swagger UI with its initialiser served as a script file (`?script`), not inline: the CSP
    allows no inline script."""

    scope_access = LOGIN_ONLY
    permission_classes = api_settings.DEFAULT_PERMISSION_CLASSES
    template_name = "portal/swagger_ui.html"
