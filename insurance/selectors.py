"""Every read of work-injury insurance coverage on the HRSS side that a view or the API uses, always through portal.scoping."""
