"""Forms for inspection plans, teams, checklists, findings and reports."""
