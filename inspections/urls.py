"""URLs of inspection plans, teams, checklists, findings and reports."""

urlpatterns: list = []
