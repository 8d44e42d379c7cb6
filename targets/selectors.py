"""Every read of campaigns, indicator targets, rollups and dashboards that a view or the API uses, always through portal.scoping."""
