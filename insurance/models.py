"""Models of work-injury insurance coverage on the HRSS side."""
