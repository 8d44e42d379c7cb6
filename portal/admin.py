"""Django admin for superusers. Region moves and renames go through portal.services (the
application pages), which keep paths and denormalized keys right; here they are read-only."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from portal.models import Membership, Region, User

admin.site.site_header = _("尘肺病防治攻坚行动信息平台 管理后台")
admin.site.site_title = _("管理后台")


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "level", "parent", "is_nonstandard"]
    list_filter = ["level", "is_nonstandard"]
    search_fields = ["code", "name"]
    readonly_fields = ["code", "level", "parent", "path"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class MembershipInline(admin.TabularInline):
    model = Membership
    fk_name = "user"
    extra = 0
    autocomplete_fields = ["region"]
    readonly_fields = ["created_at", "created_by"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "display_name", "is_active", "is_staff", "last_login"]
    search_fields = ["username", "display_name"]
    fieldsets = BaseUserAdmin.fieldsets + ((_("平台信息"), {"fields": ["display_name", "phone"]}),)
    add_fieldsets = BaseUserAdmin.add_fieldsets + ((None, {"fields": ["display_name"]}),)
    inlines = [MembershipInline]
