"""HTML views and htmx partials for the employer dust-hazard ledger; thin: parse, call a service or selector, render."""
