"""No CDN: pages reference only vendored assets, and the vendored files match VERSIONS."""

import re
import subprocess
import sys
from pathlib import Path

from django.conf import settings


def test_vendored_assets_match_their_pins():
    result = subprocess.run([sys.executable, "scripts/vendor_assets.py", "--check"], cwd=settings.BASE_DIR,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_templates_link_no_external_host():
    external = re.compile(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", re.IGNORECASE)
    offenders = [
        str(path) for path in Path(settings.BASE_DIR, "templates").rglob("*.html") if external.search(path.read_text())
    ]
    assert offenders == []
