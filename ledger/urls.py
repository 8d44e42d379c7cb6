"""URLs of the employer dust-hazard ledger."""

urlpatterns: list = []
