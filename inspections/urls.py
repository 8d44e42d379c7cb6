"""URLs of supervision inspections."""

app_name = "inspections"

urlpatterns: list = []
