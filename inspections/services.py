"""Every write of inspection plans, teams, checklists, findings and reports: plain functions taking the acting user, one transaction each."""
