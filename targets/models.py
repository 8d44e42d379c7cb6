"""Models of campaigns, indicator targets, rollups and dashboards."""
