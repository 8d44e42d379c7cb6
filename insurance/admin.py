"""Django admin registrations for work-injury insurance coverage on the HRSS side (read-mostly:
writes belong to insurance.services)."""

from django.contrib import admin

from insurance.models import CoverageImport, ExpansionPlan, FollowUp, InsuranceCoverage, LedgerHandover, TrainingEvent

for model in (LedgerHandover, InsuranceCoverage, CoverageImport, FollowUp, ExpansionPlan, TrainingEvent):
    admin.site.register(model)
