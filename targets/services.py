"""Every write of campaigns, indicator targets, rollups and dashboards: plain functions taking the acting user, one transaction each."""
