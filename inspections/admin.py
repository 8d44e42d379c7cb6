"""Django admin registrations for inspection plans, teams, checklists, findings and reports.
Read-mostly: writes belong to the services (permissions, audit, guardian grants)."""

from django.contrib import admin

from inspections.models import (
    Assignment,
    ChecklistItem,
    ChecklistTemplate,
    ChecklistVersion,
    Finding,
    Inspection,
    InspectionPlan,
    Team,
)


@admin.register(ChecklistTemplate)
class ChecklistTemplateAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind"]


@admin.register(ChecklistVersion)
class ChecklistVersionAdmin(admin.ModelAdmin):
    list_display = ["template", "number", "published", "created_at"]
    list_filter = ["template", "published"]


@admin.register(ChecklistItem)
class ChecklistItemAdmin(admin.ModelAdmin):
    list_display = ["section", "number", "text", "answer_type", "required", "no_is_finding"]
    list_filter = ["section__version"]


@admin.register(InspectionPlan)
class InspectionPlanAdmin(admin.ModelAdmin):
    list_display = ["name", "document_number", "region", "window_start", "window_end", "status"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "plan", "leader", "liaison", "liaison_phone"]
    readonly_fields = ["plan", "leader", "members", "liaison"]


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["plan", "team", "kind", "region", "employer", "status"]
    readonly_fields = ["plan", "team", "region", "employer", "checklist_version", "kind", "status"]


@admin.register(Inspection)
class InspectionAdmin(admin.ModelAdmin):
    list_display = ["assignment", "status", "submitted_at", "signed_at"]
    readonly_fields = ["assignment", "version", "status", "signature", "signed_by", "submitted_by"]


@admin.register(Finding)
class FindingAdmin(admin.ModelAdmin):
    list_display = ["description", "region", "severity", "deadline", "status"]
    list_filter = ["status", "severity"]
