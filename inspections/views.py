"""HTML views and htmx partials for inspection plans, teams, checklists, findings and reports; thin: parse, call a service or selector, render."""
