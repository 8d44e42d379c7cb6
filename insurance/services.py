"""Every write of work-injury insurance coverage on the HRSS side: plain functions taking the acting user, one transaction each."""
