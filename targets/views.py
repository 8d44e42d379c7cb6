"""HTML views and htmx partials for campaigns, indicator targets, rollups and dashboards; thin: parse, call a service or selector, render."""
