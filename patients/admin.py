from django.contrib import admin

from patients.models import PatientAccess

# Patient files are personal health data: read and written through the portal's scoped pages
# only. The access log is shown read-only to superusers.


@admin.register(PatientAccess)
class PatientAccessAdmin(admin.ModelAdmin):
    list_display = ["at", "user", "kind", "patient_id", "county"]
    list_select_related = ["user", "county"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
