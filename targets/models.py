"""Campaigns, targets and indicator rollups."""

from django.db import models


class DirtyCounty(models.Model):
    """A (county, period) whose rollup is stale: written by ledger writes in their own
    transaction, claimed by the rollup task with SELECT … FOR UPDATE SKIP LOCKED."""

    county = models.ForeignKey("portal.Region", on_delete=models.CASCADE, related_name="+")
    period = models.ForeignKey("ledger.ReportingPeriod", on_delete=models.CASCADE, related_name="+")
    marked_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["county", "period"], name="dirty_county_period_unique")]
