"""Read the portal's Prometheus metrics as the monitoring host does: through /metrics."""

from prometheus_client.parser import text_string_to_metric_families


def import_outcomes(client) -> dict[tuple[str, str], float]:
    """pneumo_import_outcomes_total by (kind, outcome), as /metrics serves it now."""
    body = client.get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
    return {(s.labels["kind"], s.labels["outcome"]): s.value
            for family in text_string_to_metric_families(body) if family.name == "pneumo_import_outcomes"
            for s in family.samples if s.name == "pneumo_import_outcomes_total"}


def delta(before: dict, after: dict) -> dict[tuple[str, str], float]:
    return {key: after[key] - before.get(key, 0) for key in after if after[key] != before.get(key, 0)}
