# The ledger's fixtures (users, periods, an open county ledger) serve the API tests too.
from tests.inspections.conftest import media_in_tmp  # noqa: F401
from tests.ledger.conftest import clerk, open_submission, period_2020h1  # noqa: F401
