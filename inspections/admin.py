"""Django admin registrations for inspection plans, teams, checklists, findings and reports."""
