"""URLs of campaigns, indicator targets, rollups and dashboards."""

urlpatterns: list = []
