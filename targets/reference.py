"""Loading the seed campaigns and their targets from fixtures/."""

import json
from pathlib import Path

from targets.services import campaigns_load_reference


def load_reference(fixtures: Path) -> str:
    campaigns = json.loads((fixtures / "campaigns.json").read_text(encoding="utf-8"))["campaigns"]
    return f"campaigns: {len(campaigns)}, targets: {campaigns_load_reference(campaigns)}"
