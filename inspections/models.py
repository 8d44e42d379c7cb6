"""Models of inspection plans, teams, checklists, findings and reports."""
