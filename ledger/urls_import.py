"""URLs of the Excel template, import and export."""

urlpatterns: list = []
