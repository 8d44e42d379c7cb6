"""Every read of inspection plans, teams, checklists, findings and reports that a view or the API uses, always through portal.scoping."""
