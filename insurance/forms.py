"""Forms for work-injury insurance coverage on the HRSS side."""
