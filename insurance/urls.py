"""URLs of work-injury insurance coverage (HRSS side)."""

app_name = "insurance"

urlpatterns: list = []
