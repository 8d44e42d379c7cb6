"""HTML views and htmx partials for work-injury insurance coverage on the HRSS side; thin: parse, call a service or selector, render."""
