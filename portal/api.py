from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import serializers, viewsets
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from portal.models import Membership, Region, User
from portal.scoping import LOGIN_ONLY, Access, Capability, user_capabilities


class RegionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Region
        fields = ["id", "code", "name", "level", "parent", "path", "is_nonstandard"]


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
