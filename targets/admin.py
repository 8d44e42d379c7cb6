"""Django admin registrations for campaigns, indicator targets, rollups and dashboards."""
