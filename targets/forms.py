"""Forms for campaigns, indicator targets, rollups and dashboards."""
